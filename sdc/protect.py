"""``protect``: rules → secondary suppression (+ LP audit) → perturbation → rounding.

Derived measures come after, from the protected components (``sdc.derived``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np

from sdc import status as st
from sdc.audit import AuditError
from sdc.ckm import generate_ptable, perturb_counts, perturb_magnitudes, uniform_keys
from sdc.policy import Policy
from sdc.relations import Relations, build_relations
from sdc.rounding import round_published
from sdc.rules import RULES
from sdc.table import CellTable, MeasureStats, TableError

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor


@dataclass(frozen=True, slots=True, eq=False)
class ProtectedMeasure:
    published: np.ndarray  # float64, NaN where suppressed
    status: np.ndarray  # int8 codes of sdc.status
    reason: np.ndarray  # int8 codes of sdc.status (0 = none)
    facts: Mapping[str, Any] = field(default_factory=dict)  # figures for the report

    def cell(self, i: int) -> tuple[float | None, str, str | None]:
        """(value or None, status, reason) of cell ``i`` as the API publishes it."""
        value = None if np.isnan(self.published[i]) else float(self.published[i])
        return value, st.STATUS_NAMES[self.status[i]], st.REASON_NAMES[self.reason[i]]


@dataclass(frozen=True, slots=True, eq=False)
class Protected:
    policy_id: str
    measures: Mapping[str, ProtectedMeasure]

    def report(self) -> dict[str, Any]:
        """Cells by status and rule, the policy id and a risk summary (for the audit log)."""
        per = {name: _measure_report(m) for name, m in self.measures.items()}
        return {
            "policy": self.policy_id,
            "by_status": _sum_counts(r["by_status"] for r in per.values()),
            "by_reason": _sum_counts(r["by_reason"] for r in per.values()),
            "risk": {
                "smallest_published_contributors": _min_or_none(
                    r["smallest_published_contributors"] for r in per.values()
                ),
                "lp_audits": sum(r["lp_audits"] for r in per.values()),
            },
            "measures": per,
        }


# A table of at least this many cells has its measures protected at once, on up to one
# thread per core (or the process's share, ``limit_threads``): each measure's pattern
# depends on nothing the others do, and the LP solver (HiGHS) and NumPy's large steps run
# outside the interpreter lock. Smaller tables are protected in turn (a thread costs more
# than they take).
PARALLEL_CELLS = 4_000
_limit = 0  # threads of this process that protect at once (0: one per core)
_pool: tuple[int, int, ThreadPoolExecutor] | None = None  # process, threads, pool
_pool_lock = threading.Lock()


def limit_threads(n: int) -> None:
    """At most ``n`` threads of this process protect measures at once (0: one per core;
    1: in turn). A server with several worker processes on few cores gives each its share,
    as it does DuckDB's threads, so that they do not outnumber the cores."""
    global _limit
    _limit = max(0, int(n))


def protect(table: CellTable, policy: Policy) -> Protected:
    """Protect every measure of one answer (each measure gets its own pattern)."""
    table.validate()
    relations: Relations | Callable[[], Relations] | None = None
    if (np.asarray(table.coords) < 0).any():  # no total, no relation: nothing to build
        build = cache(lambda: build_relations(table))  # only where a cell must be protected
        built = threading.Lock()

        def once() -> Relations:  # one build, however many measures ask at once
            with built:
                return build()

        relations = once
    names = list(table.measures)

    def one(name: str) -> ProtectedMeasure:
        return protect_measure(table, relations, table.measures[name], policy.for_measure(name))

    threads = _limit or os.cpu_count() or 1
    if len(names) > 1 and len(table.coords) >= PARALLEL_CELLS and threads > 1:
        pool = _threads(threads)
        return Protected(policy.id, dict(zip(names, pool.map(one, names), strict=True)))
    return Protected(policy.id, {name: one(name) for name in names})


