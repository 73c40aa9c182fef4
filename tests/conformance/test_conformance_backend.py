"""The ``Backend`` contract on every backend: names and rows of a statement, engine semantics
the planner relies on, and ``interrupt()`` stopping a running statement."""

from __future__ import annotations

import threading
import time

import pytest

from bench.compare import comparable
from cube.backend import Interrupted
from tests.conformance.conftest import open_engine
from tests.conformance.test_conformance_answers import QUERIES

# Spark's in-process client (py4j) opens a connection per thread that calls it and can leave
# one for the garbage collector to close, in whichever later test it runs: not this project's.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning"
)

# Semantics the planner's SQL depends on, on rows where the engines could differ: NULLs,
# negative operands, grouping bits with an extra grouping column, top-n with a filter.
PROBE = """
WITH t AS (
  SELECT a, b, CAST(x AS DOUBLE) AS x, h
  FROM (VALUES (1, -7, 2.5, 10), (1, 7, NULL, 11), (2, -8, 4.0, NULL), (2, 9, 1.0, 12))
    AS v(a, b, x, h)
)
SELECT a, GROUPING(a, h) AS g, count(*) FILTER (WHERE x > 1) AS n,
       max(x, 2) FILTER (WHERE b < 8) AS top, sum(b % 3) AS m, sum(b / 2) AS d,
       least(max(x), 3) AS l, CAST(sum(h) % 7 AS BIGINT) AS k
FROM t GROUP BY GROUPING SETS ((a, h), (a), ())
"""


def _normal(rows):
    out = []
    for row in rows:
        top = row[3] or []  # an empty top-n: NULL on DuckDB, [] on Spark (read alike)
        out.append((row[0], row[1], row[2], list(top), *row[4:]))
    return sorted(out, key=repr)


def test_engine_semantics_match(reference, backend_engine):
    names, rows = backend_engine.backend().rows(PROBE)
    want_names, want = reference.backend().rows(PROBE)
    assert names == want_names
    assert _normal(rows) == _normal(want)
    assert len(rows) == 7  # 4 (a, h) + 2 (a) + 1 ()


@pytest.mark.parametrize("kept", [{(1,)}, {()}, {(0,), (1,)}])
def test_a_holding_pass_over_some_grouping_sets_matches(reference, backend_engine, kept):
    """A refinement's holding pass over some of its grouping sets (``cube.sql.only_sets``:
    an item no kept set groups by is NULL, its grouping bit a constant) gives the reference's
    statistics in their cells, on the facts of every backend."""
    import numpy as np

    from cube import run
    from cube.execute import Cells, stats
    from cube.plan import cell_grid, make_plan
    from cube.query import Cut, Query
    from cube.sql import only_sets
    from cube.strategies import BY_NAME

    query = Query(
        "dwellings",
        ("dwellings",),
        ("region@gemeente", "owner_type"),
        (Cut("period", "year", ("2023",)),),
        totals="margins",
    )
    out = []
    for eng in (reference, backend_engine):
        plan = make_plan(query, eng.catalog, eng.axes_for, eng.store, eng.max_cells)
        (part,) = plan.parts
        axes = eng.axes_for(plan.cube)
        grid = cell_grid(list(plan.items), plan.grouping_sets, axes, plan.masks)
        sql = BY_NAME["bounds"].compile(run.target(eng.context, plan, part))
        statement = only_sets(sql.holding, kept).bind(where=None)
        result = Cells.of(part, plan.items, grid, axes).result(eng.backend(), statement)
        out.append((grid, stats(result, sql.columns, 0, holding=True)))
    (grid, want), (_, got) = out
    inside = np.array([tuple(np.flatnonzero(row >= 0)) in kept for row in grid])
    assert inside.any() and not inside.all()
    for field in ("n", "c", "key", "x1", "x2"):
        a, b = (np.ma.filled(x[field], -1)[inside] for x in (want, got))
        assert np.array_equal(a, b), field


def _run_and_interrupt(engine, sql: str, after: float) -> BaseException | None:
    """Start ``sql`` on a thread and call ``interrupt()`` after ``after`` s: its outcome."""
    outcome: list[BaseException | None] = []
    ready: list = []

    def run():
        backend = engine.backend()
        ready.append(backend)
        try:
            backend.rows(sql)
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    while not ready:
        time.sleep(0.01)
    time.sleep(after)  # the job may not be submitted yet: interrupt() must still stop it
    if worker.is_alive():
        ready[0].interrupt()
    worker.join(timeout=60)
    assert not worker.is_alive(), "interrupt() did not stop the statement within 60 s"
    return outcome[0] if outcome else None


def test_interrupt_stops_a_running_statement(backend_engine):
    # A cross join sized up until it is still running when interrupted. Sized, not huge: a
    # Spark task in a generated join loop does not look at its kill flag, so a cancelled job's
    # running tasks go on in the background and must end soon by themselves, or they hold the
    # executor slots every later test needs.
    for rows in (10, 40, 160, 640, 2560):
        sql = (
            "SELECT count(*) AS n FROM fact_population a, fact_population b, "
            f"(SELECT age FROM fact_population LIMIT {rows}) c "
            "WHERE a.age + b.age + c.age < 0"
        )
        outcome = _run_and_interrupt(backend_engine, sql, after=0.5)
        if outcome is None:
            continue  # finished before the interrupt: the machine is fast, size it up
        assert isinstance(outcome, Interrupted), repr(outcome)
        return
    raise AssertionError("even the largest statement finished before it could be interrupted")


def test_an_engine_closed_leaves_another_on_the_same_export_answering(
    conformance_release, backend_options, backend_engine, reference
):
    """A service reopening its release (a reload, a switch back) closes the old engine after
    the new one opened: on an in-process driver both share one Spark session, and the old
    engine's views must not be the new one's."""
    query = QUERIES["population-gemeente-year-margins"]
    open_engine(conformance_release, *backend_options).close()
    assert comparable(backend_engine.answer(query)) == comparable(reference.answer(query))


def test_threads_answering_at_once_get_the_reference_answers(backend_engine, reference):
    """The service answers from several threads on one engine: each thread's backend shares
    the engine's session (Spark's, DataFusion's) and must not mix up statements or results."""
    names = ("population-gemeente-year-margins", "transactions-amount-margins", "suspects-change")
    want = {name: comparable(reference.answer(QUERIES[name])) for name in names}
    got: list[tuple[str, bool]] = []

    def ask(offset: int) -> None:
        for name in names[offset:] + names[:offset]:
            got.append((name, comparable(backend_engine.answer(QUERIES[name])) == want[name]))

    workers = [threading.Thread(target=ask, args=(i,)) for i in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=600)
    assert len(got) == 9 and all(same for _, same in got), got


def test_a_query_over_its_time_limit_is_stopped_with_query_timeout(
    conformance_release, backend_options
):
    from cube.errors import QueryTimeout

    engine = open_engine(conformance_release, *backend_options)
    engine.query_timeout_s = 0.001
    try:
        with pytest.raises(QueryTimeout):
            engine.answer(QUERIES["dwellings-owner-type-margins"])
    finally:
        engine.close()
