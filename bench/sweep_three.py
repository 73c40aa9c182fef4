"""Three items with margins: every cube's region level x two of its other items (each at its
finest level), one year, ``totals: margins``, the tables where secondary suppression has no
flows or rectangles and its LPs have a budget. Reports time and information loss.

    python -m bench.sweep_three --home ~/.cache/zicht-bench/0.1 [--level gemeente]
                                [--year 2023] [--out F]

Each query is answered with nothing of it cached. Per query: seconds, cells, values
published, values suppressed and of those the secondaries (suppressed for another cell's
sake: the information loss secondary suppression adds). In all: the total time, the
slowest query, the suppressed and secondary values. Queries over the cell limit are
skipped (counted); any other error is reported and exits 1.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path
from typing import Any

from bench.random_mix import finish
from cube.engine import Engine
from cube.errors import TooManyCells
from cube.query import Cut, Query
from loaders.releases import current_release


def queries(engine: Engine, level: str = "gemeente", year: str = "2023") -> list[Query]:
    """Per cube, its first region role at ``level`` x every pair of its other items (not
    period), each at its finest level; counts and sums; margins; one year."""
    out = []
    offered = {c["id"] for c in engine.cubes()}
    for cube in engine.catalog.cubes.values():
        if cube.id not in offered:
            continue
        base = tuple(m.id for m in cube.measures if m.kind in ("count", "sum"))
        cuts = tuple(Cut(r.id, "year", (year,)) for r in cube.roles if r.dimension.id == "period")
        regions = [r for r in cube.roles if r.dimension.id == "region"]
        others = [r for r in cube.roles if r.dimension.id not in ("region", "period")]
        if not regions or not base:
            continue
        region = regions[0]
        if level not in _levels(region):
            continue
        for a, b in itertools.combinations(others, 2):
            items = (f"{region.id}@{level}", f"{a.id}@{_levels(a)[-1]}", f"{b.id}@{_levels(b)[-1]}")
            out.append(Query(cube.id, base, items, cuts, totals="margins"))
    return out


def _levels(role: Any) -> tuple[str, ...]:
    return role.levels or tuple(lv.id for lv in role.dimension.levels)


def run(engine: Engine, qs: list[Query]) -> list[dict[str, Any]]:
    records = []
    for q in qs:
        engine.answer_cache.clear()
        engine.sql_cache.clear()
        record: dict[str, Any] = {"query": f"{q.cube}: {' x '.join(q.drilldown)}"}
        start = time.perf_counter()
        try:
            answer = engine.answer(q)
        except TooManyCells:
            record["status"] = "too_many_cells"
            records.append(record)
            continue
        except Exception as exc:  # what this bench is for: report, go on
            record["status"] = f"error: {type(exc).__name__}"
            records.append(record)
            continue
        seconds = time.perf_counter() - start
        values = [v for row in answer.rows for v in row[2]]
        suppressed = [v for v in values if v.status == "suppressed" and v.reason != "derived"]
        record |= {
            "status": "ok",
            "seconds": round(seconds, 3),
            "cells": answer.total_rows,
            "values": len(values),
            "suppressed": len(suppressed),
            "secondary": sum(1 for v in suppressed if v.reason == "secondary"),
        }
        records.append(record)
    return records


def summary(records: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [r for r in records if r["status"] == "ok"]
    slowest = max(ok, key=lambda r: r["seconds"], default=None)
    return {
        "queries": len(records),
        "answered": len(ok),
        "over_cell_limit": sum(1 for r in records if r["status"] == "too_many_cells"),
        "errors": [r for r in records if r["status"].startswith("error")],
        "seconds": round(sum(r["seconds"] for r in ok), 2),
        "slowest": slowest,
        "values": sum(r["values"] for r in ok),
        "suppressed": sum(r["suppressed"] for r in ok),
        "secondary": sum(r["secondary"] for r in ok),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", required=True, help="a zicht home with a current release")
    ap.add_argument("--level", default="gemeente")
    ap.add_argument("--year", default="2023")
    ap.add_argument("--out", help="write every record and the summary as JSON here")
    args = ap.parse_args(argv)
    release = current_release(Path(args.home))
    if release is None:
        raise SystemExit(f"no release in {args.home}")
    # a measurement of protection, not of the limit: nothing is refused for time
    engine = Engine.open(release, query_timeout_s=3600)
    try:
        records = run(engine, queries(engine, args.level, args.year))
    finally:
        engine.close()
    result = {"release": release.id, "level": args.level, "year": args.year, **summary(records)}
    slow = result["slowest"]
    print(
        f"{result['answered']} of {result['queries']} answered ({result['over_cell_limit']} "
        f"over the cell limit, {len(result['errors'])} errors) in {result['seconds']} s; "
        f"slowest {slow['seconds'] if slow else '-'} s ({slow['query'] if slow else '-'}); "
        f"{result['suppressed']} of {result['values']} values suppressed, "
        f"{result['secondary']} of them secondary"
    )
    return finish(result, records, args.out)


if __name__ == "__main__":
    sys.exit(1 if main()["errors"] else 0)
