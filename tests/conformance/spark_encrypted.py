"""Answers from an encrypted export, read by a Spark driver of its own (a JVM started with the
test KMS client on its class path; run by test_conformance_encrypted in a subprocess, since a
process has one in-process driver and the other conformance tests hold it).

    python -m tests.conformance.spark_encrypted RELEASE_DIR OPTIONS_JSON

Prints one JSON line: the queries answered equal to the embedded engine, and those that
differ or failed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench.compare import comparable
from cube.engine import Engine
from loaders.releases import get_release
from tests.conformance.test_conformance_answers import QUERIES

# One query per fact table, and rollups where DuckDB has them: every encrypted column is read.
CHECKED = (
    "population-gemeente-year-margins",
    "suspects-two-roles-margins",
    "transactions-amount-margins",
    "plantations-plants-income",
    "dwellings-owner-type-margins",
    "companies-sector-exclusion",
)


def main(release_dir: str, options_json: str) -> None:
    path = Path(release_dir)
    release = get_release(path.parents[1], path.name)
    options = json.loads(options_json)
    reference = Engine.open(release, query_timeout_s=600)
    spark = Engine.open(release, query_timeout_s=600, backend="spark", backend_options=options)
    equal, different = [], []
    for name in CHECKED:
        try:
            same = comparable(spark.answer(QUERIES[name])) == comparable(
                reference.answer(QUERIES[name])
            )
        except Exception as exc:  # reported to the test, which fails on it
            different.append(f"{name}: {type(exc).__name__}: {str(exc)[:300]}")
            continue
        (equal if same else different).append(name)
    spark.close()
    reference.close()
    print(json.dumps({"equal": equal, "different": different, "rollups": len(spark.rollups)}))


if __name__ == "__main__":
    main(*sys.argv[1:3])
