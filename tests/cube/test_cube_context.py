"""The answer's stages need a release context, not an engine: built here from an in-memory copy
of a release's tables, they answer as the engine does."""

from __future__ import annotations

import duckdb
import pytest

from cube.answer import answer
from cube.backend import DuckDbBackend
from cube.context import SqlCaches, build_context
from cube.errors import InvalidQuery
from cube.model import load_catalog
from cube.query import Cut, Query

QUERIES = [
    Query("population", ("inhabitants", "share_low_income"), ("region@gemeente", "period@year")),
    Query(
        "drug_suspects",
        ("suspects", "registrations"),
        ("residence@gemeente",),
        (Cut("period", "year", ("2023",)),),
        totals="margins",
    ),
]


@pytest.fixture(scope="module")
def memory(release):
    con = duckdb.connect()  # in memory
    con.execute(f"ATTACH '{release.db_path}' AS src (READ_ONLY)")
    con.execute("COPY FROM DATABASE src TO memory")
    con.execute("DETACH src")
    yield con
    con.close()


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: q.cube)
def test_stages_answer_from_an_in_memory_release_as_the_engine_does(
    memory, release, facts_engine, query
):
    ctx = build_context(memory, release.id, release.manifest, load_catalog(), max_cells=100_000)
    got = answer(ctx, SqlCaches(), DuckDbBackend(memory.cursor()), 10.0, query)
    want = facts_engine.answer(query)
    assert got.rows == want.rows and got.summary.public() == want.summary.public()


def test_a_context_without_a_fact_table_serves_the_other_cubes(memory, release):
    memory.execute("CREATE TEMP TABLE keep AS SELECT * FROM fact_companies")
    memory.execute("DROP TABLE fact_companies")
    try:
        ctx = build_context(memory, release.id, release.manifest, load_catalog(), max_cells=10**5)
    finally:
        memory.execute("CREATE TABLE fact_companies AS SELECT * FROM keep")
    assert "companies" in ctx.catalog.absent and "companies" not in ctx.catalog.cubes
    with pytest.raises(InvalidQuery):
        query = Query(
            "population", ("inhabitants", "companies.companies"), ("region@gemeente", "period@year")
        )
        answer(ctx, SqlCaches(), DuckDbBackend(memory.cursor()), 10.0, query)
