"""Every execution strategy (``cube/strategies/``) on its own against the row-by-row oracle
(``tests/cube/oracle.py``), and the order in which they are chosen."""

from __future__ import annotations

import numpy as np
import pytest

from cube import run
from cube.plan import cell_grid, make_plan
from cube.query import Cut, Query
from cube.strategies import BY_NAME, STRATEGIES, Situation, choose, run_part
from tests.cube.test_cube_differential import check_against_oracle

YEAR = Cut("period", "year", ("2023",))
# One query per strategy where it applies (and is the one chosen), and whether the engine must
# have the release's rollups for it.
CASES = {
    "single": (
        Query(
            "population",
            ("inhabitants", "inhabitants_low_income"),
            ("region@gemeente", "period@year"),
            totals="margins",
        ),
        False,
    ),
    "distinct": (
        Query("drug_suspects", ("suspects",), ("residence@gemeente", "offence@gemeente"), (YEAR,)),
        False,
    ),
    "holding": (
        # cells over both years, persons registered more than once, rows and persons counted
        Query(
            "drug_suspects",
            ("suspects", "registrations"),
            ("residence@gemeente",),
            totals="grand",
        ),
        False,
    ),
    "split": (
        Query(
            "dwellings",
            ("dwellings", "woz_total", "owners"),
            ("region@wijk",),
            (YEAR,),
            totals="margins",
        ),
        False,
    ),
    "bounds": (
        Query(
            "dwellings",
            ("dwellings", "doorsluis_dwellings"),
            ("region@buurt",),
            (YEAR,),
            totals="margins",
        ),
        False,
    ),
    "rollup": (
        Query("dwellings", ("woz_total", "woz_mean"), ("owner_type", "region@gemeente"), (YEAR,)),
        True,
    ),
    "rollup_bounds": (
        Query(
            "dwellings",
            ("doorsluis_dwellings", "unexplained_purchase_dwellings", "dwellings"),
            ("region@buurt", "owner_type"),
            (YEAR,),
            totals="margins",
        ),
        True,
    ),
}


def _compiled(eng, query):
    """The query's one part compiled as the engine compiles it, with its axes and grid."""
    plan = make_plan(query, eng.catalog, eng.axes_for, eng.store, eng.max_cells)
    (part,) = plan.parts
    sql = run.compiled(eng.context, eng.caches, plan, part)
    axes = eng.axes_for(plan.cube)
    return plan, part, sql, axes, cell_grid(list(plan.items), plan.grouping_sets, axes, plan.masks)


