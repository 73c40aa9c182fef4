"""Small builders shared by the sdc tests (unique module name: pytest rootdir import mode)."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from sdc.audit import Targets, feasibility_intervals
from sdc.policy import Policy
from sdc.protect import primary_suppression
from sdc.reference import cell_table_from_records
from sdc.relations import build_relations
from sdc.table import CellTable, Hierarchy, MeasureStats


def magnitude(value, x1, x2, contributors=None, negative=None, abs_value=None) -> MeasureStats:
    value = np.atleast_1d(np.asarray(value, dtype=np.float64))
    n = len(value)
    contributors = np.full(n, 20) if contributors is None else np.atleast_1d(contributors)
    return MeasureStats(
        "magnitude",
        value,
        np.asarray(contributors, dtype=np.int64),
        np.atleast_1d(np.asarray(x1, dtype=np.float64)),
        np.atleast_1d(np.asarray(x2, dtype=np.float64)),
        np.zeros(n, dtype=np.int64),
        None if negative is None else np.atleast_1d(np.asarray(negative, dtype=bool)),
        None if abs_value is None else np.atleast_1d(np.asarray(abs_value, dtype=np.float64)),
    )


def count(values, contributors=None, keys=None) -> MeasureStats:
    value = np.asarray(values, dtype=np.float64)
    n = len(value)
    contributors = value.astype(np.int64) if contributors is None else contributors
    keys = np.zeros(n, dtype=np.int64) if keys is None else keys
    zeros = np.zeros(n)
    return MeasureStats(
        "count",
        value,
        np.asarray(contributors, np.int64),
        zeros,
        zeros,
        np.asarray(keys, dtype=np.int64),
    )


def random_table(seed: int, shape: tuple[int, ...], records: int, hierarchy: bool) -> CellTable:
    rng = np.random.default_rng(seed)
    members = np.column_stack([rng.integers(0, n, records) for n in shape])
    n_members = list(shape)
    hierarchies: tuple[Hierarchy, ...] = ()
    if hierarchy:  # a parent level of item 0 (two children per parent) as an extra item
        c2p = np.arange(shape[0]) // 2
        members = np.column_stack([members, c2p[members[:, 0]]])
        n_members.append(int(c2p.max()) + 1)
        hierarchies = (Hierarchy(0, len(shape), c2p),)
    holding = rng.integers(0, max(2, records // 2), records)
    keys = rng.integers(0, 2**32, records)
    amount = rng.lognormal(3, 1.2, records)
    return cell_table_from_records(
        members, n_members, holding, keys, {"amount": amount}, hierarchies=hierarchies
    )


# Two-way tables with every margin (no hierarchy): what rectangles and flows work on.
two_way_tables = st.builds(
    random_table,
    seed=st.integers(0, 10_000),
    shape=st.tuples(st.integers(2, 7), st.integers(2, 5)),
    records=st.integers(20, 300),
    hierarchy=st.just(False),
)


def requirement(values, primary, level, suppressed, eps=1.0) -> Targets:
    """Targets of a pattern: primaries ``value ± level`` (not below 0), the other suppressed
    cells (secondaries) ``eps`` either way."""
    secondary = suppressed & ~primary
    return Targets(
        np.where(primary, values + level, np.nan),
        np.where(primary, np.maximum(values - level, 0.0), np.nan),
        np.where(secondary, eps, np.nan),
        np.zeros(len(values)),
    )


tables = st.builds(
    random_table,
    seed=st.integers(0, 10_000),
    shape=st.one_of(
        st.tuples(st.integers(2, 6), st.integers(2, 6)),
        st.tuples(st.integers(2, 4), st.integers(2, 3), st.integers(2, 3)),
    ),
    records=st.integers(20, 400),
    hierarchy=st.booleans(),
)


def known_lower_bound(stats: MeasureStats, policy: Policy) -> np.ndarray:
    """What an attacker knows of a suppressed cell's value from below: 0, and for a count
    with at least the threshold of contributors (its reason says it passed the threshold
    rule) the threshold, or its value if smaller (more rows than contributors never fall
    below the contributors)."""
    values = np.asarray(stats.value, dtype=np.float64)
    if stats.kind != "count":
        return np.zeros(len(values))
    passed = np.asarray(stats.contributors) >= policy.threshold
    return np.where(passed, np.minimum(values, policy.threshold), 0.0)


def assert_pattern_protects(
    table: CellTable, name: str, suppressed: np.ndarray, policy: Policy, reasons: bool = True
):
    """Exact feasibility intervals (two LPs per cell), independent of the audit's shortcuts,
    with what the reasons tell an attacker (``known_lower_bound``; ``reasons=False``:
    non-negativity alone, what a fallback without status bounds promises)."""
    stats = table.measures[name]
    primary, _, level = primary_suppression(stats, policy)
    rel = build_relations(table)
    values = stats.value
    known = known_lower_bound(stats, policy) if reasons else np.zeros(len(values))
    intervals = feasibility_intervals(rel, values, suppressed, known) if rel.n else {}
    for c in np.flatnonzero(suppressed):
        if c not in intervals:  # no relation touches it: nothing to recompute from
            continue
        lo, hi = intervals[c]
        tol = 1e-6 * max(1.0, abs(values).max())
        if primary[c]:
            assert hi >= values[c] + level[c] - tol
            assert lo <= max(values[c] - level[c], known[c]) + tol
        else:
            assert hi - lo > tol  # secondary: never recomputed exactly
