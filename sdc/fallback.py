"""Witnesses that need no LP: the last resort that makes secondary suppression always finish.

A *direction* ``delta`` over suppressed cells with ``A @ delta == 0`` moves them along every
additive relation at once, so ``values + t * delta`` is a point the attacker cannot exclude for
every ``t`` that keeps the cells within their bounds. Two directions always exist:

1. *Totals hypercube* of a cell: the cell plus every total it is a part of, their totals in
   turn, up to the grand total, all moving by the same amount (each relation sees its total and
   exactly one part move together). Cheap: a few cells per cell. Upwards unbounded; downwards
   as far as the smallest corner allows.
   A total's own hypercube breaks the relation it totals: it moves with the hypercube of a
   cell below it instead (its largest part, level after level: ``part_hypercube``).
2. *Scaling* of a whole connected table: every non-empty cell moves in proportion to its value
   (``A @ values == 0`` holds for the true values). Costly (everything is suppressed) and only
   used when the first does not hold, on tables without full margins.

Both are checked against the relation matrix before anything is claimed; the proof is exact
(sums of +1/-1 entries) for the hypercube and within rounding for the scaling.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sdc.audit import Targets
from sdc.relations import Relations

# Relative rounding allowed when checking ``A @ values == 0`` (sums in a different order).
SCALING_TOL = 1e-9


@dataclass(frozen=True, slots=True, eq=False)
class Direction:
    cells: np.ndarray  # cell ids that move
    delta: np.ndarray  # their movement per unit of t


def totals_hypercube(rel: Relations, cell: int) -> Direction | None:
    """The cell and all totals above it moving together, or None if that breaks a relation."""
    members = {cell}
    frontier = [cell]
    while frontier:
        nxt = []
        for c in frontier:
            # the relations c is a part of: their totals move with it
            for t in rel.total[rel.of_cell_as(c, total=False)].tolist():
                if t >= 0 and t not in members:
                    members.add(t)
                    nxt.append(t)
        frontier = nxt
    cells = np.array(sorted(members), dtype=np.int64)
    if not _balanced(rel, cells):
        return None
    return Direction(cells, np.ones(len(cells)))


def part_hypercube(
    rel: Relations, values: np.ndarray, movable: np.ndarray, cell: int
) -> Direction | None:
    """For a total (whose own hypercube breaks the relation it totals): the totals hypercube
    of a cell below it, reached by taking the largest movable part, level after level, until
    a cell that totals nothing. It holds ``cell`` and moves down as far as that cell's value
    allows; None when there is no such part or the direction does not hold ``cell``."""
    current = cell
    for _ in range(rel.n + 1):
        parts = [_parts(rel, int(r)) for r in rel.of_cell_as(current, total=True)]
        if not parts:
            break
        below = np.unique(np.concatenate(parts))
        below = below[movable[below]]
        if len(below) == 0:
            return None
        current = int(below[np.argmax(np.abs(values[below]))])
    d = totals_hypercube(rel, current)
    if d is None or cell not in d.cells:
        return None
    return d


def scaling(rel: Relations, values: np.ndarray, movable: np.ndarray, cell: int) -> Direction | None:
    """Every movable cell connected to ``cell`` through relations, scaled with its value."""
    reached = np.zeros(len(values), dtype=bool)
    reached[cell] = True
    frontier = np.array([cell])
    while len(frontier):
        rels = np.unique(rel.by_cell[:, frontier].indices)
        cells = np.unique(rel.matrix[rels].indices)
        frontier = cells[~reached[cells]]
        reached[frontier] = True
    cells = np.flatnonzero(reached & movable)
    delta = values[cells]
    scale = max(1.0, float(np.abs(delta).max(initial=0.0)))
    if np.abs(rel.by_cell[:, cells] @ delta).max(initial=0.0) > SCALING_TOL * scale:
        return None
    return Direction(cells, delta)


def proven_by(d: Direction, values: np.ndarray, t: Targets) -> np.ndarray:
    """Cells of ``d`` whose requirement the family ``values + t * delta`` meets (bool per cell)."""
    v, lb, delta = values[d.cells], t.lower_bound[d.cells], d.delta
    room = v - lb  # how far each cell may go down
    with np.errstate(divide="ignore", invalid="ignore"):
        t_max = float(np.min(np.where(delta < 0, room / -delta, np.inf), initial=np.inf))
        t_min = -float(np.min(np.where(delta > 0, room / delta, np.inf), initial=np.inf))
        ends = np.stack([delta * t_max, delta * t_min])
    ends = np.where(delta == 0, 0.0, ends)  # 0 * inf is no movement, not NaN
    reach_hi, reach_lo = v + ends.max(axis=0), v + ends.min(axis=0)
    hi, lo, eps = t.hi[d.cells], t.lo[d.cells], t.eps[d.cells]
    tol = 1e-9 * np.maximum(1.0, np.abs(v))
    secondary = ~np.isnan(eps)
    up = np.isnan(hi) | (reach_hi >= hi - tol)
    down = np.isnan(lo) | (reach_lo <= lo + tol)
    moved = np.maximum(reach_hi - v, v - reach_lo) >= np.nan_to_num(eps) - tol
    return np.where(secondary, moved, up & down)


def _balanced(rel: Relations, cells: np.ndarray) -> bool:
    """Whether ``cells`` all moving by +1 keeps every relation (``A[:, cells] @ 1 == 0``),
    exactly: the +1/-1 entries of their columns summed per relation. (A few cells' columns
    read straight from the column form: SciPy's column slicing costs more than the sum.)"""
    m = rel.by_cell
    starts, ends = m.indptr[cells], m.indptr[cells + 1]
    sizes = ends - starts
    at = np.repeat(starts - np.cumsum(sizes) + sizes, sizes) + np.arange(int(sizes.sum()))
    rows, signs = m.indices[at], m.data[at]
    _, which = np.unique(rows, return_inverse=True)
    return not np.any(np.bincount(which, weights=signs))


def _parts(rel: Relations, r: int) -> np.ndarray:
    m = rel.matrix
    lo, hi = m.indptr[r], m.indptr[r + 1]
    return m.indices[lo:hi][m.data[lo:hi] < 0]
