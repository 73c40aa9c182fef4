"""Where a bench query's time goes: floor, cold answer, its stages and each SQL statement.

    python -m bench.profile [--home DIR] [--scale 1] [--repeat 5] [--first] [QUERY ...]
    python -m bench.profile --statements [--repeat 30] [QUERY ...]

For each query of ``bench.queries.MIX`` (default: all) prints the best floor and cold times,
the stage timings of the best cold run (``Answer.timings``: plan, grid, execute, protect,
derive, assemble) and the time of every SQL statement the engine ran. ``--first`` clears the
compiled shapes too (nothing cached). Uses the bench home of ``bench.run``.

``--statements`` splits the cold answer instead, in rounds that take turns (each round: the
floor, the cold answer, the engine's statements run alone as DuckDB runs them, the same
statements prepared once and executed): medians over ``--repeat`` rounds. What the
statements take alone is the least the answer can take with DuckDB planning each statement
anew; the prepared ones show how much of that is planning; the rest of the answer is Python
(planning the query, protecting, assembling).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import duckdb

from bench.queries import MIX
from bench.run import bench_home
from cube import execute
from cube.backend import executed_text
from cube.engine import Engine
from loaders.releases import current_release


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("queries", nargs="*", help="names from bench/queries.py (default: all)")
    ap.add_argument("--home", help="bench data home (as bench.run)")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--first", action="store_true", help="also clear the compiled shapes")
    ap.add_argument(
        "--statements", action="store_true", help="split the cold answer (medians of rounds)"
    )
    args = ap.parse_args(argv)
    unknown = set(args.queries) - {q.name for q in MIX}
    if unknown:
        raise SystemExit(f"unknown queries: {sorted(unknown)}")
    release = current_release(bench_home(args.home) / f"{args.scale:g}")
    if release is None:
        raise SystemExit("no release at that scale: run `make bench` (or bench.run --scale) first")
    engine = Engine.open(release)
    con = duckdb.connect(str(release.db_path), read_only=True)
    try:
        for bq in MIX:
            if args.queries and bq.name not in args.queries:
                continue
            if args.statements:
                print(split_line(bq.name, split(engine, con, bq, args.repeat)))
            else:
                print(best_cold(engine, con, bq, args.repeat, args.first))
    finally:
        con.close()
        engine.close()
    return 0


def best_cold(
    engine: Engine, con: duckdb.DuckDBPyConnection, bq: Any, repeat: int, first: bool
) -> str:
    """The best floor and cold times of ``repeat`` runs, the best run's stages and the time of
    each of its statements (``first``: the compiled shapes cleared too), as printed."""
    con.execute(bq.floor).arrow()
    floor = min(_time(lambda: con.execute(bq.floor).arrow()) for _ in range(repeat))
    engine.answer(bq.query)  # compiles the shape
    statements: list[float] = []
    best: tuple[float, Any, list[float]] = (float("inf"), None, [])
    with _each_statement(lambda sql, ms: statements.append(ms)):
        for _ in range(repeat):
            engine.answer_cache.clear()
            engine.sql_cache.clear()
            if first:
                engine.template_cache.clear()
            statements.clear()
            start = time.perf_counter()
            answer = engine.answer(bq.query)
            took = (time.perf_counter() - start) * 1000
            if took < best[0]:
                best = (took, answer, list(statements))
    took, answer, sql = best
    stages = ", ".join(f"{k} {v:.1f}" for k, v in answer.timings.items())
    return (
        f"{bq.name:<24} floor {floor:7.1f} ms  cold {took:7.1f} ms  "
        f"x{took / floor:5.2f}\n    stages (ms): {stages}\n"
        f"    SQL statements (ms): {', '.join(f'{t:.1f}' for t in sql)}"
    )


@contextmanager
def _each_statement(seen: Callable[[Any, float], None]) -> Iterator[None]:
    """While open, every statement the engine runs is given to ``seen`` after it ran, with
    its time in ms."""
    fetch = execute.fetch_columns

    def watched(backend: Any, sql: Any) -> dict[str, Any]:
        start = time.perf_counter()
        try:
            return fetch(backend, sql)
        finally:
            seen(sql, (time.perf_counter() - start) * 1000)

    execute.fetch_columns = watched  # type: ignore[assignment]
    try:
        yield
    finally:
        execute.fetch_columns = fetch  # type: ignore[assignment]


def cold_statements(engine: Engine, query: Any) -> list[str]:
    """The texts DuckDB runs for ``query`` answered cold: its shape compiled by a first
    answer, then the answer and its SQL no longer cached."""
    texts: list[str] = []
    engine.answer(query)  # compiles the shape
    engine.answer_cache.clear()
    engine.sql_cache.clear()
    # recorded after each run: the statement knows its list columns then
    with _each_statement(lambda sql, ms: texts.append(executed_text(sql))):
        engine.answer(query)
    return texts


def split(engine: Engine, con: duckdb.DuckDBPyConnection, bq: Any, rounds: int) -> dict:
    """Medians (ms) over ``rounds`` rounds of the floor, the cold answer (its shape compiled),
    its statements run alone on ``con`` and the same statements prepared on ``con``."""
    texts = cold_statements(engine, bq.query)
    names: list[str] = []
    try:
        for text in texts:
            con.execute(f"PREPARE zicht_profile_{len(names)} AS {text}")
            names.append(f"zicht_profile_{len(names)}")
        runs: dict[str, list[float]] = {k: [] for k in ("floor", "answer", "alone", "prepared")}
        for _ in range(rounds + 1):  # the first round warms up and is dropped
            runs["floor"].append(_time(lambda: con.execute(bq.floor).fetchnumpy()))
            engine.answer_cache.clear()
            engine.sql_cache.clear()
            runs["answer"].append(_time(lambda: engine.answer(bq.query)))
            runs["alone"].append(sum(_time(lambda t=t: con.execute(t).fetchnumpy()) for t in texts))
            runs["prepared"].append(
                sum(_time(lambda n=n: con.execute(f"EXECUTE {n}").fetchnumpy()) for n in names)
            )
    finally:
        for name in names:
            con.execute(f"DEALLOCATE {name}")
    return {k: statistics.median(v[1:]) for k, v in runs.items()} | {"statements": len(texts)}


def split_line(name: str, m: dict) -> str:
    floor = m["floor"]
    return (
        f"{name:<26} floor {floor:6.2f} ms  answer {m['answer']:6.2f} (x{m['answer'] / floor:4.1f})"
        f"  statements alone {m['alone']:6.2f} (x{m['alone'] / floor:4.1f})"
        f"  prepared {m['prepared']:6.2f} (x{m['prepared'] / floor:4.1f})"
        f"  rest {m['answer'] - m['alone']:6.2f}  [{m['statements']} statement(s)]"
    )


def _time(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


if __name__ == "__main__":
    sys.exit(main())