def test_every_strategy_has_a_case():
    assert set(CASES) == set(BY_NAME) and len(BY_NAME) == len(STRATEGIES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_strategy_matches_the_oracle(name, engine, facts_engine):
    """Compiled and run by this strategy alone, the part's statistics equal the oracle's."""
    query, rollups = CASES[name]
    eng = engine if rollups else facts_engine
    eng.sql_cache.clear()
    plan = make_plan(query, eng.catalog, eng.axes_for, eng.store, eng.max_cells)
    (part,) = plan.parts
    strategy = BY_NAME[name]
    situation = run.situation_of(eng.context, plan, part)
    assert strategy.applies(situation)
    target = run.target(eng.context, plan, part)
    assert choose(target, situation).strategy == name  # the one the engine picks, too
    sql = strategy.compile(target)
    assert sql is not None and sql.strategy == name
    axes = eng.axes_for(plan.cube)
    grid = cell_grid(list(plan.items), plan.grouping_sets, axes, plan.masks)
    got = run_part(eng.backend(), sql, part, plan.items, grid, axes)
    check_against_oracle(eng, plan, grid, got)


@pytest.mark.parametrize("name", ["split", "distinct", "bounds"])
def test_a_strategy_gives_the_holding_pass_values_bit_for_bit(name, facts_engine):
    """Perturbation keys on the exact value: a published cell must not differ by strategy."""
    eng = facts_engine
    query = CASES[name][0]
    plan = make_plan(query, eng.catalog, eng.axes_for, eng.store, eng.max_cells)
    (part,) = plan.parts
    axes = eng.axes_for(plan.cube)
    grid = cell_grid(list(plan.items), plan.grouping_sets, axes, plan.masks)
    target = run.target(eng.context, plan, part)
    out = {
        s: run_part(eng.backend(), BY_NAME[s].compile(target), part, plan.items, grid, axes)
        for s in (name, "holding")
    }
    for mid, stats in out[name].items():
        other = out["holding"][mid]
        assert np.array_equal(stats.value, other.value), mid
        assert np.array_equal(stats.cell_key, other.cell_key), mid
        if name != "bounds":  # bounds clear cells with a lower bound on their holdings
            for field in ("contributors", "x1", "x2"):
                assert np.array_equal(getattr(stats, field), getattr(other, field)), (mid, field)


@pytest.mark.parametrize(
    "query",
    [
        CASES["rollup"][0],
        CASES["rollup_bounds"][0],
        Query(  # a wijk from the buurt rollup, a sum, a filtered count, national totals
            "dwellings",
            ("woz_total", "doorsluis_dwellings", "dwellings"),
            ("region@wijk", "doorsluis"),
            (YEAR,),
            totals="margins",
        ),
        Query(
            "companies",
            ("employees", "establishments"),
            ("sector@section", "region@gemeente"),
            (YEAR,),
            totals="margins",
        ),
    ],
    ids=["gemeente", "buurt", "wijk-sum-margins", "companies"],
)
def test_rows_alone_in_their_region_give_the_holding_pass_bit_for_bit(query, engine):
    """The multis' rows flagged alone in their year and region (``cube.rollups``) taken as
    whole holdings give every cell exactly what summing every row per holding gives: counts,
    keys, contributors and the two largest contributions. The pass reads them unsummed."""
    from dataclasses import replace

    eng = engine
    plan = make_plan(query, eng.catalog, eng.axes_for, eng.store, eng.max_cells)
    (part,) = plan.parts
    axes = eng.axes_for(plan.cube)
    grid = cell_grid(list(plan.items), plan.grouping_sets, axes, plan.masks)
    target = run.target(eng.context, plan, part)
    assert any(rt.alone for rt in target.rollups)
    flat = replace(target, rollups=tuple(replace(rt, alone=()) for rt in target.rollups))
    out = {}
    for name, t in (("alone", target), ("summed", flat)):
        sql = BY_NAME["rollup"].compile(t)
        assert sql is not None and sql.multis
        text = sql.statement.tree.sql("duckdb")
        assert ("WHERE a0" in text or "WHERE a1" in text) == (name == "alone"), name
        out[name] = run_part(eng.backend(), sql, part, plan.items, grid, axes)
    for mid, stats in out["alone"].items():
        other = out["summed"][mid]
        for field in ("value", "cell_key", "contributors", "x1", "x2"):
            a, b = getattr(stats, field), getattr(other, field)
            assert np.array_equal(np.ma.filled(a, -1), np.ma.filled(b, -1)), (mid, field)


def test_choice_follows_the_order_of_the_tuple():
    """Every situation gets a strategy from the facts; rollups come first where they apply."""
    facts = [s for s in STRATEGIES if not s.name.startswith("rollup")]
    for bits in range(16):
        sit = Situation(*(bool(bits >> i & 1) for i in range(4)))
        if sit.holdings_only and not sit.needs_holdings:
            continue  # a count of holdings needs holdings
        assert any(s.applies(sit) for s in facts), sit
    names = [s.name for s in STRATEGIES]
    assert names.index("rollup_bounds") < names.index("rollup") < names.index("single")


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_strategy_fills_its_shape_for_another_year(name, engine, facts_engine, monkeypatch):
    """The shape of each strategy's SQL (cuts as placeholders, a ``where`` of its own left
    open) is compiled once: another year binds the template instead of compiling again."""
    query, rollups = CASES[name]
    eng = engine if rollups else facts_engine
    eng.sql_cache.clear()
    eng.template_cache.clear()
    calls = []
    real = run.choose
    monkeypatch.setattr(run, "choose", lambda *a: calls.append(a) or real(*a))
    for year in ("2023", "2022"):
        cuts = tuple(
            Cut("period", "year", (year,)) if c.role == "period" else c for c in query.cuts
        )
        q = Query(query.cube, query.measures, query.drilldown, cuts, totals=query.totals)
        plan = make_plan(q, eng.catalog, eng.axes_for, eng.store, eng.max_cells)
        for part in plan.parts:
            assert run.compiled(eng.context, eng.caches, plan, part).strategy == name
    assert len(calls) == 1, name


def _statements(eng, monkeypatch) -> list[str]:
    """The statements ``eng``'s backend runs from now on."""
    backend = eng.backend()
    seen: list[str] = []
    real = backend.columns
    monkeypatch.setattr(backend, "columns", lambda sql: seen.append(str(sql)) or real(sql))
    return seen


@pytest.mark.parametrize("name, exact", [("rollup_bounds", "rollup"), ("bounds", "split")])
def test_bounds_that_leave_many_cells_give_way_to_one_exact_statement(
    name, exact, engine, facts_engine, monkeypatch
):
    """Wijken of dwellings: owners hold many of them, so the bounds settle few cells and the
    holding pass runs after them. The next run of the shape (another year) reads the multis
    per holding at once: one statement, the same statistics as the bounds and the holding
    pass give, and exact contributors everywhere (as ``exact``, the strategy without bounds,
    gives them). The facts' part is small: one holding pass over every row, not split's
    singles and multis apart."""
    import re

    from cube.strategies.base import use_exact

    query = Query("dwellings", ("doorsluis_dwellings", "dwellings"), ("region@wijk",), (YEAR,))
    eng = engine if name == "rollup_bounds" else facts_engine
    eng.sql_cache.clear()
    eng.template_cache.clear()
    seen = _statements(eng, monkeypatch)
    got = {}
    for year in ("2023", "2022", "2023"):
        q = Query(query.cube, query.measures, query.drilldown, (Cut("period", "year", (year,)),))
        plan, part, sql, axes, grid = _compiled(eng, q)
        assert sql.strategy == name
        seen.clear()
        stats = run_part(eng.backend(), sql, part, plan.items, grid, axes)
        got.setdefault(year, []).append((len(seen), stats))
        if year == "2022" and name == "bounds":  # a small part: every row per holding
            text = seen[0].replace('"', "")
            assert "UNION" not in text and not re.search(r"\bhr [=>]", text)
        if year == "2022":
            check_against_oracle(eng, plan, grid, stats)
            other = BY_NAME[exact].compile(run.target(eng.context, plan, part))
            want = run_part(eng.backend(), other, part, plan.items, grid, axes)
            for mid, s in stats.items():
                for field in ("value", "cell_key", "contributors", "x1", "x2"):
                    assert np.array_equal(getattr(s, field), getattr(want[mid], field))
    (first, n_first), (again, n_again) = got["2023"][0][::-1], got["2023"][1][::-1]
    assert n_first == 2 and use_exact(sql.exact)  # bounds, then the holding pass
    assert got["2022"][0][0] == 1 and n_again == 1
    for mid, s in first.items():  # what is published is the same either way
        for field in ("value", "cell_key"):
            assert np.array_equal(getattr(s, field), getattr(again[mid], field))


def test_bounds_that_settle_every_cell_stay_one_statement(engine, monkeypatch):
    """Foundations' dwellings by gemeente: the bounds settle every cell, so the shape keeps
    reading the small bounds table (one statement) and never the multis per holding."""
    from cube.strategies.base import use_exact

    eng = engine
    eng.sql_cache.clear()
    eng.template_cache.clear()
    seen = _statements(eng, monkeypatch)
    for year in ("2023", "2022"):
        year_cut = Cut("period", "year", (year,))
        q = Query("dwellings", ("foundation_dwellings",), ("region@gemeente",), (year_cut,))
        plan, part, sql, axes, grid = _compiled(eng, q)
        seen.clear()
        stats = run_part(eng.backend(), sql, part, plan.items, grid, axes)
        check_against_oracle(eng, plan, grid, stats)
        assert sql.strategy == "rollup_bounds" and len(seen) == 1
        assert "_b" in seen[0] and "holding" not in seen[0]
        assert not use_exact(sql.exact)


@pytest.mark.parametrize(
    "query, switches",
    [
        # companies of the test release: every holding has several establishments a year
        (Query("companies", ("employees", "establishments"), ("region@gemeente",), (YEAR,)), True),
        # dwellings: most owners own one (split's singles pass spares the holding pass)
        (CASES["split"][0], False),
    ],
)
def test_split_gives_way_to_the_holding_pass_where_singles_are_rare(
    query, switches, facts_engine, monkeypatch
):
    """Where few rows are singles, the shape's next run (another year) runs the holding
    pass alone: one statement over every row, the holding strategy's statistics bit for bit.
    Where singles are many it stays split."""
    from cube.strategies.base import use_exact

    eng = facts_engine
    eng.sql_cache.clear()
    eng.template_cache.clear()
    seen = _statements(eng, monkeypatch)
    for year in ("2023", "2022"):
        cuts = tuple(
            Cut("period", "year", (year,)) if c.role == "period" else c for c in query.cuts
        )
        q = Query(query.cube, query.measures, query.drilldown, cuts, totals=query.totals)
        plan, part, sql, axes, grid = _compiled(eng, q)
        assert sql.strategy == "split"
        seen.clear()
        got = run_part(eng.backend(), sql, part, plan.items, grid, axes)
        assert len(seen) == 1
        holding = BY_NAME["holding"].compile(run.target(eng.context, plan, part))
        want = run_part(eng.backend(), holding, part, plan.items, grid, axes)
        for mid, s in got.items():
            for field in ("value", "cell_key", "contributors", "x1", "x2"):
                assert np.array_equal(getattr(s, field), getattr(want[mid], field)), field
        if year == "2022":
            assert ("hr = 1" not in seen[0].replace('"', "")) is switches
    assert use_exact(sql.exact) is switches


def test_bounds_stay_the_path_where_suppressions_cost_contributors(engine, monkeypatch):
    """Under ``secondary_cost: contributors`` the secondary pattern reads the contributor
    counts, which the bounds leave at a lower bound in the cells they settle: a shape then
    never switches, so one query's pattern does not depend on which queries ran before."""
    from dataclasses import replace

    from cube.strategies.base import use_exact

    query = Query("dwellings", ("doorsluis_dwellings", "dwellings"), ("region@wijk",), (YEAR,))
    eng = engine
    eng.sql_cache.clear()
    eng.template_cache.clear()
    seen = _statements(eng, monkeypatch)
    plan = make_plan(query, eng.catalog, eng.axes_for, eng.store, eng.max_cells)
    (part,) = plan.parts
    policy = replace(part.cube.policy, secondary_cost="contributors")
    costly = replace(part, cube=replace(part.cube, policy=policy))
    sql = run.compiled(eng.context, eng.caches, plan, part)
    assert sql.strategy == "rollup_bounds"
    axes = eng.axes_for(plan.cube)
    grid = cell_grid(list(plan.items), plan.grouping_sets, axes, plan.masks)
    for _ in range(2):
        seen.clear()
        run_part(eng.backend(), sql, costly, plan.items, grid, axes)
        assert len(seen) == 2 and not use_exact(sql.exact)
    run_part(eng.backend(), sql, part, plan.items, grid, axes)  # the shipped policy: switches
    assert use_exact(sql.exact)


def test_a_holding_with_many_rows_elsewhere_does_not_keep_a_cell_from_its_bounds(engine):
    """Dwellings by gemeente: owners with dwellings in several gemeenten have more rows in
    the year than in any one gemeente. The bound on one holding's rows in a cell is also the
    groups' most rows of one holding, added up, and its holdings at least the largest
    group's: tighter than the year's rows and Σ 1/rows alone (so fewer cells go to the
    holding pass), still bounds (the oracle), and what is published equals the exact
    statement's."""
    from cube.execute import Cells, concentrated

    eng = engine
    eng.sql_cache.clear()
    eng.template_cache.clear()
    query = Query("dwellings", ("dwellings",), ("region@gemeente",), (YEAR,))
    plan, part, sql, axes, grid = _compiled(eng, query)
    assert sql.strategy == "rollup_bounds"
    _, bound = Cells.of(part, plan.items, grid, axes).results(eng.backend(), sql.statement)
    policy = plan.cube.policy.for_measure("dwellings")
    n = bound.col("n0", np.int64)
    year_rows = bound.col("mr0")
    in_cells = np.minimum(year_rows, bound.col("mh0"))
    assert (in_cells <= year_rows).all() and (in_cells < year_rows).any()
    assert concentrated(n, in_cells, policy).sum() <= concentrated(n, year_rows, policy).sum()
    holdings = np.maximum(bound.col("lb0"), bound.col("hc0"))
    assert (holdings >= bound.col("lb0")).all() and (holdings > bound.col("lb0")).any()
    stats = run_part(eng.backend(), sql, part, plan.items, grid, axes)
    check_against_oracle(eng, plan, grid, stats)  # the bounds hold: x1 <= bound, c >= bound
    exact = BY_NAME["rollup"].compile(run.target(eng.context, plan, part))
    want = run_part(eng.backend(), exact, part, plan.items, grid, axes)
    for field in ("value", "cell_key"):
        assert np.array_equal(getattr(stats["dwellings"], field), getattr(want["dwellings"], field))


def test_any_cell_left_by_the_bounds_of_a_small_part_turns_the_shape_exact():
    """Where a part has few rows, a second statement costs more than reading all of them
    exactly: one cell left to the holding pass is enough. A large part keeps the bounds
    until a quarter of its cells is left, or, where the pass read only the rows of filtered
    measures, until it read a quarter of the part's rows."""
    from types import SimpleNamespace

    from cube.statement import Statement
    from cube.strategies.base import SMALL_PART_ROWS, note_refined, part_rows, use_exact
    from sdc.policy import Policy

    def cells(n_cells):
        part = SimpleNamespace(
            cube=SimpleNamespace(policy=SimpleNamespace(for_measure=lambda _: Policy())),
            measures=(SimpleNamespace(id="m"),),
        )
        grid = np.arange(n_cells).reshape(-1, 1)
        return SimpleNamespace(part=part, grid=grid)

    def after(refined, n_cells, rows, counted=None):
        exact = Statement.__new__(Statement)
        object.__setattr__(exact, "memo", {})
        note_refined(exact, refined, cells(n_cells), rows, counted)
        return use_exact(exact)

    assert after(1, 100, SMALL_PART_ROWS - 1)
    assert not after(0, 100, SMALL_PART_ROWS - 1)
    assert not after(1, 100, SMALL_PART_ROWS)
    assert after(25, 100, SMALL_PART_ROWS)
    assert not after(24, 100, None)
    # a pass that read only filtered measures' rows: the share of rows it read decides
    assert not after(90, 100, 10 * SMALL_PART_ROWS, counted=SMALL_PART_ROWS)
    assert after(1, 100, 4 * SMALL_PART_ROWS, counted=SMALL_PART_ROWS)
    assert after(1, 100, SMALL_PART_ROWS - 1, counted=1)
    # rows of a part: each grouping set of the grid sums to them (a margin counts them again)
    margins = SimpleNamespace(grid=np.array([[0], [1], [-1]]))
    assert part_rows(margins, [np.array([3, 4, 7]), np.array([1, 1, 2])]) == 7


@pytest.mark.parametrize(
    "name, exact, measures",
    [
        ("rollup_bounds", "rollup", ("dwellings", "doorsluis_dwellings")),
        ("bounds", "split", ("doorsluis_dwellings", "unexplained_purchase_dwellings")),
    ],
)
def test_a_holding_pass_for_filtered_measures_reads_only_their_rows(
    name, exact, measures, engine, facts_engine, monkeypatch
):
    """Dwellings by gemeente: the bounds settle every gemeente's dwellings but not all of its
    doorsluis dwellings, whose few owners may dominate. The holding pass then reads only the
    rows of the filtered measures it refines (their filters in its WHERE), which makes their
    statistics exact in the cells it refines (the exact strategy's bit for bit); the others
    keep their bounds (the oracle), and every published value is the exact strategy's."""
    import re

    query = Query("dwellings", measures, ("region@gemeente",), (YEAR,))
    eng = engine if name == "rollup_bounds" else facts_engine
    eng.sql_cache.clear()
    eng.template_cache.clear()
    seen = _statements(eng, monkeypatch)
    plan, part, sql, axes, grid = _compiled(eng, query)
    assert sql.strategy == name
    got = run_part(eng.backend(), sql, part, plan.items, grid, axes)
    assert len(seen) == 2, "the bounds leave some cells to the holding pass"
    per_holding = seen[1].replace('"', "").split("GROUP BY")[0]  # the rows summed per holding
    where = re.sub(r"\s+", " ", per_holding.split("FROM f")[-1])
    filters = re.search(r"WHERE k0 IN \(([^)]*)\) AND \(? ?(f\d(?: OR f\d)*)", where)
    assert filters, "the pass reads only the rows its measures count"
    keys = {int(k) for k in filters.group(1).split(",")}
    refined = [j for j in range(len(measures)) if f"f{j}" in filters.group(2).split(" OR ")]
    check_against_oracle(eng, plan, grid, got)
    other = BY_NAME[exact].compile(run.target(eng.context, plan, part))
    want = run_part(eng.backend(), other, part, plan.items, grid, axes)
    gemeente = axes["region"].levels[plan.items[0].level].keys
    cells = np.array([gemeente[c] in keys for c in grid[:, 0].tolist()])
    assert cells.any() and refined
    for j, mid in enumerate(measures):
        for field in ("value", "cell_key", "contributors", "x1", "x2"):
            a, b = getattr(got[mid], field), getattr(want[mid], field)
            if field in ("value", "cell_key"):  # what is published: the same everywhere
                assert np.array_equal(a, b), (mid, field)
            elif j in refined:  # exact where the pass refined it
                assert np.array_equal(a[cells], b[cells]), (mid, field)


@pytest.mark.parametrize(
    "drilldown, totals, cut, within",
    [
        (("period@quarter",), "none", None, True),
        (("period@month", "residence@gemeente"), "none", None, True),
        (("period@quarter",), "grand", None, False),  # the grand total spans the years
        (("residence@gemeente",), "none", None, False),
        (("residence@gemeente",), "none", Cut("period", "year", ("2023",)), True),
    ],
)
def test_cells_of_quarters_and_months_lie_within_one_year(
    drilldown, totals, cut, within, facts_engine
):
    """A quarter or a month lies within its year, as a year does: over all years such cells
    read the strategies for one year (single-row holdings apart, bounds), whose statistics
    are exact (the oracle) — not the holding pass over every row."""
    eng = facts_engine
    eng.sql_cache.clear()
    cuts = (cut,) if cut else ()
    query = Query("drug_suspects", ("registrations",), drilldown, cuts, totals=totals)
    plan = make_plan(query, eng.catalog, eng.axes_for, eng.store, eng.max_cells)
    (part,) = plan.parts
    situation = run.situation_of(eng.context, plan, part)
    assert situation.one_year is within
    sql = run.compiled(eng.context, eng.caches, plan, part)
    assert (sql.strategy == "holding") is not within
    axes = eng.axes_for(plan.cube)
    grid = cell_grid(list(plan.items), plan.grouping_sets, axes, plan.masks)
    got = run_part(eng.backend(), sql, part, plan.items, grid, axes)
    check_against_oracle(eng, plan, grid, got)


def _sets_read(holding) -> int:
    """The grouping sets a holding pass reads: its ``GROUPING SETS`` tuples, or the sets of
    its branches where it is split per set (``cube.sql._split_per_holding``)."""
    import re

    text = str(holding)
    if "GROUPING SETS" in text:
        return text.count("holding)")
    return len(set(re.findall(r"\b(\d+) AS g\b", text)))


@pytest.mark.parametrize(
    "kept",
    [
        {(0, 1)},  # the cells themselves: both items grouped
        {(0,), (1,)},  # each margin: every item grouped somewhere, GROUPING kept
        {(1,)},  # item 0 a total on every row: its grouping bit a constant
        {()},  # the grand total alone: every bit a constant
        {(0, 1), (0,), (1,), ()},  # every set: the statement itself
    ],
)
def test_a_refinement_over_some_grouping_sets_gives_their_cells_bit_for_bit(
    kept, engine, facts_engine
):
    """``cube.sql.only_sets``: the holding pass over some of its grouping sets gives the
    statistics of their cells exactly as the pass over all of them (the others not at all),
    with each row's grouping bits unchanged; on the facts (``bounds``) and on a rollup's multis
    (``rollup_bounds``)."""
    from cube.execute import Cells, stats
    from cube.sql import only_sets

    for name, eng in (("bounds", facts_engine), ("rollup_bounds", engine)):
        query = Query(
            "dwellings",
            ("dwellings",),
            ("region@gemeente", "owner_type"),
            (YEAR,),
            totals="margins",
        )
        plan, part, _, axes, grid = _compiled(eng, query)
        sql = BY_NAME[name].compile(run.target(eng.context, plan, part))
        full = sql.holding.bind(where=None)
        some = only_sets(sql.holding, kept).bind(where=None)
        if len(kept) == 4:
            assert only_sets(sql.holding, kept) is sql.holding
            assert only_sets(sql.holding, {(0,), (0, 1, 2)}) is sql.holding  # not its own
        else:
            assert _sets_read(some) == len(kept)  # only the kept sets' tuples or branches
        cells = Cells.of(part, plan.items, grid, axes)
        a = stats(cells.result(eng.backend(), full), sql.columns, 0, holding=True)
        b = stats(cells.result(eng.backend(), some), sql.columns, 0, holding=True)
        inside = np.array([tuple(np.flatnonzero(row >= 0)) in kept for row in grid])
        assert inside.any() and (len(kept) == 4 or not inside.all())
        for field in ("n", "c", "key", "x1", "x2"):
            assert np.array_equal(
                np.ma.filled(a[field], -1)[inside], np.ma.filled(b[field], -1)[inside]
            ), (name, field)
            if not inside.all():  # the other sets' cells are not computed
                assert not np.ma.filled(b["n"], 0)[~inside].any()


def test_the_bounds_refine_only_the_grouping_sets_of_the_cells_they_leave(engine, monkeypatch):
    """Dwellings by gemeente x owner type with margins: the bounds settle the country's and
    the owner types' totals, so the holding pass groups by the sets with a gemeente only,
    and the published values are still the exact strategy's."""
    query = Query(
        "dwellings", ("dwellings",), ("region@gemeente", "owner_type"), (YEAR,), totals="margins"
    )
    eng = engine
    eng.sql_cache.clear()
    eng.template_cache.clear()
    seen = _statements(eng, monkeypatch)
    plan, part, sql, axes, grid = _compiled(eng, query)
    assert sql.strategy == "rollup_bounds"
    got = run_part(eng.backend(), sql, part, plan.items, grid, axes)
    assert len(seen) == 2, "the bounds leave some cells to the holding pass"
    assert seen[1].count("holding)") < 4, "the pass groups by fewer sets than the answer has"
    other = BY_NAME["rollup"].compile(run.target(eng.context, plan, part))
    want = run_part(eng.backend(), other, part, plan.items, grid, axes)
    for mid in got:
        for field in ("value", "cell_key"):
            assert np.array_equal(getattr(got[mid], field), getattr(want[mid], field)), mid
    check_against_oracle(eng, plan, grid, got)
