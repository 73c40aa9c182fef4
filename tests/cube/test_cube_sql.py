"""Statement trees of ``cube.sql``: independent statements run as one (``together``)."""

from __future__ import annotations

import re

import duckdb
import numpy as np
import sqlglot
from sqlglot import exp

from cube.backend import DuckDbBackend
from cube.dialects import hole
from cube.execute import Cells, KeyIndex
from cube.sql import together
from cube.statement import Statement


def _statement(sql: str) -> Statement:
    return Statement(sqlglot.parse_one(sql, read="duckdb"))


ONE = (
    "WITH f AS (SELECT k AS k0, v FROM t WHERE v > 0) "
    "SELECT k0, 0 AS g, count(*) AS n0 FROM f GROUP BY k0"
)
TWO = (
    "WITH f AS (SELECT k AS k0, v FROM t WHERE v < 0), h AS (SELECT k0, v FROM f) "
    "SELECT k0, 0 AS g, count(*) AS n0, max(v) AS c0 FROM h GROUP BY k0"
)


def _cells(keys: list[int]) -> Cells:
    grid = np.array([[i] for i in range(len(keys))])
    return Cells(part=None, items=(), grid=grid, axes={}, maps=[KeyIndex(tuple(keys))])  # type: ignore[arg-type]


def test_statements_run_together_give_each_its_own_rows_and_columns():
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE t AS SELECT * FROM (VALUES (1, 5), (1, -2), (2, 3), (3, -7), (3, -1)) v(k, v)"
    )
    backend = DuckDbBackend(con.cursor())
    cells = _cells([1, 2, 3])
    first, second = cells.results(backend, together(_statement(ONE), _statement(TWO)))
    alone = [cells.result(backend, _statement(ONE)), cells.result(backend, _statement(TWO))]
    assert set(first.cols) == {"k0", "g", "n0"}  # no column of the other statement
    assert set(second.cols) == {"k0", "g", "n0", "c0"}
    for got, want in zip((first, second), alone, strict=True):
        for name in want.cols:
            assert np.array_equal(got.col(name), want.col(name)), name
    assert list(first.col("n0")) == [1, 1, 0] and list(second.col("c0")) == [-2, 0, -1]


def test_together_keeps_each_statements_tables_apart_and_its_placeholders_open():
    """Both statements name their WITH table ``f``: renamed apart, each reads its own; a
    placeholder in both is bound in both, and Spark gets the combined tree too."""
    one = _statement(ONE.replace("v > 0", "v > 0 AND k IN (1)"))
    tree = one.tree.copy()
    (member_list,) = tree.find_all(exp.In)
    member_list.set("expressions", [hole("cut0")])
    both = together(Statement(tree), _statement(TWO))
    assert both.holes() == {"cut0"}
    text = both.bind(cut0=(2, 3)).render("duckdb")
    assert "s0_f AS" in text and "s1_f AS" in text and "s1_h AS" in text
    assert "IN (2, 3)" in text
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT * FROM (VALUES (1, 5), (2, 3), (3, -7)) v(k, v)")
    rows = con.execute(text).fetchall()
    assert sorted(rows, key=repr) == sorted([(0, 2, 0, 1, None), (1, 3, 0, 1, -7)], key=repr)
    spark = both.bind(cut0=(2,)).render("spark")
    assert sqlglot.parse_one(spark, read="spark").find(exp.Union) is not None


def test_grouping_sets_and_bits_only_where_there_are_totals(engine, facts_engine):
    """Without totals every statement groups plainly (``g`` is 0: no grouping bits to
    compute); with a grand total or margins the grouping sets and bits are there. Either
    way the part's statistics are the oracle's."""
    from cube import run
    from cube.plan import cell_grid, make_plan
    from cube.query import Cut, Query
    from cube.strategies import run_part
    from tests.cube.test_cube_differential import check_against_oracle

    year = (Cut("period", "year", ("2023",)),)
    cases = [
        ("drug_suspects", ("suspects", "registrations"), ("residence@gemeente",)),
        ("dwellings", ("dwellings", "woz_total", "owners"), ("region@wijk",)),
        ("population", ("inhabitants",), ("region@gemeente", "sex")),
    ]
    for eng in (engine, facts_engine):
        for cube, measures, drilldown in cases:
            for totals in ("none", "grand", "margins"):
                query = Query(cube, measures, drilldown, year, totals=totals)
                plan = make_plan(query, eng.catalog, eng.axes_for, eng.store, eng.max_cells)
                axes = eng.axes_for(plan.cube)
                grid = cell_grid(list(plan.items), plan.grouping_sets, axes, plan.masks)
                (part,) = plan.parts
                sql = run.compiled(eng.context, eng.caches, plan, part)
                texts = [
                    str(getattr(sql, f))
                    for f in sql.__dataclass_fields__  # type: ignore[attr-defined]
                    if isinstance(getattr(sql, f), Statement)
                ]
                for text in texts:
                    grouped = "GROUPING SETS" in text or "GROUPING(" in text
                    assert grouped is (totals != "none"), (cube, totals, sql.strategy, text)
                stats = run_part(eng.backend(), sql, part, plan.items, grid, axes)
                check_against_oracle(eng, plan, grid, stats)