def _threads(n: int) -> ThreadPoolExecutor:
    """One pool of ``n`` threads per process: answers asked at once share it. A process
    forked from one that had a pool makes its own (the threads stay behind in the parent)."""
    from concurrent.futures import ThreadPoolExecutor  # not at start-up: few tables need it

    global _pool
    with _pool_lock:
        if _pool is None or _pool[:2] != (os.getpid(), n):
            if _pool is not None and _pool[0] == os.getpid():
                _pool[2].shutdown(wait=False)  # its running work finishes
            _pool = (os.getpid(), n, ThreadPoolExecutor(n, "zicht-protect"))
        return _pool[2]


def protect_measure(
    table: CellTable,
    relations: Relations | Callable[[], Relations] | None,
    stats: MeasureStats,
    policy: Policy,
) -> ProtectedMeasure:
    """One measure's pattern and published values; ``relations`` may be a function that
    builds them, called only if a cell is unsafe (a table without one never imports SciPy),
    or ``None`` when the table has none (no cell is a total)."""
    values = np.asarray(stats.value, dtype=np.float64)
    primary, reason, level = primary_suppression(stats, policy)
    suppressed, n_lps, rounds, fallbacks, weak = primary, 0, 0, 0, 0
    needed = policy.secondary and primary.any()
    rel = relations() if needed and callable(relations) else relations
    if needed and isinstance(rel, Relations) and rel.n:
        result = _secondary(table, rel, stats, policy, primary, level)
        suppressed, n_lps, rounds = result.suppressed, result.n_lps, result.rounds
        fallbacks, weak = result.fallbacks, result.weak_fallbacks
        reason = np.where(result.secondary, st.SECONDARY, reason).astype(np.int8)
    published = _publish(stats, policy)
    published[suppressed] = np.nan
    _check_invariant(stats, policy, published)
    status = _status(policy, published, values, suppressed)
    facts = {
        "lp_audits": n_lps,
        "suppression_rounds": rounds,
        # directions of the last resort (sdc.fallback), and of those the ones proven against
        # non-negativity alone (no direction met what the reasons tell)
        "fallbacks": fallbacks,
        "fallbacks_without_status_bounds": weak,
        "smallest_published_contributors": _smallest_published(stats, suppressed),
        "max_abs_deviation": _max_dev(published, values, relative=False),
        "max_relative_deviation": _max_dev(published, values, relative=True),
    }
    return ProtectedMeasure(published, status, reason, facts)


def _status(policy: Policy, published, values, suppressed) -> np.ndarray:
    """``perturbed`` for every published value that noise or rounding *could* have changed.

    Marking cells whose noise happened to be 0 as ``safe`` would tell the attacker which
    values are exact, and two exact values differenced isolate a small group. So under noise
    or rounding only a true 0 published as 0 is ``safe``.
    """
    if policy.perturb or policy.rounding_base:
        exact_zero = (published == 0) & (values == 0)
        status = np.where(exact_zero, st.SAFE, st.PERTURBED).astype(np.int8)
    else:
        status = np.full(len(values), st.SAFE, dtype=np.int8)
    status[suppressed] = st.SUPPRESSED
    return status


def primary_suppression(stats: MeasureStats, policy: Policy):
    """(unsafe mask, reason codes, protection levels) from the rules in ``RULES`` order."""
    n = stats.n_cells
    unsafe = np.zeros(n, dtype=bool)
    reason = np.zeros(n, dtype=np.int8)
    level = np.zeros(n)
    for rule in RULES:
        if stats.kind not in rule.kinds:
            continue
        found = rule.check(stats, policy)
        reason = np.where(found.unsafe & ~unsafe, st.REASON_CODES[rule.name], reason)
        level = np.where(found.unsafe, np.maximum(level, found.level), level)
        unsafe |= found.unsafe
    return unsafe, reason.astype(np.int8), level


