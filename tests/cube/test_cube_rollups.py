"""Rollups (pre-aggregated facts): used where they cover a query, never changing an answer."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from cube import rollups
from cube import sql as cube_sql
from cube.engine import Engine
from cube.model import MODEL_DIR, ModelError, load_catalog
from cube.plan import make_plan
from cube.query import Cut, Order, Query
from cube.run import compiled
from measures.model import FILTER_OPS, Filter

YEAR = Cut("period", "year", ("2023",))

# Each covered by a rollup (cells within one year, every column in the rollup) ...
COVERED = [
    Query("population", ("inhabitants",), ("region@gemeente",), (YEAR,)),
    Query(
        "population",
        ("inhabitants", "inhabitants_low_income", "inhabitants_social_rent"),
        ("region@provincie", "sex"),
        (YEAR,),
        totals="margins",
    ),
    Query("population", ("inhabitants",), ("region@buurt", "age@band5", "period@year")),
    Query(
        "dwellings",
        ("doorsluis_per_1000_dwellings", "doorsluis_dwellings", "dwellings", "owners"),
        ("region@wijk",),
        (Cut("region", "gemeente", ("GM0363",)), YEAR),
        order=(Order("doorsluis_per_1000_dwellings", desc=True),),
    ),
    Query("dwellings", ("woz_total", "woz_mean"), ("owner_type", "region@gemeente"), (YEAR,)),
    Query(  # by tenure and buurt (``region_tenure_flags``), a filtered measure beside
        "population",
        ("inhabitants", "inhabitants_young_men"),
        ("region@buurt", "tenure"),
        (YEAR,),
        totals="margins",
    ),
    Query(
        "companies",
        ("employees", "establishments", "companies"),
        ("sector@section", "region@provincie"),
        (YEAR,),
        totals="margins",
    ),
    Query(
        "dwellings",
        ("dwellings",),
        ("region@gemeente", "period@year"),
        totals="grand",
    ),
    Query(  # row counts only, many small cells: bounds, then holdings where they must be
        "dwellings",
        ("doorsluis_dwellings", "unexplained_purchase_dwellings", "dwellings"),
        ("region@buurt", "owner_type"),
        (YEAR,),
        totals="margins",
    ),
]
# Measure filters by wijk and buurt, from the rollups' flags (whether each row passes each
# filter), not from the columns the filters read: shares, and over-representation against
# the population (a reference part of another cube, by sex too; first registration is the
# drug suspects' own and broadcast over it).
FLAGGED = [
    Query(
        "population",
        ("share_low_income", "share_social_rent", "inhabitants_young_men"),
        ("region@wijk", "period@year"),
        totals="margins",
    ),
    Query(
        "drug_suspects",
        ("repeat_suspects", "index_suspect_before"),
        ("sex", "first_registration", "residence@wijk"),
        (YEAR,),
        totals="margins",
    ),
    Query(
        "plantations",
        ("index_low_income", "index_social_rent", "index_young_men"),
        ("region@buurt",),
        (Cut("region", "gemeente", ("GM0363",)), YEAR),
    ),
    Query(  # the reference by wijk and age (the age pyramid's rollup)
        "drug_suspects",
        ("registrations", "index_young_men"),
        ("first_registration", "residence@wijk"),
        (Cut("age", "broad", ("25-44", "65+")), YEAR),
        totals="margins",
    ),
]
COVERED += FLAGGED
# ... and not: a column no rollup keeps, cubes without rollups.
UNCOVERED = [
    Query("drug_suspects", ("suspects",), ("residence@gemeente", "period@year")),
    Query("population", ("inhabitants",), ("household_type", "region@buurt"), (YEAR,)),
    Query("transactions", ("transactions", "amount"), ("region@gemeente",)),
]


def test_a_second_engine_on_the_release_reads_the_rollups_too(release, engine):
    second = Engine.open(release)
    try:
        assert (
            set(second.rollups) == set(engine.rollups) == {"population", "dwellings", "companies"}
        )
    finally:
        second.close()
    assert engine.answer(Query("population", ("inhabitants",), ("region@gemeente",), (YEAR,)))


def _strategies(engine: Engine, query: Query) -> set[str]:
    plan = make_plan(query, engine.catalog, engine.axes_for, engine.store, engine.max_cells)
    return {compiled(engine.context, engine.caches, plan, part).strategy for part in plan.parts}


def test_release_fixture_has_rollups_for_the_big_cubes(engine):
    assert set(engine.rollups) == {"population", "dwellings", "companies"}
    for tables in engine.rollups.values():
        rows = [t.rows for t in tables]
        assert rows == sorted(rows)  # the smallest covering rollup is tried first


@pytest.mark.parametrize("query", COVERED, ids=lambda q: f"{q.cube}:{'+'.join(q.drilldown)}")
def test_covered_queries_use_a_rollup_and_answer_alike(engine, facts_engine, query):
    assert any(s.startswith("rollup") for s in _strategies(engine, query))
    assert not any(s.startswith("rollup") for s in _strategies(facts_engine, query))
    got, want = engine.answer(query), facts_engine.answer(query)
    assert got.rows == want.rows
    assert got.total_rows == want.total_rows
    # contributor counts may differ where either side cleared a cell with a lower bound
    assert _published(got.summary.audit()) == _published(want.summary.audit())


def _published(report: dict) -> dict:
    """The report without the contributor counts of its internal risk figures (they go to
    the audit log only)."""
    if isinstance(report, dict):
        return {
            k: _published(v) for k, v in report.items() if k != "smallest_published_contributors"
        }
    return report


@pytest.mark.parametrize("query", UNCOVERED, ids=lambda q: f"{q.cube}:{'+'.join(q.drilldown)}")
def test_uncovered_queries_read_the_facts(engine, facts_engine, query):
    assert not any(s.startswith("rollup") for s in _strategies(engine, query))
    assert engine.answer(query).rows == facts_engine.answer(query).rows


def test_rollup_tables_hold_what_the_facts_hold(engine):
    """Counts and key sums of singles + multis equal the facts' per year."""
    cur = engine.cursor()
    for tables in engine.rollups.values():
        for t in tables:
            fact = engine.catalog.cubes[t.cube].fact
            want = cur.execute(
                f'SELECT year, count(*), sum(record_key) FROM "{fact}" GROUP BY year ORDER BY 1'
            ).fetchall()
            got = cur.execute(
                f"SELECT year, sum(n), sum(rk) FROM (SELECT year, n, rk FROM "
                f'{rollups.SCHEMA}."{t.singles}" UNION ALL SELECT year, n, rk FROM '
                f'{rollups.SCHEMA}."{t.multis}") GROUP BY year ORDER BY 1'
            ).fetchall()
            assert got == want, t.name


