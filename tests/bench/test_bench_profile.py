"""``bench.profile --statements``: the cold answer split into its statements alone, the same
statements prepared, and the rest (on the small cube-test release, whose years end in 2023:
the mix's queries of the years before answer on it)."""

from __future__ import annotations

import duckdb
import pytest

from bench import profile
from bench.queries import MIX
from cube import execute
from cube.backend import executed_text
from cube.engine import Engine

BY_NAME = {bq.name: bq for bq in MIX}


@pytest.fixture(scope="module")
def opened(tmp_path_factory):
    from tests.cube.cube_fixtures import build_release

    release = build_release(tmp_path_factory.mktemp("profile"))
    engine = Engine.open(release)
    con = duckdb.connect(str(release.db_path), read_only=True)
    yield engine, con
    con.close()
    engine.close()


def _statements_run(engine: Engine, query) -> list[str]:
    """The texts the engine runs for ``query`` asked cold (its shape compiled)."""
    texts: list[str] = []
    fetch = execute.fetch_columns

    def recording(backend, sql):
        out = fetch(backend, sql)
        texts.append(executed_text(sql))
        return out

    engine.answer(query)
    engine.answer_cache.clear()
    engine.sql_cache.clear()
    execute.fetch_columns = recording
    try:
        engine.answer(query)
    finally:
        execute.fetch_columns = fetch
    return texts


@pytest.mark.parametrize("name", ["readme_rate", "transactions_quarterly"])
def test_the_split_times_the_statements_the_answer_runs(opened, name):
    engine, con = opened
    bq = BY_NAME[name]
    m = profile.split(engine, con, bq, rounds=3)
    assert m["statements"] == len(_statements_run(engine, bq.query)) >= 1
    assert all(m[k] > 0 for k in ("floor", "answer", "alone", "prepared"))
    line = profile.split_line(name, m)
    assert line.startswith(name) and f"[{m['statements']} statement(s)]" in line


def test_the_prepared_statements_are_gone_afterwards(opened):
    engine, con = opened
    profile.split(engine, con, BY_NAME["monthly_national"], rounds=1)
    with pytest.raises(duckdb.Error):
        con.execute("EXECUTE zicht_profile_0")


def test_a_statement_runs_with_its_list_columns_split_once_known(opened):
    """The text run is the one DuckDB's backend runs: after the first run, the two largest
    contributions come as two plain columns, not a list."""
    engine, con = opened
    texts = _statements_run(engine, BY_NAME["monthly_national"].query)
    assert any('"top1"[1]' in t for t in texts)
    names = [d[0] for d in con.execute(texts[0]).description]
    assert "top1[1]" in names and "top1" not in names