# A table whose items without a total leave two-way tables with margins (years of a stock,
# each with its own wijk x income table) falls apart in those tables: no relation crosses
# them. Each is then protected as the two-way table it is (rectangles and flows, no LP
# budget), where together they are a three-item table for LPs and the fallback's boxes (ten
# years of wijk x income decile, 402,360 cells: 8 s, nearly all in the fallback). Only where
# the pieces are this large on average: each costs a call of its own.
SLICE_MIN_CELLS = 1_000


def _secondary(table, rel, stats: MeasureStats, policy: Policy, primary, level):
    slices = _two_way_slices(table)
    if slices is None:
        return _secondary_on(table.coords, table.hierarchies, rel, stats, policy, primary, level)
    from sdc.secondary import Suppression

    n = len(primary)
    suppressed, secondary = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    n_lps = rounds = fallbacks = weak = 0
    keep = [d for d in range(table.coords.shape[1]) if (table.coords[:, d] < 0).any()]
    for cells in slices:
        sub = _sub_relations(rel, cells)
        got = _secondary_on(
            table.coords[cells][:, keep], (), sub, stats.take(cells), policy, primary[cells],
            level[cells],
        )  # fmt: skip
        suppressed[cells], secondary[cells] = got.suppressed, got.secondary
        n_lps, rounds = n_lps + got.n_lps, max(rounds, got.rounds)
        fallbacks, weak = fallbacks + got.fallbacks, weak + got.weak_fallbacks
    return Suppression(suppressed, secondary, n_lps, rounds, fallbacks, weak)


def _two_way_slices(table: CellTable) -> list[np.ndarray] | None:
    """The cells of each two-way table the items without a total hold apart (see
    ``SLICE_MIN_CELLS``), or None where the table does not fall apart so."""
    from sdc.rectangles import dense

    coords = np.asarray(table.coords)
    if table.hierarchies or coords.ndim != 2 or coords.shape[1] < 3:
        return None
    has_total = (coords < 0).any(axis=0)
    if int(has_total.sum()) != 2:
        return None
    key = np.zeros(len(coords), dtype=np.int64)  # the members apart, mixed radix
    for col in coords[:, ~has_total].T.astype(np.int64):
        key = key * (int(col.max()) + 1) + col  # members of a table: far below 2^63
    order = np.argsort(key, kind="stable")
    starts = np.flatnonzero(np.diff(key[order])) + 1
    if len(starts) == 0 or len(coords) < SLICE_MIN_CELLS * (len(starts) + 1):
        return None
    cells = np.split(order, starts)
    two_way = coords[:, has_total]
    if not all(dense(two_way[c]) for c in cells):
        return None
    return cells


def _sub_relations(rel: Relations, cells: np.ndarray) -> Relations:
    """The relations among ``cells`` (sorted), renumbered: those of a piece no relation
    leaves."""
    at = np.full(rel.matrix.shape[1], -1, dtype=np.int64)
    at[cells] = np.arange(len(cells))
    rows = np.unique(rel.by_cell[:, cells].indices)
    matrix = rel.matrix[rows][:, cells].tocsr()
    total = rel.total[rows]
    return Relations(matrix, matrix.tocsc(), np.where(total >= 0, at[total], -1))


def _secondary_on(coords, hierarchies, rel, stats: MeasureStats, policy: Policy, primary, level):
    # imported here: an answer without an unsafe cell needs none of secondary suppression
    from sdc.rectangles import dense
    from sdc.secondary import cell_rank, suppress

    source = stats.value if stats.additive_value is None else stats.additive_value
    values = np.asarray(source, dtype=np.float64)
    _check_adds_up(rel, values)
    contributors = np.asarray(stats.contributors)
    cost = {
        "value": np.abs(values),
        "contributors": contributors.astype(np.float64),
        "unit": np.ones(len(values)),
    }[policy.secondary_cost]
    coords = np.asarray(coords)
    rank = cell_rank(coords, cost)
    weak_bound = np.where(stats.negative_mask(), -np.inf, 0.0)
    lower_bound = weak_bound
    if stats.kind == "count":
        # A suppressed count that passed the threshold rule says so by its reason (dominance,
        # p %, secondary): it has at least the threshold of contributors, so of rows too, and
        # the attacker may take that as known. (A threshold cell's "at least 1" is not
        # modelled: see docs/disclosure-control.md.)
        passed = contributors >= policy.threshold
        lower_bound = np.where(passed, np.minimum(values, policy.threshold), weak_bound)
    grid = coords if dense(coords) and not hierarchies else None
    plain = None if hierarchies else coords
    return suppress(
        rel, values, primary, level, rank, contributors > 0, lower_bound, grid=grid,
        coords=plain, weak_bound=weak_bound,
    )  # fmt: skip


