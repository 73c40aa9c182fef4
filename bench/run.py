"""`make bench`: the national-scale benchmark, in one run on one machine.

    python -m bench.run [--scale 0.1 --scale 0.3 --scale 1] [--home DIR] [--repeat 5]
                        [--http-seconds 10] [--skip-http] [--skip-acro] [--out FILE]

For each scale it builds (once) or reuses a demo release in the bench data home
(``$ZICHT_BENCH_HOME`` or ``~/.cache/zicht-bench``, never the repository), then for each query
of ``bench.queries.MIX`` times the hand-written DuckDB floor and ``answer()`` (full disclosure
control) three ways, all as medians: *first* (nothing cached: the query's shape is compiled
too), *cold* (the answer and the query's SQL not cached, its shape compiled by the same query
with other members — another gemeente, provincie or year, ``bench.queries.sibling`` — as in a
running service where dashboard queries repeat with new members) and *cached*. Every floor is
checked to give the engine's unprotected cells (``bench.cells``). A release without rollups
gets them first (``zicht rollups``). At the largest scale
it also drives ``zicht serve`` with ``wrk`` (1, 8, 32 connections, cached and uncached) and
builds the same disclosure-checked table with acro (``bench.acro_check``). Prints tables and
writes everything as JSON to ``bench/results/`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb

from bench.queries import MIX, BenchQuery, sibling
from cube.engine import Engine
from cube.rollups import attach as attach_rollups
from loaders.releases import current_release

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SCALES = (0.1, 0.3, 1.0)


def bench_home(arg: str | None) -> Path:
    home = arg or os.environ.get("ZICHT_BENCH_HOME") or "~/.cache/zicht-bench"
    path = Path(home).expanduser().resolve()
    if path.is_relative_to(ROOT):
        raise SystemExit(f"the bench home must lie outside the repository: {path}")
    return path


def ensure_release(root: Path, scale: float) -> Path:
    """The data home of ``scale`` with a current release, built by ``zicht demo`` if missing."""
    home = root / f"{scale:g}"
    home.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    cmd = [sys.executable, "-m", "service.cli", "--home", str(home), "demo"]
    cmd += ["--scale", f"{scale:g}", "--if-missing", "--first-year", "2015"]
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    release = current_release(home)
    if release is not None and not _rollups_usable(release):  # missing, or of an older layout
        cmd = [sys.executable, "-m", "service.cli", "--home", str(home), "rollups"]
        subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    took = time.monotonic() - began
    if took > 30:
        print(f"built the scale {scale:g} release in {took:.0f} s", file=sys.stderr)
    return home


def _rollups_usable(release: Any) -> bool:
    """Whether the engine would answer from the release's rollup file as it is."""
    con = duckdb.connect()
    try:
        return bool(attach_rollups(con, release.db_path, release.id))
    finally:
        con.close()


