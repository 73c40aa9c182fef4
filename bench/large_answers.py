"""Large answers as users get them: the mix's export-sized query (inhabitants by buurt x 5-year
age band x year within a gemeente, three years) for Amsterdam and other gemeenten, each asked
once (new members: the answer and its SQL not cached, the shape compiled by a gemeente asked
before), timed in the engine, in every format's writer and over HTTP.

    python -m bench.large_answers --home ~/.cache/zicht-bench/0.1 [--gemeenten 12]
                                  [--years 2022-2024] [--skip-http] [--out F]

In the process: ``answer()`` and then each format rendered from that answer (the writers of
``service.formats``), each step after a full garbage collection (so that one the step before
left due does not land in it). Over HTTP: ``zicht serve`` on the same release, every gemeente
asked once per format with a page large enough for every row (``limit``), so each request runs
the engine, the writer and the service's bookkeeping (answer cache, risk monitor, audit).
Reported per gemeente and as the median over the others; Amsterdam (41,700 rows at every
scale) apart.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench.http_latency import Server, timed
from bench.http_load import get_path
from bench.queries import GM, MIX
from cube.engine import Engine
from cube.query import Cut, Query
from loaders.releases import current_release
from service.formats import SERIALISERS, render

QUERY = next(b.query for b in MIX if b.name == "buurt_age_year")
HTTP_FORMATS = ("json", "csv", "sdmx-csv")
LIMIT = 100_000  # a page holding every row


YEARS = (str(QUERY.cuts[1].from_), str(QUERY.cuts[1].to))  # the mix's three years


def of_gemeente(code: str, years: tuple[str, str] = YEARS) -> Query:
    """The export-sized query within gemeente ``code`` over ``years`` (first, last)."""
    period = Cut("period", "year", from_=years[0], to=years[1])
    return replace(QUERY, cuts=(Cut("region", "gemeente", (code,)), period))


def gemeenten(engine: Engine, n: int) -> list[str]:
    """Amsterdam first, then the ``n - 1`` other gemeenten with the most buurten."""
    buurten, _ = engine.members("population", "region", "buurt", limit=1_000_000)
    count = Counter(b["parents"].get("gemeente") for b in buurten)
    largest = sorted((g for g in count if g and g != GM), key=lambda g: (-count[g], g))
    return [GM, *largest[: n - 1]]


def in_process(engine: Engine, codes: list[str], years: tuple[str, str]) -> list[dict[str, Any]]:
    """Per gemeente: rows, ``answer()`` ms and each format's writer ms. One gemeente asked
    first, not reported: the shape is compiled, pyarrow imported."""
    warm = engine.answer(of_gemeente(codes[-1], years))
    for fmt in SERIALISERS:
        render(warm, fmt)
    out = []
    for code in codes:
        engine.answer_cache.clear()
        engine.sql_cache.clear()
        gc.collect()
        start = time.perf_counter()
        answer = engine.answer(of_gemeente(code, years))
        row: dict[str, Any] = {
            "gemeente": code,
            "rows": len(answer.rows),
            "answer_ms": round((time.perf_counter() - start) * 1000, 2),
        }
        for fmt in SERIALISERS:
            gc.collect()
            start = time.perf_counter()
            body = render(answer, fmt)
            row[f"{fmt}_ms"] = round((time.perf_counter() - start) * 1000, 2)
            row[f"{fmt}_bytes"] = len(body)
        out.append(row)
    return out


def over_http(home: Path, codes: list[str], years: tuple[str, str]) -> list[dict[str, Any]]:
    """Per gemeente and format: the ms of one GET (nothing of it cached), status 200 asserted."""
    server = Server(str(home), 8, quiet=True)
    try:
        server.wait_ready()
        conn = server.connect()
        try:
            timed(conn, get_path(of_gemeente(codes[-1], years)) + f"&limit={LIMIT}")  # the shape
            out = []
            for code in codes:
                row: dict[str, Any] = {"gemeente": code}
                for fmt in HTTP_FORMATS:
                    path = get_path(of_gemeente(code, years)) + f"&limit={LIMIT}&format={fmt}"
                    ms, status = timed(conn, path)
                    if status != 200:
                        raise SystemExit(f"{code} as {fmt}: HTTP {status}")
                    row[f"{fmt}_ms"] = round(ms, 1)
                out.append(row)
            return out
        finally:
            conn.close()
    finally:
        server.stop()


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Amsterdam's figures and the median of the others' for every measured field."""
    first, others = rows[0], rows[1:]
    fields = [k for k in first if k != "gemeente"]
    return {
        "amsterdam": {k: first[k] for k in fields},
        "others_median": {k: statistics.median(r[k] for r in others) for k in fields}
        if others
        else {},
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--home", type=Path, required=True)
    ap.add_argument("--gemeenten", type=int, default=12)
    ap.add_argument("--years", default="-".join(YEARS), help="first-last (default: the mix's)")
    ap.add_argument("--skip-http", action="store_true")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    first, _, last = args.years.partition("-")
    years = (first, last or first)
    engine = Engine.open(current_release(args.home))
    try:
        codes = gemeenten(engine, args.gemeenten)
        result: dict[str, Any] = {"home": str(args.home), "gemeenten": codes, "years": list(years)}
        result["process"] = summary(in_process(engine, codes, years))
    finally:
        engine.close()
    if not args.skip_http:
        result["http"] = summary(over_http(args.home, codes, years))
    print(json.dumps(result, indent=1))
    if args.out:
        args.out.write_text(json.dumps(result, indent=1) + "\n")
    return result


if __name__ == "__main__":
    main()