def test_bounds_hold_each_groups_holdings_and_most_rows_of_one(engine):
    """``mh`` and ``hc`` of every bounds group: the most rows one holding has in the group and
    its holdings, counted from the facts; the group's rows and ``mr`` as before."""
    cur = engine.cursor()
    for tables in engine.rollups.values():
        for t in tables:
            cube = engine.catalog.cubes[t.cube]
            flags = dict(next(r for r in cube.rollups if r.name == t.name).flags)
            row = ", ".join(
                f'{_flag(flags[c])} AS "{c}"' if c in flags else f'"{c}"' for c in t.columns
            )
            cols = ", ".join(f'"{c}"' for c in t.columns)
            want = cur.execute(
                f"SELECT {cols}, sum(k), max(k), count(*), max(hr) FROM (SELECT {row}, holding, "
                f'count(*) AS k, max(holding_rows_year) AS hr FROM "{cube.fact}" '
                f"WHERE holding_rows_year > 1 GROUP BY ALL) GROUP BY ALL ORDER BY ALL"
            ).fetchall()
            got = cur.execute(
                f'SELECT {cols}, n, mh, hc, mr FROM {rollups.SCHEMA}."{t.bounds}" ORDER BY ALL'
            ).fetchall()
            assert got == want, t.name


def test_alone_flags_mark_a_holdings_only_row_in_its_year_and_region(engine):
    """``alone_<col>`` of every multis row, for every region column of the rollup and only
    those: whether the facts give its holding rows in that year and region in this group only
    (the facts grouped as the multis are, then counted per holding, year and region)."""
    cur = engine.cursor()
    flagged = 0
    for tables in engine.rollups.values():
        for t in tables:
            cube = engine.catalog.cubes[t.cube]
            assert t.alone == rollups.region_columns(cube, t.columns), t.name
            flags = dict(next(r for r in cube.rollups if r.name == t.name).flags)
            row = ", ".join(
                f'{_flag(flags[c])} AS "{c}"' if c in flags else f'"{c}"' for c in t.columns
            )
            cols = ", ".join(f'"{c}"' for c in t.columns)
            for c in t.alone:
                want = cur.execute(
                    f'SELECT {cols}, holding, count(*) OVER (PARTITION BY year, "{c}", holding) '
                    f'= 1 FROM (SELECT DISTINCT {row}, holding FROM "{cube.fact}" '
                    f"WHERE holding_rows_year > 1) ORDER BY ALL"
                ).fetchall()
                got = cur.execute(
                    f'SELECT {cols}, holding, "alone_{c}" FROM {rollups.SCHEMA}."{t.multis}" '
                    f"ORDER BY ALL"
                ).fetchall()
                assert got == want, (t.name, c)
                flagged += sum(1 for r in got if r[-1])
    assert flagged > 0  # the fixture has holdings alone in a region


