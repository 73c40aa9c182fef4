"""The bench cannot flatter: each floor computes the same cells as the engine.

For every query of ``bench.queries.MIX`` the engine answers its base measures
(``BenchQuery.checked``) with every disclosure rule off (no threshold, dominance or p %
suppression, no perturbation: the true values), and the floor's SQL gives the same measures
for each of its cells. Both sides must hold the same multiset of value rows: one row per
non-empty cell, its values rounded as the engine publishes them (a floor grouping other
cells — merged age bands, a missing filter, distinct persons where the engine adds years —
changes the multiset). Cells
are matched by their values, not their member codes: the floors group by the fact tables'
integer keys, which only the engine decodes.

    python -m bench.cells [--home DIR] [--scale 0.1] [QUERY ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections import Counter
from typing import Any

import duckdb

from bench.queries import MIX, BenchQuery
from cube.engine import Engine
from cube.model import Catalog, load_catalog
from loaders.releases import Release, current_release


def open_catalog(catalog: Catalog | None = None) -> Catalog:
    """The model with every disclosure rule off: published values are the true values."""
    cat = catalog or load_catalog()
    cubes = {
        cid: dataclasses.replace(
            c,
            policy=dataclasses.replace(
                c.policy,
                threshold=0,
                p_percent=0.0,
                dominance_k=100.0,
                perturb=False,
                rounding_base=None,
                measure_overrides=(),
            ),
        )
        for cid, c in cat.cubes.items()
    }
    return dataclasses.replace(cat, cubes=cubes)


def unprotected_engine(release: Release) -> Engine:
    return Engine.open(release, catalog=open_catalog(), answer_cache_size=0, query_timeout_s=600)


def _row(values: list[Any], decimals: list[int]) -> tuple[float, ...] | None:
    """The values as the engine publishes them (rounded to each measure's decimals, Python's
    ``round`` as ``cube/assemble.py``); ``None`` for an empty cell."""
    out = tuple(float(round(float(v or 0), d)) for v, d in zip(values, decimals, strict=True))
    return out if any(out) else None


def _decimals(engine: Engine, bq: BenchQuery) -> list[int]:
    out = []
    for ref in bq.checked[0]:
        other, _, mid = ref.rpartition(".")
        out.append(engine.catalog.cubes[other or bq.query.cube].measure(mid).decimals)
    return out


def engine_rows(engine: Engine, bq: BenchQuery) -> Counter[tuple[float, ...]]:
    measures, _ = bq.checked
    query = dataclasses.replace(
        bq.query, measures=measures, derived=(), ranking=None, order=(), limit=None, offset=0
    )
    answer = engine.answer(query)
    decimals = _decimals(engine, bq)
    rows = (_row([v.value for v in r.values], decimals) for r in answer.rows)
    return Counter(r for r in rows if r is not None)


def floor_rows(
    engine: Engine, con: duckdb.DuckDBPyConnection, bq: BenchQuery
) -> Counter[tuple[float, ...]]:
    measures, sql = bq.checked
    k, decimals = len(measures), _decimals(engine, bq)
    rows = (_row(list(r[-k:]), decimals) for r in con.execute(sql).fetchall())
    return Counter(r for r in rows if r is not None)


def check(engine: Engine, con: duckdb.DuckDBPyConnection, bq: BenchQuery) -> dict[str, Any]:
    """``equal`` and, when not, how many rows either side has that the other lacks."""
    mine, floor = engine_rows(engine, bq), floor_rows(engine, con, bq)
    return {
        "query": bq.name,
        "cells": sum(mine.values()),
        "floor_cells": sum(floor.values()),
        "equal": mine == floor,
        "only_engine": sum((mine - floor).values()),
        "only_floor": sum((floor - mine).values()),
    }


def check_all(release: Release, names: list[str] | None = None) -> list[dict[str, Any]]:
    engine = unprotected_engine(release)
    con = duckdb.connect(str(release.db_path), read_only=True)
    try:
        return [check(engine, con, bq) for bq in MIX if not names or bq.name in names]
    finally:
        con.close()
        engine.close()


def main(argv: list[str] | None = None) -> int:
    from bench.run import bench_home

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("queries", nargs="*")
    ap.add_argument("--home", help="bench data home (as bench.run)")
    ap.add_argument("--scale", type=float, default=0.1)
    args = ap.parse_args(argv)
    release = current_release(bench_home(args.home) / f"{args.scale:g}")
    if release is None:
        raise SystemExit("no release at that scale: run bench.run --scale first")
    results = check_all(release, args.queries)
    for r in results:
        state = "equal" if r["equal"] else f"DIFFERENT (+{r['only_engine']} -{r['only_floor']})"
        print(f"{r['query']:<28} {r['cells']:>7} cells  {state}")
    return 0 if all(r["equal"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
