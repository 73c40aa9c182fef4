"""Risk monitor: differencing, near-identical walks, small-cell sweeps."""

from __future__ import annotations

from hypothesis import given, settings

from cube.query import Cut, Query
from cube.result import Answer, MeasureInfo, Row, Summary, Value
from service.monitor import RiskMonitor, answer_population, query_id
from service.schemas import canonical
from tests.service.answer_cases import COUNTS, answers

COUNT = (MeasureInfo("suspects", "Verdachten", "persons", "count"),)


def answer(query: Query, total: float | None, suppressed: int = 0) -> Answer:
    rows = [Row((), (), (Value(total, "perturbed"),))]
    rows += [Row((), (), (Value(None, "suppressed", "threshold"),)) for _ in range(suppressed)]
    return Answer(query, "r", (), COUNT, tuple(rows), len(rows), False, Summary.count(rows, "p"))


def q(*members: str, level: str = "gemeente") -> Query:
    return Query("drug_suspects", ("suspects",), cuts=(Cut("residence", level, members=members),))


def observe(mon, client, query, total, suppressed=0):
    return mon.observe(
        client, query, canonical(query), answer(query, total, suppressed), suppressed
    )


def test_differencing_flagged_only_below_threshold_and_per_client():
    mon = RiskMonitor(threshold=10, window=50, similar_limit=100, small_cell_limit=1000)
    assert observe(mon, "a", q("GM0363", "GM0599"), 1000.0) == []
    assert observe(mon, "b", q("GM0363"), 996.0) == []  # another client: no pair
    assert observe(mon, "a", q("GM0363", "GM0518"), 1500.0) == []  # differs by 500
    flags = observe(mon, "a", q("GM0363"), 995.0)
    assert [f.kind for f in flags] == ["differencing"]
    assert "995" not in flags[0].message and "1000" not in flags[0].message
    assert mon.summary()["flags"]["differencing"] == 1
    flag = mon.flags(client="a")[0]
    assert flag["kind"] == "differencing"
    assert flag["queries"] == [
        query_id(canonical(q("GM0363", "GM0599"))),
        query_id(canonical(q("GM0363"))),
    ]


def test_same_query_twice_is_not_differencing():
    mon = RiskMonitor(10, 50, 100, 1000)
    observe(mon, "a", q("GM0363"), 100.0)
    assert observe(mon, "a", q("GM0363"), 100.0) == []


def test_near_identical_walk_over_members():
    mon = RiskMonitor(threshold=1, window=50, similar_limit=5, small_cell_limit=1000)
    kinds = [f.kind for i in range(5) for f in observe(mon, "a", q(f"GM{i:04d}"), 100.0 * (i + 1))]
    assert kinds == ["near_identical"]


def test_small_cell_sweep():
    mon = RiskMonitor(threshold=1, window=50, similar_limit=1000, small_cell_limit=10)
    kinds = [
        f.kind for i in range(4) for f in observe(mon, "a", q("GM0363", level=f"l{i}"), None, 4)
    ]
    assert kinds == ["small_cell_sweep"]


def test_population_from_grand_total_or_published_cells():
    query = Query("c", ("suspects",), ("residence@gemeente",), totals="grand")
    rows = (
        Row(("GM1",), ("x",), (Value(5.0, "perturbed"),)),
        Row(("GM2",), ("y",), (Value(9.0, "suppressed", "threshold"),)),
        Row((None,), (None,), (Value(30.0, "perturbed"),)),
    )
    a = Answer(query, "r", query.drilldown, COUNT, rows, 3, False, Summary.count(rows, "p"))
    assert answer_population(a) == 30.0
    b = Answer(query, "r", query.drilldown, COUNT, rows[:2], 2, False, Summary.count(rows[:2], "p"))
    assert answer_population(b) == 5.0  # the suppressed cell's value is not used


def _population_row_by_row(answer: Answer) -> float | None:
    """The rule read row by row: the first grand total row's published count, else the sum of
    the published counts of the rows that are not totals."""
    if not answer.measures:
        return None
    shown = [None if r.values[0].status == "suppressed" else r.values[0].value for r in answer.rows]
    for row, v in zip(answer.rows, shown, strict=True):
        if all(m is None for m in row.members):
            return v
    kept = [v for r, v in zip(answer.rows, shown, strict=True) if not r.is_total and v is not None]
    return float(sum(kept)) if kept else None


@settings(max_examples=300, deadline=None)
@given(answers(COUNTS))
def test_population_read_from_columns_follows_the_rows(answer):
    assert answer_population(answer) == _population_row_by_row(answer)