def test_flags_count_the_rows_each_filter_passes(engine):
    """Per flag of a rollup, its rows counted per year: the fact rows that pass the filter."""
    cur = engine.cursor()
    checked = 0
    for tables in engine.rollups.values():
        for t in tables:
            cube = engine.catalog.cubes[t.cube]
            for name, filters in next(r for r in cube.rollups if r.name == t.name).flags:
                want = cur.execute(
                    f'SELECT year, count(*) FROM "{cube.fact}" WHERE {_flag(filters)} '
                    f"GROUP BY year ORDER BY 1"
                ).fetchall()
                got = cur.execute(
                    f'SELECT year, sum(n) FROM (SELECT year, n, "{name}" AS f FROM '
                    f'{rollups.SCHEMA}."{t.singles}" UNION ALL SELECT year, n, "{name}" FROM '
                    f'{rollups.SCHEMA}."{t.multis}") WHERE f GROUP BY year ORDER BY 1'
                ).fetchall()
                assert got == want and want, (t.name, filters)
                checked += 1
    assert checked >= 10  # two population rollups with five filters each


# every filter operator, on a string and a number column with NULLs in both
EVERY_OP = [
    ("eq", "s", "b"),
    ("ne", "s", "b"),
    ("in", "s", ("a", "c")),
    ("lt", "n", 2),
    ("le", "n", 2),
    ("gt", "n", 2),
    ("ge", "n", 2),
    ("eq", "f", True),
]


def test_every_filter_operator_is_tried():
    assert {op for op, _, _ in EVERY_OP} == FILTER_OPS


@pytest.mark.parametrize(("op", "column", "value"), EVERY_OP)
def test_a_flag_passes_the_rows_the_engine_filter_passes(op, column, value):
    """A rollup's flag (rendered by the build) against the test the engine runs on the facts
    (``cube.sql``'s filter, compiled by Ibis), row by row, NULLs included."""
    import ibis

    con = duckdb.connect()
    con.execute(
        "CREATE TABLE f AS SELECT * FROM (VALUES (1, 1, 'a', TRUE), (2, 2, 'b', FALSE), "
        "(3, 3, NULL, NULL), (4, NULL, 'c', TRUE)) AS v(id, n, s, f)"
    )
    filters = (Filter(column, op, value),)
    got = con.execute(f"SELECT id, {rollups._passes(filters)} FROM f ORDER BY id").fetchall()
    t = ibis.table({"id": "int64", "n": "int64", "s": "string", "f": "boolean"}, name="f")
    test = (ibis.literal(True) & cube_sql._filter_expr(t, filters[0])).fill_null(False)
    engine_sql = ibis.to_sql(t.select(t.id, passes=test).order_by("id"), dialect="duckdb")
    assert got == con.execute(str(engine_sql)).fetchall()
    assert {p for _, p in got} == {True, False}


def _flag(filters) -> str:
    """A filter as SQL, written out here (the build renders it with sqlglot)."""
    ops = {"eq": "=", "ne": "<>", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}

    def literal(v) -> str:
        return str(v).upper() if isinstance(v, bool) else repr(v)

    tests = [
        f'"{f.column}" IN ({", ".join(map(literal, f.value))})'
        if f.op == "in"
        else f'"{f.column}" {ops[f.op]} {literal(f.value)}'
        for f in filters
    ]
    return f"coalesce({' AND '.join(tests)}, FALSE)"


