"""Dashboard latency on Spark: the bench mix on DuckDB and on Spark over the release's Parquet
export (facts and rollups), with the answers compared cell for cell.

    python -m bench.spark --home HOME [--master local[2]|sc://host:port] [--conf spark.k=v]
        [--out FILE]

The release must have an export (``zicht export``, with rollups when the release has them).
Per query: "first" is the query as the mix asks it (the first time this engine sees its shape),
"cold" the same shape with other members (another gemeente, provincie or year), as a dashboard
user meets it when moving to a new gemeente. Both engines answer both; a Spark answer must equal
DuckDB's in every status, reason and value. The Spark session (a JVM for a local master) is
started and warmed on one small query before timing; its start-up is reported apart.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

from bench.compare import export_options, exported_release, pairs, timed
from bench.queries import MIX, sibling
from cube.engine import Engine
from loaders.releases import data_home


def run(
    home: Path, master: str, timeout_s: float, conf: dict[str, str] | None = None
) -> dict[str, Any]:
    release, entry = exported_release(home, "zicht export")
    options = {"master": master, **export_options(entry), "spark.sql.shuffle.partitions": "4"}
    if not master.startswith("sc://"):  # a server's own settings: a Connect client cannot set
        options["spark.ui.enabled"] = "false"
    options.update(conf or {})
    duck = Engine.open(release, query_timeout_s=timeout_s, answer_cache_size=0)
    start = time.perf_counter()
    spark = Engine.open(
        release,
        query_timeout_s=timeout_s,
        answer_cache_size=0,
        backend="spark",
        backend_options=options,
    )
    warm_q = MIX[0].query
    timed(spark, sibling(sibling(warm_q)))  # the JVM's first statements compile code
    startup = time.perf_counter() - start
    rows: list[dict[str, Any]] = []
    for _, both in pairs(duck, spark):
        for p in both:
            rows.append(
                {
                    "query": p.query,
                    "kind": p.kind,
                    "duckdb_s": p.duckdb_s,
                    "spark_s": p.other_s,
                    "spark_error": p.error,
                    "same": p.same,
                    "cells": p.cells,
                }
            )
            print(
                f"{p.query:<34}{p.kind:<6} duckdb {p.duckdb_s:7.3f} s  spark {p.other_s:7.3f} s  "
                f"{'same' if p.same else p.error or 'DIFFERENT'}",
                flush=True,
            )
    spark.close()
    duck.close()
    times = [r["spark_s"] for r in rows if not r["spark_error"]]
    return {
        "release": release.id,
        "master": master,
        "conf": conf or {},
        "load_average": os.getloadavg(),
        "spark_startup_s": round(startup, 1),
        "exported_rollups": len(entry.rollups),
        "median_spark_s": round(statistics.median(times), 3) if times else None,
        "worst_spark_s": round(max(times), 3) if times else None,
        "median_duckdb_s": round(statistics.median(r["duckdb_s"] for r in rows), 4),
        "over_limit": sum(1 for r in rows if r["spark_error"]),
        "different": sum(1 for r in rows if not r["same"] and not r["spark_error"]),
        "queries": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", required=True)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--timeout", type=float, default=10.0, help="the service's default")
    parser.add_argument("--out", type=Path)
    parser.add_argument(
        "--conf", action="append", default=[], help="spark.key=value for the session (repeatable)"
    )
    args = parser.parse_args()
    conf = dict(item.split("=", 1) for item in args.conf)
    result = run(data_home(args.home), args.master, args.timeout, conf)
    summary = {k: v for k, v in result.items() if k != "queries"}
    print(json.dumps(summary, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
