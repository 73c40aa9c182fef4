"""Protect time against cells (1k -> 100k) of two-way tables with margins: bench.sdc_scaling.

Synthetic tables of the engine's two-item answers: regions (skewed sizes, like wijken) x 21
sectors (like SBI sections) or x 100 single ages, with every margin; about 10 records per cell,
a count and an employees-like amount (lognormal). Per size: CPU seconds of ``protect`` (both
measures, median of ``--repeat``), the suppressed share and the cost of the secondaries (sum
of their values), *after* (``protect`` as it runs) and *before* (secondary suppression with
LP audits over whole components only, the method without rectangles and sub-tables). The
exponent is the least-squares slope of log time on log cells.

``--seeds K`` also protects K more random tables of the largest size per family (seeds 1..K)
and reports each one's time: one table's figure may be a lucky or an unlucky draw (a cell that
only an LP over a whole 40k-cell component shows to need another suppression costs seconds).

CPU time of this process, not wall time: on a shared machine wall time mostly measures the
neighbours (the solver runs single-threaded). State the load average with any figure.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from sdc import status as st
from sdc.policy import Policy
from sdc.protect import primary_suppression, protect
from sdc.reference import cell_table_from_records
from sdc.relations import build_relations
from sdc.secondary import cell_rank, suppress
from sdc.table import CellTable

SIZES = (1_000, 3_000, 10_000, 30_000, 100_000)
FAMILIES = {"regions_x_21_sectors": 21, "regions_x_100_ages": 100}


def two_way(cells: int, cols: int, seed: int = 0) -> CellTable:
    rows = max(2, round(cells / (cols + 1)) - 1)
    rng = np.random.default_rng(seed)
    records = int(10 * cells)
    w_rows = rng.dirichlet(np.full(rows, 2.0))
    w_cols = rng.dirichlet(np.full(cols, 0.5))
    members = np.column_stack(
        [rng.choice(rows, records, p=w_rows), rng.choice(cols, records, p=w_cols)]
    )
    holding = rng.integers(0, max(2, records // 2), records)
    keys = rng.integers(0, 2**32, records)
    amount = np.round(rng.lognormal(1.0, 1.5, records))
    return cell_table_from_records(members, [rows, cols], holding, keys, {"employees": amount})


def _cpu(fn, repeat: int):
    times, out = [], None
    for _ in range(repeat):
        start = time.process_time()
        out = fn()
        times.append(time.process_time() - start)
    return statistics.median(times), out


def after(table: CellTable, policy: Policy, repeat: int) -> dict[str, Any]:
    seconds, protected = _cpu(lambda: protect(table, policy), repeat)
    suppressed = secondary = 0
    cost = 0.0
    for name, m in protected.measures.items():  # type: ignore[attr-defined]
        mask = np.isnan(m.published)
        suppressed += int(mask.sum())
        sec = m.reason == st.SECONDARY
        secondary += int(sec.sum())
        cost += float(np.abs(table.measures[name].value)[sec].sum())
    return _row(table, seconds, suppressed, secondary, cost)


def before(table: CellTable, policy: Policy, repeat: int) -> dict[str, Any]:
    rel = build_relations(table)

    def run():
        out = []
        for stats in table.measures.values():
            primary, _, level = primary_suppression(stats, policy)
            rank = cell_rank(table.coords, np.abs(stats.value))
            lb = np.zeros(table.n_cells)
            out.append(
                (
                    stats,
                    suppress(rel, stats.value, primary, level, rank, stats.contributors > 0, lb),
                )
            )
        return out

    seconds, results = _cpu(run, repeat)
    suppressed = sum(int(r.suppressed.sum()) for _, r in results)  # type: ignore[union-attr]
    secondary = sum(int(r.secondary.sum()) for _, r in results)  # type: ignore[union-attr]
    cost = sum(float(np.abs(s.value)[r.secondary].sum()) for s, r in results)  # type: ignore[union-attr]
    return _row(table, seconds, suppressed, secondary, cost)


def _row(table, seconds, suppressed, secondary, cost) -> dict[str, Any]:
    n = table.n_cells * len(table.measures)
    return {
        "seconds": round(seconds, 4),
        "suppressed": suppressed,
        "suppressed_share": round(suppressed / n, 5),
        "secondary": secondary,
        "secondary_cost": round(cost, 1),
    }


def _seeded(cells: int, cols: int, seed: int, policy: Policy) -> dict[str, Any]:
    """One more table of ``cells`` cells drawn with ``seed``, protected once."""
    table = two_way(cells, cols, seed)
    return {"seed": seed, "cells": table.n_cells, "after": after(table, policy, 1)}


def exponent(cells: list[int], seconds: list[float]) -> float:
    slope, _ = np.polyfit(np.log(cells), np.log(np.maximum(seconds, 1e-4)), 1)
    return round(float(slope), 2)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--before", action="store_true", help="also time the method before")
    ap.add_argument("--max-cells", type=int, default=SIZES[-1])
    ap.add_argument("--out", help="write the figures as JSON here")
    ap.add_argument(
        "--seeds", type=int, default=0, help="more tables of the largest size (seeds 1..K)"
    )
    args = ap.parse_args(argv)
    policy = Policy()
    report: dict[str, Any] = {"load_average_at_start": os.getloadavg(), "families": {}}
    for family, cols in FAMILIES.items():
        rows = []
        for size in (s for s in SIZES if s <= args.max_cells):
            table = two_way(size, cols)
            row: dict[str, Any] = {
                "cells": table.n_cells,
                "after": after(table, policy, args.repeat),
            }
            if args.before:
                row["before"] = before(table, policy, 1)
            rows.append(row)
            print(family, json.dumps(row), flush=True)
        fit = {"after": exponent([r["cells"] for r in rows], [r["after"]["seconds"] for r in rows])}
        if args.before:
            fit["before"] = exponent(
                [r["cells"] for r in rows], [r["before"]["seconds"] for r in rows]
            )
        report["families"][family] = {"rows": rows, "exponent": fit}
        print(family, "exponent", fit, flush=True)
        if args.seeds and rows:
            seeded = [
                _seeded(rows[-1]["cells"], cols, seed, policy) for seed in range(1, args.seeds + 1)
            ]
            report["families"][family]["other_seeds"] = seeded
            print(family, "other seeds", json.dumps(seeded), flush=True)
    report["load_average_at_end"] = os.getloadavg()
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