@dataclass(frozen=True)
class _Copied:
    id: str
    db_path: Path
    manifest: dict


def _copy(release, tmp_path: Path) -> _Copied:
    """The release's directory copied, to spoil its rollup file without touching the fixture."""
    shutil.copytree(release.db_path.parent, tmp_path / "release")
    return _Copied(release.id, tmp_path / "release" / release.db_path.name, release.manifest)


def test_a_rollup_file_of_another_release_is_ignored(release, tmp_path, caplog):
    copy = _copy(release, tmp_path)
    con = duckdb.connect(str(copy.db_path.parent / rollups.FILE))
    con.execute("UPDATE rollup_catalog SET release = 'someone-else'")
    con.close()
    eng = Engine.open(copy)
    try:
        assert eng.rollups == {}
        assert "built for another release or layout, ignored" in caplog.text
    finally:
        eng.close()


def test_engine_without_rollup_file_answers_from_facts(release, tmp_path):
    copy = _copy(release, tmp_path)
    (copy.db_path.parent / rollups.FILE).unlink()
    eng = Engine.open(copy)
    try:
        assert eng.rollups == {}
        assert _strategies(eng, COVERED[0]) == {"single"}
    finally:
        eng.close()


def test_a_failed_build_leaves_no_file(release, tmp_path, monkeypatch):
    calls = []

    def boom(con, cube, rollup):
        calls.append(rollup.name)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real(con, cube, rollup)

    real = rollups._build_one
    monkeypatch.setattr(rollups, "_build_one", boom)
    with pytest.raises(RuntimeError):
        rollups.build(release.db_path, release.id, load_catalog(), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_model_lists_every_rollup_problem(tmp_path):
    src = MODEL_DIR
    for f in src.glob("*.yaml"):
        shutil.copy(f, tmp_path / f.name)
    path = tmp_path / "population.yaml"
    text = path.read_text(encoding="utf-8").split("rollups:")[0]
    path.write_text(
        text
        + "rollups:\n"
        + "  a: {roles: [region, nope]}\n"
        + "  b: {roles: [region], drop: {region: [village]}}\n"
        + "  c: {roles: [age], colour: red}\n",
        encoding="utf-8",
    )
    with pytest.raises(ModelError) as err:
        load_catalog(tmp_path)
    text = "\n".join(err.value.problems)
    assert "rollups.a: unknown role 'nope'" in text
    assert "rollups.b: role 'region' has no levels ['village']" in text
    assert "rollups.c: unknown keys ['colour']" in text
    assert "rollups.c: must keep the period role's year" in text


def test_a_damaged_rollup_file_is_ignored(release, tmp_path, caplog):
    copy = _copy(release, tmp_path)
    (copy.db_path.parent / rollups.FILE).write_bytes(b"not a database" * 100)
    eng = Engine.open(copy)
    try:
        assert eng.rollups == {}
        assert "cannot be read, ignored" in caplog.text
        assert eng.answer(COVERED[0]).rows
    finally:
        eng.close()


def _tables(path: Path) -> dict[str, list]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        names = [r[0] for r in con.execute("SHOW TABLES").fetchall()]
        return {n: con.execute(f'SELECT * FROM "{n}" ORDER BY ALL').fetchall() for n in names}
    finally:
        con.close()


def test_a_memory_limit_is_applied_and_changes_no_table(release, tmp_path):
    """The limit reaches the build (far too little memory fails it, leaving nothing behind);
    within a limit the tables are those of an unlimited build, and the spill directory goes."""
    with pytest.raises(duckdb.OutOfMemoryException):
        rollups.build(release.db_path, release.id, load_catalog(), tmp_path, memory_limit="1MB")
    assert list(tmp_path.iterdir()) == []
    limited, _, _ = rollups.build(
        release.db_path, release.id, load_catalog(), tmp_path, memory_limit="200MB"
    )
    assert [p.name for p in tmp_path.iterdir()] == [rollups.FILE]
    assert _tables(limited) == _tables(release.db_path.parent / rollups.FILE)
