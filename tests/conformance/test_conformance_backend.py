"""The ``Backend`` contract on every backend: names and rows of a statement, engine semantics
the planner relies on, and ``interrupt()`` stopping a running statement."""

from __future__ import annotations

import threading
import time

from cube.backend import Interrupted

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


def test_interrupt_stops_a_running_statement(backend_engine):
    # a cross join of 6 billion rows: far slower than the wait below. Not bigger: a Spark task
    # in a generated join loop does not look at its kill flag, so a cancelled job's tasks run on
    # to the end in the background (the query itself returns at once) and must end by themselves
    sql = (
        "SELECT count(*) AS n FROM fact_population a, fact_population b, "
        "fact_population c WHERE a.age + b.age + c.age < 0"
    )
    outcome: list[BaseException | None] = []

    def run():
        backend = backend_engine.backend()
        ready.append(backend)
        try:
            backend.rows(sql)
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    ready: list = []
    worker = threading.Thread(target=run)
    worker.start()
    while not ready:
        time.sleep(0.05)
    time.sleep(0.5)  # the job may not be submitted yet: interrupt() must still stop it
    start = time.monotonic()
    ready[0].interrupt()
    worker.join(timeout=60)
    assert not worker.is_alive()
    assert outcome and isinstance(outcome[0], Interrupted)
    assert time.monotonic() - start < 60
