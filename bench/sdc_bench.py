"""Time disclosure control on synthetic answers: ``python -m bench.sdc_bench``.

Prints the time of ``protect`` for answers of about 100, 1,000 and 10,000 cells (with margins)
and of secondary suppression + LP audit on a ~5,000-cell hierarchical answer (target < 1 s).
Numbers are medians of CPU time over a few runs; tables are built by ``sdc.reference``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from sdc.policy import Policy
from sdc.protect import primary_suppression, protect
from sdc.reference import cell_table_from_records
from sdc.relations import build_relations
from sdc.secondary import cell_rank, suppress
from sdc.table import CellTable, Hierarchy


def synthetic(shape: tuple[int, ...], records: int, seed: int = 0, hierarchy: bool = False):
    """Records over ``shape`` (skewed, so that some cells are small) → cell table."""
    rng = np.random.default_rng(seed)
    weights = [rng.dirichlet(np.full(n, 0.7)) for n in shape]
    members = np.column_stack(
        [rng.choice(n, records, p=w) for n, w in zip(shape, weights, strict=True)]
    )
    hierarchies: tuple[Hierarchy, ...] = ()
    n_members = list(shape)
    if hierarchy:  # item 0 = gemeente, new last item = provincie (5 gemeenten per provincie)
        child_to_parent = np.arange(shape[0]) // 5
        members = np.column_stack([members, child_to_parent[members[:, 0]]])
        n_members.append(int(child_to_parent.max()) + 1)
        hierarchies = (Hierarchy(0, len(shape), child_to_parent),)
    holding = rng.integers(0, records // 2, records)
    keys = rng.integers(0, 2**32, records)
    amount = rng.lognormal(4, 1.5, records)
    return cell_table_from_records(
        members, n_members, holding, keys, {"amount": amount}, hierarchies=hierarchies
    )


def timed(fn, repeat: int) -> tuple[float, object]:
    """Median CPU seconds of this process: on a shared machine wall time mostly measures
    the neighbours (the LP solver runs single-threaded, so CPU time is the cost)."""
    times, result = [], None
    for _ in range(repeat):
        start = time.process_time()
        result = fn()
        times.append(time.process_time() - start)
    return statistics.median(times), result


def secondary_only(table: CellTable, measure: str, policy: Policy):
    stats = table.measures[measure]
    rel = build_relations(table)
    primary, _, level = primary_suppression(stats, policy)
    rank = cell_rank(table.coords, np.abs(stats.value))
    lb = np.zeros(table.n_cells)
    return lambda: suppress(rel, stats.value, primary, level, rank, stats.contributors > 0, lb)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    policy = Policy()
    cases = {100: ((9, 9), 2_000), 1_000: ((30, 31), 40_000), 10_000: ((20, 21, 22), 400_000)}
    for target, (shape, records) in cases.items():
        table = synthetic(shape, records)
        seconds, protected = timed(lambda t=table: protect(t, policy), args.repeat)
        report = protected.report()  # type: ignore[attr-defined]
        share = report["by_status"]["suppressed"] / (2 * table.n_cells)
        print(
            f"protect {table.n_cells:6d} cells (~{target}), 2 measures: {seconds * 1000:8.1f} ms"
            f"  suppressed {share:.1%}  LPs {report['risk']['lp_audits']}"
        )
    table = synthetic((26, 27), 100_000, hierarchy=True)
    for measure in ("count", "amount"):
        seconds, result = timed(secondary_only(table, measure, policy), args.repeat)
        print(
            f"secondary+audit {table.n_cells} cells hierarchical ({measure}): "
            f"{seconds * 1000:8.1f} ms  secondaries {int(result.secondary.sum())}"  # type: ignore[attr-defined]
            f"  LPs {result.n_lps}"
        )  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