def _check_adds_up(rel: Relations, values: np.ndarray) -> None:
    """Secondary suppression takes every relation as total = sum of parts: where one does not
    hold (a total counting rows its parts lack), how far a hidden cell can move would be
    judged on a false premise, so the table is refused instead (a programming error, never
    published; the values are exact sums, so the tolerance only absorbs float rounding)."""
    off = np.abs(rel.matrix @ values)
    tol = 1e-9 * max(1.0, float(np.abs(values).max(initial=0.0)))
    bad = int(np.count_nonzero(off > tol))
    if bad:
        raise TableError(f"{bad} total(s) of the table are not the sum of their parts")


def _publish(stats: MeasureStats, policy: Policy) -> np.ndarray:
    values = np.asarray(stats.value, dtype=np.float64).copy()
    ckm = policy.ckm
    if policy.perturb:
        u = uniform_keys(stats.cell_key, ckm.key_bits)
        if stats.kind == "count":
            table = generate_ptable(ckm.D, ckm.V, ckm.js, policy.threshold, ckm.tail, ckm.tail_mass)
            values = perturb_counts(values, u, table)
        else:
            table = generate_ptable(ckm.D, ckm.V, 0, 0, ckm.tail, ckm.tail_mass)
            values = perturb_magnitudes(values, stats.x1, u, table, ckm.magnitude_delta)
    if policy.rounding_base:
        floor = policy.threshold if stats.kind == "count" else None
        values = round_published(values, policy.rounding_base, floor)
    return values


def _check_invariant(stats: MeasureStats, policy: Policy, published: np.ndarray) -> None:
    """Every published count is 0 or at least the threshold; anything else is a bug."""
    if stats.kind != "count":
        return
    bad = (published > 0) & (published < policy.threshold)
    if np.any(bad):
        raise AuditError("a count between 0 and the threshold would have been published")


def _smallest_published(stats: MeasureStats, suppressed: np.ndarray) -> int | None:
    n = np.asarray(stats.contributors)[~suppressed]
    n = n[n > 0]
    return int(n.min()) if len(n) else None


def _max_dev(published: np.ndarray, values: np.ndarray, relative: bool) -> float:
    """Largest deviation of a published value (suppressed ones, NaN, are skipped)."""
    dev = np.abs(published - values)
    if relative:
        dev = np.divide(dev, np.abs(values), out=np.zeros_like(dev), where=values != 0)
    return float(np.fmax.reduce(dev, initial=0.0))


def _measure_report(m: ProtectedMeasure) -> dict[str, Any]:
    by_status = {name: int(np.sum(m.status == code)) for code, name in enumerate(st.STATUS_NAMES)}
    by_reason = {
        name: int(np.sum(m.reason == code)) for code, name in enumerate(st.REASON_NAMES) if name
    }
    return {"by_status": by_status, "by_reason": by_reason, **m.facts}


def _sum_counts(items) -> dict[str, int]:
    total: dict[str, int] = {}
    for counts in items:
        for key, n in counts.items():
            total[key] = total.get(key, 0) + n
    return total


def _min_or_none(values):
    present = [v for v in values if v is not None]
    return min(present) if present else None
