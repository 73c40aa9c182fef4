"""answer(): protection on every path, totals, combinations, ordering, paging and errors."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from cube.errors import InvalidQuery, TooManyCells
from cube.query import Cut, Derived, Order, Query, Ranking
from cube.result import Row, Summary

YEAR_2023 = Cut("period", "year", ("2023",))


def test_published_counts_are_zero_or_at_least_the_threshold(engine):
    a = engine.answer(
        Query(
            "drug_suspects",
            ("suspects", "registrations"),
            ("residence@buurt", "period@year"),
            totals="margins",
        )
    )
    threshold = engine.catalog.cubes["drug_suspects"].policy.threshold
    values = [v for row in a.rows for v in row.values]
    assert any(v.status == "suppressed" for v in values)
    for v in values:
        if v.status == "suppressed":
            assert v.value is None and v.reason in (
                "threshold",
                "secondary",
                "dominance",
                "p_percent",
            )
        else:
            assert v.value == 0 or v.value >= threshold


def test_total_rows_are_marked_and_report_counts_cells(engine):
    a = engine.answer(
        Query("population", ("inhabitants",), ("region@gemeente", "period@year"), totals="margins")
    )
    totals = [r for r in a.rows if r.is_total]
    assert totals and all(r.members[1] is not None for r in a.rows)  # no total over years
    assert all(r.labels[0] == "Totaal" for r in totals)
    assert a.summary.cells == a.total_rows == len(a.rows)
    assert sum(a.summary.by_status.values()) == a.total_rows
    assert a.summary == Summary.count(a.rows, a.summary.policy, a.summary.parts)
    # Rows are the named tuple with its three fields, whatever builds them.
    assert all(type(r) is Row and len(r) == 3 for r in a.rows)
    first = a.rows[0]
    assert len(first.members) == len(first.labels) == 2 and len(first.values) == 1


def test_empty_cells_appear_with_zero(engine):
    a = engine.answer(
        Query(
            "plantations",
            ("plantations",),
            ("region@buurt",),
            cuts=(Cut("region", "gemeente", ("GM0362",)),),
        )
    )
    assert [r.members[0] for r in a.rows] == ["BU03620101"]  # no plantation there
    assert a.rows[0].values[0].value == 0 and a.rows[0].values[0].status == "safe"


def test_derived_measure_is_suppressed_when_a_component_is(engine):
    a = engine.answer(
        Query(
            "drug_suspects",
            ("suspects", "suspects_per_10k_inhabitants"),
            ("residence@buurt",),
            cuts=(YEAR_2023,),
        )
    )
    for row in a.rows:
        count, rate = row.values
        if count.status == "suppressed":
            assert rate.status == "suppressed" and rate.reason == "derived"


def test_combination_equals_manual_join_of_protected_answers(engine):
    combo = engine.answer(
        Query(
            "plantations",
            ("plantations", "plantations_per_100k_inhabitants", "population.inhabitants"),
            ("region@gemeente", "period@year"),
        )
    )
    pop = engine.answer(Query("population", ("inhabitants",), ("region@gemeente", "period@year")))
    plant = engine.answer(
        Query("plantations", ("plantations",), ("region@gemeente", "period@year"))
    )
    inhabitants = {r.members: r.values[0].value for r in pop.rows}
    plantations = {r.members: r.values[0].value for r in plant.rows}
    checked = 0
    for row in combo.rows:
        count, rate, inh = row.values
        assert count.value == plantations[row.members]  # same cells, same noise
        assert inh.value == inhabitants[row.members]
        if rate.value is not None:
            assert math.isclose(rate.value, round(count.value / inh.value * 100_000, 1))
            checked += 1
    assert checked > 0


def test_adhoc_ratio_and_ranking(engine):
    q = Query(
        "dwellings",
        ("dwellings", "doorsluis_dwellings", "woz_mean"),
        ("region@wijk",),
        cuts=(YEAR_2023,),
        derived=(Derived("doorsluis_per_dwelling", "doorsluis_dwellings", "dwellings", 1.0),),
        ranking=Ranking(("dwellings", "woz_mean"), "rank"),
    )
    a = engine.answer(q)
    ids = [m.id for m in a.measures]
    assert ids[-2:] == ["doorsluis_per_dwelling", "composite"]
    ranks = sorted(r.values[-1].value for r in a.rows if r.values[-1].value is not None)
    assert ranks and ranks[0] >= 1


def test_order_limit_offset_and_truncated(engine):
    base = Query(
        "population",
        ("inhabitants",),
        ("region@buurt",),
        cuts=(YEAR_2023,),
        order=(Order("inhabitants", desc=True),),
    )
    full = engine.answer(base)
    values = [r.values[0].value for r in full.rows if r.values[0].value is not None]
    assert values == sorted(values, reverse=True)
    page = engine.answer(replace(base, limit=2, offset=1))
    assert page.truncated and len(page.rows) == 2 and page.total_rows == full.total_rows
    assert page.rows == full.rows[1:3]
    assert not engine.answer(replace(base, limit=10_000)).truncated


def test_every_problem_is_reported_at_once(engine):
    q = Query(
        "drug_suspects",
        ("suspects", "nope"),
        ("residence@gemeente", "colour@hue"),
        cuts=(Cut("residence", "gemeente", ("GM9999",)), Cut("period", "year", from_="2030")),
        totals="margins",
    )
    with pytest.raises(InvalidQuery) as err:
        engine.answer(q)
    locations = {p.location for p in err.value.problems}
    assert {"measures[1]", "drilldown[1]", "cuts[0]", "cuts[1]"} <= locations


def test_unknown_cube_and_stock_without_year_are_refused(engine):
    with pytest.raises(InvalidQuery):
        engine.answer(Query("nope", ("x",)))
    with pytest.raises(InvalidQuery) as err:
        engine.answer(Query("population", ("inhabitants",), ("region@gemeente",)))
    assert "period@year" in err.value.problems[0].message


def test_too_many_cells_is_refused(engine):
    from cube.engine import Engine

    small = Engine(engine.release, engine.catalog, engine._con, max_cells=10, query_timeout_s=5)
    with pytest.raises(TooManyCells):
        small.answer(Query("population", ("inhabitants",), ("region@buurt", "period@year")))


def test_same_cell_same_value_from_different_queries(engine):
    """Cell key method: a cell reached through other queries is published identically."""
    a = engine.answer(
        Query(
            "transactions",
            ("transactions",),
            ("region@gemeente",),
            cuts=(Cut("period", "year", ("2022",)),),
        )
    )
    b = engine.answer(
        Query(
            "transactions", ("transactions",), ("region@gemeente", "period@year"), totals="margins"
        )
    )
    by_a = {r.members[0]: r.values[0] for r in a.rows}
    compared = 0
    for r in b.rows:
        if (
            r.members[1] == "2022"
            and r.members[0]
            and by_a[r.members[0]].status != "suppressed"
            and r.values[0].status != "suppressed"
        ):
            assert r.values[0].value == by_a[r.members[0]].value
            compared += 1
    assert compared > 0


def test_english_labels(engine):
    a = engine.answer(Query("drug_suspects", ("suspects",), ("drug_type",), lang="en"))
    assert a.measures[0].label == "Suspects"
    assert "Cannabis" in [r.labels[0] for r in a.rows]


def test_rounding_option_rounds_published_values(engine):
    q = Query(
        "population",
        ("inhabitants",),
        ("region@buurt",),
        cuts=(YEAR_2023,),
        options=(("rounding", "5"),),
    )
    values = [r.values[0].value for r in engine.answer(q).rows if r.values[0].value is not None]
    assert values and all(v % 5 == 0 for v in values)
    with pytest.raises(InvalidQuery) as err:
        engine.answer(replace(q, options=(("rounding", "3"), ("colour", "red"))))
    assert {p.location for p in err.value.problems} == {"options.rounding", "options.colour"}


def test_a_query_over_its_time_limit_is_stopped_with_a_clear_error(engine):
    from cube.backend import Interrupted
    from cube.engine import Engine
    from cube.errors import QueryTimeout

    slow = Engine(
        engine.release, engine.catalog, engine._con, max_cells=100_000, query_timeout_s=0.05
    )

    class Sleepy:
        """A backend whose statement runs until interrupted (the engine's timer fires)."""

        name = "sleepy"

        def __init__(self):
            import threading

            self.stop = threading.Event()

        def rows(self, sql):
            if not self.stop.wait(5):
                raise AssertionError("the time limit did not interrupt the statement")
            raise Interrupted

        def interrupt(self):
            self.stop.set()

    slow.backend_factory = lambda eng: Sleepy()
    with pytest.raises(QueryTimeout) as err:
        slow.answer(Query("population", ("inhabitants",), ("region@gemeente", "period@year")))
    assert err.value.error_type == "query_timeout" and "SELECT" not in err.value.message


def test_an_answer_whose_protection_runs_past_the_limit_is_refused_too(engine, monkeypatch):
    """The SQL is interrupted at the limit; protection, which nothing interrupts, ends the
    answer when it finishes past it: the limit is the query's, not only its SQL's."""
    import time

    from cube import answer as answer_module
    from cube.engine import Engine
    from cube.errors import QueryTimeout

    limited = Engine(
        engine.release, engine.catalog, engine._con, max_cells=100_000, query_timeout_s=0.3
    )
    year = (Cut("period", "year", ("2023",)),)
    query = Query("population", ("inhabitants",), ("region@gemeente",), year, totals="margins")
    assert limited.answer(query).rows  # well within the limit
    protect = answer_module.protect_parts

    def slow_protect(*args):
        time.sleep(0.4)
        return protect(*args)

    monkeypatch.setattr(answer_module, "protect_parts", slow_protect)
    limited.answer_cache.clear()
    with pytest.raises(QueryTimeout) as err:
        limited.answer(query)
    assert err.value.error_type == "query_timeout" and "0.3 s" in err.value.message


def test_duckdb_statements_are_really_interrupted(engine):
    import threading

    from cube.backend import DuckDbBackend, Interrupted

    backend = DuckDbBackend(engine._con.cursor())
    timer = threading.Timer(0.1, backend.interrupt)
    timer.start()
    with pytest.raises(Interrupted):
        backend.rows("SELECT count(*) FROM range(1000000000000) a")  # hours if not stopped


def test_change_alone_and_adhoc_ratio_with_another_cubes_denominator(engine):
    """Regressions found by the service's random queries: both used to raise KeyError."""
    a = engine.answer(Query("drug_suspects", ("change_suspects",), ("period@year",)))
    b = engine.answer(Query("drug_suspects", ("suspects",), ("period@year",)))
    counts = {r.members[0]: r.values[0].value for r in b.rows}
    change = {r.members[0]: r.values[0] for r in a.rows}
    assert change["2023"].value == round(
        (counts["2023"] - counts["2022"]) / counts["2022"] * 100, 1
    )
    r = engine.answer(
        Query(
            "drug_suspects",
            ("suspects",),
            ("residence@gemeente",),
            cuts=(YEAR_2023,),
            derived=(Derived("r", "suspects", "population.inhabitants", 1000),),
        )
    )
    assert [m.id for m in r.measures] == ["suspects", "r"]


def test_measures_of_other_cubes_keep_their_prefix(engine):
    a = engine.answer(
        Query(
            "plantations",
            ("plantations", "population.inhabitants"),
            ("region@gemeente",),
            cuts=(YEAR_2023,),
        )
    )
    assert [m.id for m in a.measures] == ["plantations", "population.inhabitants"]


def test_a_query_without_drilldown_is_one_grand_total(engine):
    a = engine.answer(Query("drug_suspects", ("suspects", "registrations"), ()))
    assert len(a.rows) == 1 and a.rows[0].members == ()
    assert a.rows[0].values[0].status in ("safe", "perturbed", "suppressed")


def test_order_and_page_problems_come_with_the_others_before_any_sql(engine, monkeypatch):
    """Every name is resolved in the planner: a bad order is reported with an unknown measure,
    in one error, and nothing is executed."""
    import cube.answer

    def never(*args):
        raise AssertionError("SQL ran for an invalid query")

    monkeypatch.setattr(cube.answer, "execute_parts", never)
    query = Query(
        "drug_suspects",
        ("suspects", "nonsense"),
        ("residence@gemeente",),
        order=(Order("suspects"), Order("nowhere", True)),
        limit=-1,
    )
    with pytest.raises(InvalidQuery) as exc:
        engine.answer(query)
    where = [p.location for p in exc.value.problems]
    assert where == ["measures[1]", "order[1]", "limit"], exc.value.problems


def test_order_by_item_measure_and_derived(engine):
    query = Query(
        "drug_suspects",
        ("suspects", "registrations"),
        ("residence@gemeente",),
        cuts=(YEAR_2023,),
        derived=(Derived("per_suspect", "registrations", "suspects"),),
        order=(Order("per_suspect", True), Order("residence")),
    )
    rows = engine.answer(query).rows
    shown = [r.values[2].value for r in rows]
    known = [v for v in shown if v is not None]
    assert known == sorted(known, reverse=True) and shown[: len(known)] == known


def test_an_engine_without_an_answer_cache_keeps_no_answer(release):
    from cube.engine import Engine

    eng = Engine.open(release, answer_cache_size=0, rollups=False)
    try:
        query = Query("population", ("inhabitants",), ("region@gemeente",), (YEAR_2023,))
        first, second = eng.answer(query), eng.answer(query)
        assert first is not second and first.rows == second.rows
        assert len(eng.answer_cache) == 0
    finally:
        eng.close()


@pytest.mark.parametrize(("limit", "offset"), [(None, 0), (3, 0), (4, 2), (0, 0), (5, 10_000)])
def test_the_summary_counts_the_published_page(engine, limit, offset):
    query = Query(
        "drug_suspects",
        ("suspects", "registrations"),
        ("residence@gemeente", "period@year"),
        totals="margins",
        limit=limit,
        offset=offset,
    )
    a = engine.answer(query)
    assert a.summary == Summary.count(a.rows, "default", a.summary.parts)
    assert a.summary.cells == 2 * len(a.rows)


@pytest.mark.parametrize("level", ["year", "quarter"])
def test_a_changes_previous_periods_add_up_to_their_total(either_engine, monkeypatch, level):
    """A change reads its base of the previous year as of a year later; without a period cut
    the rows of the last year used to land past the answer's periods yet count in the total
    over periods, so that table did not add up (and its protection could fail outright)."""
    import cube.answer as answer_module

    tables = {}
    real = answer_module.protect_parts

    def capture(plan, grid, results):
        tables.update(results)
        return real(plan, grid, results)

    monkeypatch.setattr(answer_module, "protect_parts", capture)
    either_engine.answer_cache.clear()
    either_engine.answer(
        Query("drug_suspects", ("change_suspects",), (f"period@{level}",), totals="margins")
    )
    shifted = tables[("drug_suspects", -1)]
    stats = shifted.stats["suspects"]  # distinct suspects: their rows are what adds up
    value = stats.value if stats.additive_value is None else stats.additive_value
    total = shifted.grid[:, 0] == -1
    assert total.sum() == 1 and (~total).sum() > 1
    assert value[total][0] == value[~total].sum() > 0


@pytest.mark.parametrize("totals", ["grand", "margins"])
def test_every_table_protected_adds_up_where_another_cube_has_members_the_answer_lacks(
    engine, monkeypatch, totals
):
    """Plantations per 100k inhabitants beside drug suspects by sex: plantations know
    residents of unknown sex, drug suspects do not. The plantations part's total over sex
    counts those rows, so its table must hold them as (hidden) cells: every table handed to
    protection adds up, total = sum of parts, or secondary suppression reasons about sums
    that are not (it found no pattern at all: ``AuditError``; protection now refuses such a
    table where a cell must be protected)."""
    seen = _tables_protected(monkeypatch)
    year = Cut("period", "year", ("2023",))
    query = Query(
        "drug_suspects",
        ("suspects", "plantations.plantations_per_100k_inhabitants"),
        ("sex@sex", "residence@gemeente"),
        (year,),
        totals=totals,
    )
    answer = engine.answer(query)
    hidden = engine.answer(Query("plantations", ("plantations",), ("resident_sex@sex",), (year,)))
    assert any(r.members[0] == "unknown" and r.values[0].value for r in hidden.rows)
    assert len(seen) >= 2 and answer.rows
    for table in seen:
        _assert_adds_up(table, repr(query))


def _tables_protected(monkeypatch) -> list:
    """Every cell table handed to protection from now on (filled as answers run)."""
    import cube.protect as cube_protect

    seen = []
    protect = cube_protect.protect

    def kept(table, policy):
        seen.append(table)
        return protect(table, policy)

    monkeypatch.setattr(cube_protect, "protect", kept)
    return seen


def _assert_adds_up(table, where: str) -> None:
    from sdc.relations import build_relations

    if not (np.asarray(table.coords) < 0).any():
        return  # no total: no relation
    rel = build_relations(table)
    for name, stats in table.measures.items():
        # what secondary suppression reads: a distinct count's rows, which add up
        value = stats.value if stats.additive_value is None else stats.additive_value
        off = np.abs(rel.matrix @ np.asarray(value, dtype=np.float64)).max(initial=0.0)
        assert off <= 1e-6 * max(1.0, float(np.abs(value).max(initial=0.0))), (name, where)


def test_every_table_protected_adds_up_over_wide_random_draws(engine, monkeypatch):
    """Every form of the query contract (``bench.random_mix --wide``): custom groups,
    measures of other cubes, changes, stocks over years; every table handed to protection
    adds up."""
    from bench.random_mix import Draw
    from cube.errors import UserError

    seen = _tables_protected(monkeypatch)
    draw, checked = Draw(engine, 8, wide=True), 0
    for _ in range(150):
        query = draw.query()
        seen.clear()
        engine.answer_cache.clear()
        try:
            engine.answer(query)
        except UserError:
            continue
        for table in seen:
            _assert_adds_up(table, repr(query))
        checked += len(seen)
    assert checked >= 150


def test_a_cut_leaves_out_the_hidden_members_of_another_cubes_part(engine, monkeypatch):
    """Drug suspects who are men, with plantations per 100k inhabitants: the plantations part
    reads the rows of men only, so it holds no cell of unknown sex (which would be empty)."""
    import cube.run as cube_run

    grids = []
    part_grid = cube_run._part_grid

    def kept(ctx, plan, grid, part):
        got = part_grid(ctx, plan, grid, part)
        grids.append((part.cube.id, got[0]))
        return got

    monkeypatch.setattr(cube_run, "_part_grid", kept)
    year = Cut("period", "year", ("2023",))
    query = Query(
        "drug_suspects",
        ("suspects", "plantations.plantations_per_100k_inhabitants"),
        ("sex@sex",),
        (year, Cut("sex", "sex", ("M",))),
        totals="grand",
    )
    engine.answer(query)
    (plantations,) = [g for cube, g in grids if cube == "plantations"]
    assert sorted(map(tuple, plantations.tolist())) == [(-1,), (0,)]
    first = len(grids)
    engine.answer(replace(query, cuts=(year,)))
    (plantations,) = [g for cube, g in grids[first:] if cube == "plantations"]
    assert len(plantations) == 4  # men, women, unknown (hidden) and the total


def test_the_reports_of_several_tiles_are_merged_into_one():
    """A region group tiled at several levels protects one table per level: the audit log
    gets one report per part, its counts added and its smallest figures the smallest."""
    from cube.answer import _merged

    one = {
        "drug_suspects": {
            "policy": "default",
            "by_status": {"safe": 3, "suppressed": 1},
            "risk": {"smallest_published_contributors": 12, "lp_audits": 1},
        }
    }
    two = {
        "drug_suspects": {
            "policy": "default",
            "by_status": {"safe": 2, "perturbed": 4},
            "risk": {"smallest_published_contributors": None, "lp_audits": 2},
        },
        "population": {"policy": "default", "by_status": {"safe": 1}},
    }
    assert _merged(one, two) == {
        "drug_suspects": {
            "policy": "default",
            "by_status": {"safe": 5, "suppressed": 1, "perturbed": 4},
            "risk": {"smallest_published_contributors": 12, "lp_audits": 3},
        },
        "population": {"policy": "default", "by_status": {"safe": 1}},
    }
    assert _merged({}, two) == two


def test_the_tiles_of_a_group_share_the_answers_one_time_limit(engine, monkeypatch):
    """A region group tiled at two levels runs two plans: the second gets what the first
    left of the limit, and once nothing is left the answer stops with the limit's message."""
    import time

    import cube.answer as driver
    from cube.errors import QueryTimeout

    query = Query(
        "drug_suspects",
        ("suspects",),
        (),
        (
            Cut("residence", "wijk", members=("WK001400",), exclude=True),
            Cut("period", "year", members=("2023",)),
        ),
    )
    given: list[float] = []
    run = driver.execute_parts

    def slow(ctx, caches, backend, timeout_s, plan, grid):
        given.append(timeout_s)
        time.sleep(pause)
        return run(ctx, caches, backend, timeout_s, plan, grid)

    monkeypatch.setattr(driver, "execute_parts", slow)
    args = (engine.context, engine.caches, engine.backend())
    pause = 0.3
    driver.answer(*args, 2.0, query)
    assert len(given) == 2 and given[0] <= 2.0 and given[1] <= 2.0 - pause
    given.clear()
    pause = 1.2
    with pytest.raises(QueryTimeout, match="longer than 1 s"):
        driver.answer(*args, 1.0, query)
    assert len(given) == 1
