"""Latency on DataFusion: the bench mix on DuckDB and on DataFusion over the release's Parquet
export (facts and rollups), every answer compared cell for cell.

    python -m bench.datafusion --home HOME [--repeat N] [--partitions N] [--out FILE]

The release must have an export in clear keys (``zicht export --clear-keys``, with rollups when
the release has them). Per query: "first" is the query as the mix asks it (compiled on first
sight), "cold" the same shape with other members, then the query again ``--repeat`` times (SQL
compiled, no answer cache: the statements' run time); both engines answer each, in turn, and a
DataFusion answer must equal DuckDB's in every status, reason and value. The load average is
taken before and after: on a shared machine the figures are only as good as it was quiet.
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
from cube.engine import Engine
from loaders.releases import data_home


def _median(engine: Engine, query: Any, repeat: int) -> float:
    return statistics.median(timed(engine, query)[0] for _ in range(repeat))


def run(home: Path, repeat: int, partitions: int, timeout_s: float) -> dict[str, Any]:
    release, entry = exported_release(home, "zicht export --clear-keys")
    options = {
        **export_options(entry),
        "encrypted_columns": ",".join(entry.encrypted_columns),
        "target_partitions": str(partitions),
    }
    load_before = os.getloadavg()
    duck = Engine.open(release, query_timeout_s=timeout_s, answer_cache_size=0)
    start = time.perf_counter()
    other = Engine.open(
        release,
        query_timeout_s=timeout_s,
        answer_cache_size=0,
        backend="datafusion",
        backend_options=options,
    )
    opened = time.perf_counter() - start
    rows: list[dict[str, Any]] = []
    for bq, both in pairs(duck, other):
        row: dict[str, Any] = {"query": bq.name}
        for p in both:
            row[f"{p.kind}_duckdb_s"], row[f"{p.kind}_datafusion_s"] = p.duckdb_s, p.other_s
            row[f"{p.kind}_same"] = p.same
            if p.error:
                row[f"{p.kind}_error"] = p.error
        row["median_duckdb_s"] = round(_median(duck, bq.query, repeat), 4)
        row["median_datafusion_s"] = round(_median(other, bq.query, repeat), 4)
        rows.append(row)
        print(
            f"{bq.name:<34} duckdb {row['median_duckdb_s']:7.3f} s  datafusion "
            f"{row['median_datafusion_s']:7.3f} s  "
            f"{'same' if row['first_same'] and row['cold_same'] else 'DIFFERENT'}",
            flush=True,
        )
    other.close()
    duck.close()
    ratios = [r["median_datafusion_s"] / max(r["median_duckdb_s"], 1e-6) for r in rows]
    return {
        "release": release.id,
        "repeat": repeat,
        "target_partitions": partitions,
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "open_s": round(opened, 3),
        "median_duckdb_s": round(statistics.median(r["median_duckdb_s"] for r in rows), 4),
        "median_datafusion_s": round(statistics.median(r["median_datafusion_s"] for r in rows), 4),
        "median_ratio": round(statistics.median(ratios), 2),
        "worst_datafusion_s": max(r["median_datafusion_s"] for r in rows),
        "different": sum(1 for r in rows if not (r["first_same"] and r["cold_same"])),
        "queries": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", required=True)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--partitions", type=int, default=2, help="DataFusion target_partitions")
    parser.add_argument("--timeout", type=float, default=10.0, help="the service's default")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    result = run(data_home(args.home), args.repeat, args.partitions, args.timeout)
    print(json.dumps({k: v for k, v in result.items() if k != "queries"}, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