def test_counts_with_totals_are_summed_per_finest_cell_first_with_the_same_statistics(
    engine, facts_engine, monkeypatch
):
    """Counts with totals run as two steps (rows per finest cell, then the grouping sets over
    those): the oracle's statistics, bit for bit those of the one pass; sums, whose two
    largest values do not add up, stay one pass."""
    from cube import run, sql
    from cube.context import SqlCaches
    from cube.plan import cell_grid, make_plan
    from cube.query import Cut, Query
    from cube.strategies import run_part
    from tests.cube.test_cube_differential import check_against_oracle

    year = (Cut("period", "year", ("2023",)),)
    cases = [
        ("population", ("inhabitants", "inhabitants_social_rent"), ("region@gemeente", "sex"), 1),
        ("drug_suspects", ("suspects", "registrations"), ("residence@gemeente", "sex"), 1),
        ("plantations", ("plantations",), ("region@provincie",), 1),
        ("dwellings", ("dwellings", "woz_total"), ("region@gemeente",), 0),
    ]
    one_pass_only = sql.staged

    def statistics(eng, query: Query, staged: bool):
        monkeypatch.setattr(sql, "staged", one_pass_only if staged else lambda *a: False)
        plan = make_plan(query, eng.catalog, eng.axes_for, eng.store, eng.max_cells)
        axes = eng.axes_for(plan.cube)
        grid = cell_grid(list(plan.items), plan.grouping_sets, axes, plan.masks)
        (part,) = plan.parts
        compiled = run.compiled(eng.context, SqlCaches(), plan, part)
        texts = " ".join(
            str(getattr(compiled, f))
            for f in compiled.__dataclass_fields__  # type: ignore[attr-defined]
            if isinstance(getattr(compiled, f), Statement)
        )
        stats = run_part(eng.backend(), compiled, part, plan.items, grid, axes)
        return plan, grid, stats, re.search(r"\b(s\d+_)?p AS \(", texts) is not None

    for eng in (engine, facts_engine):
        for cube, measures, drilldown, counts_only in cases:
            for totals in ("grand", "margins"):
                query = Query(cube, measures, drilldown, year, totals=totals)
                plan, grid, two_steps, was_staged = statistics(eng, query, staged=True)
                assert was_staged is bool(counts_only), (cube, totals)
                check_against_oracle(eng, plan, grid, two_steps)
                _, _, one_step, _ = statistics(eng, query, staged=False)
                for mid, got in two_steps.items():
                    want = one_step[mid]
                    for name in got.__dataclass_fields__:
                        a, b = getattr(got, name), getattr(want, name)
                        assert np.array_equal(a, b), (cube, totals, mid, name)


def test_a_region_cut_is_read_through_the_fewest_keys_with_the_same_cells(engine, facts_engine):
    """Every buurt (or wijk) of a gemeente is read as that gemeente, a cut of every region as
    no filter; a cut that no coarser level tiles stays as asked. Either way the part's
    statistics are the oracle's."""
    from cube import run
    from cube.plan import cell_grid, make_plan
    from cube.query import Cut, Query
    from cube.strategies import run_part
    from tests.cube.test_cube_differential import check_against_oracle

    year = Cut("period", "year", ("2023",))
    gm0363 = Cut("residence", "buurt", relation="descendants", of="GM0363")
    cases = [  # (cut, drill-down level, the filter's column in the SQL or None)
        (gm0363, "buurt", "residence_gemeente"),
        (Cut("residence", "wijk", ("WK0363AA", "WK0363AB")), "wijk", "residence_gemeente"),
        (Cut("residence", "buurt", ("BU0363AA01", "BU0363AB01")), "buurt", "residence_buurt"),
        (Cut("residence", "buurt", relation="descendants", of="GM0363", exclude=True), "buurt",
         "residence_gemeente"),
        (Cut("residence", "gemeente", ("GM0014", "GM0362", "GM0363")), "gemeente", None),
    ]  # fmt: skip
    for eng in (engine, facts_engine):
        for cut, level, column in cases:
            query = Query("drug_suspects", ("suspects",), (f"residence@{level}",), (cut, year))
            plan = make_plan(query, eng.catalog, eng.axes_for, eng.store, eng.max_cells)
            axes = eng.axes_for(plan.cube)
            grid = cell_grid(list(plan.items), plan.grouping_sets, axes, plan.masks)
            (part,) = plan.parts
            sql = run.compiled(eng.context, eng.caches, plan, part)
            text = " ".join(
                str(getattr(sql, f))
                for f in sql.__dataclass_fields__  # type: ignore[attr-defined]
                if isinstance(getattr(sql, f), Statement)
            )
            # the columns a region filter reads (``NOT "t0"."col" IN (...)`` when excluding)
            filtered = set(re.findall(r'"(residence_[a-z]+)" IN \(', text))
            assert filtered == ({column} if column else set()), (cut, text)
            stats = run_part(eng.backend(), sql, part, plan.items, grid, axes)
            check_against_oracle(eng, plan, grid, stats)