def _times_ms(fn: Any, repeat: int) -> tuple[float, float]:
    """Median and best of ``repeat`` runs: on a shared machine the best shows what the code
    costs, the median what a user saw."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), min(times)


def time_query(
    engine: Engine, con: duckdb.DuckDBPyConnection, bq: BenchQuery, repeat: int
) -> dict[str, Any]:
    """Floor, cold and cached medians (ms) of one query; one warm-up run of each first."""
    con.execute(bq.floor).arrow()  # warm DuckDB's buffers for both sides alike

    def first() -> Any:  # nothing cached: the query's shape is compiled too
        engine.template_cache.clear()
        return uncached()

    def uncached() -> Any:  # the answer and the query's SQL not cached
        engine.answer_cache.clear()
        engine.sql_cache.clear()
        return engine.answer(bq.query)

    answer = first()
    floor, floor_best = _times_ms(lambda: con.execute(bq.floor).arrow(), repeat)
    first_ms, _ = _times_ms(first, repeat)
    # cold: the shape compiled by the same query with *other* members (another gemeente,
    # provincie, year), as in a service where dashboard queries repeat with new members
    other = sibling(bq.query)
    engine.template_cache.clear()
    engine.answer(other)
    cold_ms, cold_best = _times_ms(uncached, repeat)
    cached_ms, _ = _times_ms(lambda: engine.answer(bq.query), max(50, repeat * 20))
    cells = answer.report["cells"]
    suppressed = answer.report["values_by_status"].get("suppressed", 0)
    return {
        "query": bq.name,
        "what": bq.what,
        "cells": cells,
        "suppressed_values": suppressed,
        "floor_ms": round(floor, 3),
        "cold_ms": round(cold_ms, 3),
        "first_ms": round(first_ms, 3),
        "first_ratio": round(first_ms / floor, 3),
        "cached_ms": round(cached_ms, 4),
        "ratio": round(cold_ms / floor, 3),
        "floor_best_ms": round(floor_best, 3),
        "cold_best_ms": round(cold_best, 3),
        "ratio_best": round(cold_best / floor_best, 3),
        "stages_ms": dict(answer.timings),
        "cold_after_other_members": other != bq.query,
    }


def geomean(xs: list[float]) -> float:
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def bench_scale(root: Path, scale: float, repeat: int) -> dict[str, Any]:
    home = ensure_release(root, scale)
    release = current_release(home)
    engine = Engine.open(release)
    con = duckdb.connect(str(release.db_path), read_only=True)
    try:
        rows = [time_query(engine, con, bq, repeat) for bq in MIX]
        facts = _fact_rows(con)
    finally:
        con.close()
        engine.close()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    from bench.cells import check_all

    cells_check = check_all(release)
    for c in cells_check:
        if not c["equal"]:
            print(f"FLOOR DIFFERS from the engine's unprotected cells: {c}", file=sys.stderr)
    ratios = [r["ratio"] for r in rows]
    from bench.info_loss import information_loss, print_loss

    loss = information_loss(release)
    print_loss(loss)
    return {
        "information_loss": loss,
        "scale": scale,
        "load_average_after": os.getloadavg(),  # other work on the machine skews the timings
        "home": str(home),
        "release": release.id,
        "fact_rows": facts,
        "bench_process_peak_rss_mib": round(peak_mib, 1),
        "floors_equal_engine": all(c["equal"] for c in cells_check),
        "cells_check": cells_check,
        "queries": rows,
        "geomean_ratio": round(geomean(ratios), 3),
        "worst_ratio": max(ratios),
        "geomean_ratio_best": round(geomean([r["ratio_best"] for r in rows]), 3),
        "geomean_first_ratio": round(geomean([r["first_ratio"] for r in rows]), 3),
        "worst_first_ratio": max(r["first_ratio"] for r in rows),
        "geomean_floor_ms": round(geomean([r["floor_ms"] for r in rows]), 3),
        "geomean_cold_ms": round(geomean([r["cold_ms"] for r in rows]), 3),
        "geomean_cached_ms": round(geomean([r["cached_ms"] for r in rows]), 4),
        "max_cached_ms": max(r["cached_ms"] for r in rows),
    }


def _fact_rows(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    tables = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'fact_%'"
    ).fetchall()
    out = {}
    for (name,) in sorted(tables):
        row = con.execute(f'SELECT count(*) FROM "{name}"').fetchone()
        out[name] = int(row[0]) if row else 0
    return out


def print_scale(res: dict[str, Any]) -> None:
    rows = sum(res["fact_rows"].values())
    load = ", ".join(f"{x:.1f}" for x in res["load_average_after"])
    print(f"\nscale {res['scale']:g}: release {res['release']}, {rows:,} fact rows, load {load}")
    print(
        f"{'query':<24} {'cells':>6} {'floor ms':>9} {'cold ms':>9} {'ratio':>6} "
        f"{'first ms':>9} {'ratio':>6} {'cached ms':>10}"
    )
    for r in res["queries"]:
        print(
            f"{r['query']:<24} {r['cells']:>6} {r['floor_ms']:>9.1f} {r['cold_ms']:>9.1f} "
            f"{r['ratio']:>6.2f} {r['first_ms']:>9.1f} {r['first_ratio']:>6.2f} "
            f"{r['cached_ms']:>10.4f}"
        )
    print(
        f"{'geometric mean':<24} {'':>6} {res['geomean_floor_ms']:>9.1f} "
        f"{res['geomean_cold_ms']:>9.1f} {res['geomean_ratio']:>6.2f} {'':>9} "
        f"{res['geomean_first_ratio']:>6.2f} {res['geomean_cached_ms']:>10.4f}"
    )
    print(
        f"worst ratio: cold {res['worst_ratio']:.2f}, first {res['worst_first_ratio']:.2f}; "
        f"geometric mean of the best runs' ratios: {res['geomean_ratio_best']:.2f}"
    )
    print(
        "cold = the answer and the query's SQL not cached, its shape compiled by the same "
        "query with other members; first = nothing cached"
    )
    same = sum(c["equal"] for c in res["cells_check"])
    print(
        f"floors equal to the engine's unprotected cells: {same} of {len(res['cells_check'])}; "
        f"bench process peak memory {res['bench_process_peak_rss_mib']:.0f} MiB"
    )


def scaling(scales: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Cost growth against data growth, relative to the smallest scale."""
    base = scales[0]
    out = []
    for s in scales:
        data = sum(s["fact_rows"].values()) / sum(base["fact_rows"].values())
        out.append(
            {
                "scale": s["scale"],
                "data_growth": round(data, 2),
                "floor_growth": round(s["geomean_floor_ms"] / base["geomean_floor_ms"], 2),
                "cold_growth": round(s["geomean_cold_ms"] / base["geomean_cold_ms"], 2),
            }
        )
    return out


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem, 1),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "os": platform.platform(),
        "load_average_at_start": os.getloadavg(),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, action="append", help=f"repeatable; default {SCALES}")
    ap.add_argument("--home", help="bench data home (default $ZICHT_BENCH_HOME or ~/.cache/...)")
    ap.add_argument("--repeat", type=int, default=5, help="timed runs per query (median)")
    ap.add_argument("--http-seconds", type=float, default=10.0)
    ap.add_argument("--skip-http", action="store_true")
    ap.add_argument("--skip-acro", action="store_true")
    ap.add_argument("--out", help="result JSON (default bench/results/bench-<time>.json)")
    args = ap.parse_args(argv)
    root = bench_home(args.home)
    scales = sorted(args.scale or SCALES)
    result: dict[str, Any] = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    result["machine"] = machine()
    result["scales"] = []
    for scale in scales:
        res = bench_scale(root, scale, args.repeat)
        print_scale(res)
        result["scales"].append(res)
    result["scaling"] = scaling(result["scales"])
    print("\nscaling (relative to the smallest scale):", json.dumps(result["scaling"]))
    largest = root / f"{scales[-1]:g}"
    if not args.skip_http:
        from bench.http_load import http_bench

        result["http"] = http_bench(largest, args.http_seconds)
    if not args.skip_acro:
        from bench.acro_check import acro_bench

        result["acro"] = acro_bench(root, [root / f"{s:g}" for s in reversed(scales)])
    out = Path(args.out) if args.out else RESULTS / f"bench-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"\nresults written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
