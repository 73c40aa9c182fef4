"""Where a bench query's time goes: floor, cold answer, its stages and each SQL statement.

    python -m bench.profile [--home DIR] [--scale 1] [--repeat 5] [--first] [QUERY ...]

For each query of ``bench.queries.MIX`` (default: all) prints the best floor and cold times,
the stage timings of the best cold run (``Answer.timings``: plan, grid, execute, protect,
derive, assemble) and the time of every SQL statement the engine ran. ``--first`` clears the
compiled shapes too (nothing cached). Uses the bench home of ``bench.run``.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import duckdb

from bench.queries import MIX
from bench.run import bench_home
from cube import execute
from cube.engine import Engine
from loaders.releases import current_release


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("queries", nargs="*", help="names from bench/queries.py (default: all)")
    ap.add_argument("--home", help="bench data home (as bench.run)")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--first", action="store_true", help="also clear the compiled shapes")
    args = ap.parse_args(argv)
    unknown = set(args.queries) - {q.name for q in MIX}
    if unknown:
        raise SystemExit(f"unknown queries: {sorted(unknown)}")
    release = current_release(bench_home(args.home) / f"{args.scale:g}")
    if release is None:
        raise SystemExit("no release at that scale: run `make bench` (or bench.run --scale) first")
    engine = Engine.open(release)
    con = duckdb.connect(str(release.db_path), read_only=True)
    statements: list[float] = []
    fetch = execute.fetch_columns

    def timed_fetch(backend: Any, sql: str) -> dict[str, Any]:
        start = time.perf_counter()
        try:
            return fetch(backend, sql)
        finally:
            statements.append((time.perf_counter() - start) * 1000)

    execute.fetch_columns = timed_fetch  # type: ignore[assignment]
    try:
        for bq in MIX:
            if args.queries and bq.name not in args.queries:
                continue
            con.execute(bq.floor).arrow()
            floor = min(
                _time(lambda q=bq: con.execute(q.floor).arrow()) for _ in range(args.repeat)
            )
            engine.answer(bq.query)  # compiles the shape
            best: tuple[float, Any, list[float]] = (float("inf"), None, [])
            for _ in range(args.repeat):
                engine.answer_cache.clear()
                engine.sql_cache.clear()
                if args.first:
                    engine.template_cache.clear()
                statements.clear()
                start = time.perf_counter()
                answer = engine.answer(bq.query)
                took = (time.perf_counter() - start) * 1000
                if took < best[0]:
                    best = (took, answer, list(statements))
            took, answer, sql = best
            stages = ", ".join(f"{k} {v:.1f}" for k, v in answer.timings.items())
            print(
                f"{bq.name:<24} floor {floor:7.1f} ms  cold {took:7.1f} ms  "
                f"x{took / floor:5.2f}\n    stages (ms): {stages}\n"
                f"    SQL statements (ms): {', '.join(f'{t:.1f}' for t in sql)}"
            )
    finally:
        execute.fetch_columns = fetch  # type: ignore[assignment]
        con.close()
        engine.close()
    return 0


def _time(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


if __name__ == "__main__":
    sys.exit(main())
