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
from sdc.relations import Relations, entries

# Relative rounding allowed when checking ``A @ values == 0`` (sums in a different order).
SCALING_TOL = 1e-9


@dataclass(frozen=True, slots=True, eq=False)
class Direction:
    cells: np.ndarray  # cell ids that move
    delta: np.ndarray  # their movement per unit of t


def totals_hypercube(rel: Relations, cell: int) -> Direction | None:
    """The cell and all totals above it moving together, or None if that breaks a relation."""
    _, members, ok = totals_hypercubes(rel, np.array([cell], dtype=np.int64))
    return Direction(members, np.ones(len(members))) if ok[0] else None


def totals_hypercubes(rel: Relations, cells: np.ndarray) -> tuple[np.ndarray, ...]:
    """``totals_hypercube`` of many cells at once: (owner, member, ok). ``owner`` is the
    position in ``cells`` of each member's direction (pairs sorted by owner, then member);
    ``ok`` per position: whether its hypercube keeps every relation."""
    cells = np.asarray(cells, dtype=np.int64)
    n = rel.by_cell.shape[1]
    frontier = np.arange(len(cells), dtype=np.int64) * n + cells  # owner * n + member
    steps = [frontier]
    while len(frontier):
        # the relations each frontier cell is a part of: their totals join its direction
        # (a cell reached twice is walked twice: totals lie a few levels up, so the walk
        # ends, and one ``unique`` at the end is cheaper than checking at every level)
        at, rows, signs = entries(rel.by_cell, frontier % n)
        total = rel.total[rows]
        up = (signs < 0) & (total >= 0)
        frontier = np.unique(frontier[at[up]] // n * n + total[up])
        steps.append(frontier)
    seen = np.unique(np.concatenate(steps))
    owner, members = seen // n, seen % n
    return owner, members, _balanced(rel, owner, members, len(cells))


def part_hypercube(
    rel: Relations, values: np.ndarray, movable: np.ndarray, cell: int
) -> Direction | None:
    """For a total (whose own hypercube breaks the relation it totals): the totals hypercube
    of a cell below it, reached by taking the largest movable part, level after level, until
    a cell that totals nothing. It holds ``cell`` and moves down as far as that cell's value
    allows; None when there is no such part or the direction does not hold ``cell``."""
    _, members, ok = part_hypercubes(rel, values, movable, np.array([cell], dtype=np.int64))
    return Direction(members, np.ones(len(members))) if ok[0] else None


def part_hypercubes(
    rel: Relations, values: np.ndarray, movable: np.ndarray, cells: np.ndarray
) -> tuple[np.ndarray, ...]:
    """``part_hypercube`` of many cells at once, as ``totals_hypercubes`` gives them."""
    cells = np.asarray(cells, dtype=np.int64)
    below = _largest_part_below(rel, values, movable, cells)
    found = np.flatnonzero(below >= 0)
    owner, members, ok = totals_hypercubes(rel, below[found])
    held = np.zeros(len(found), dtype=bool)
    held[owner[members == cells[found][owner]]] = True
    owner = found[owner]
    good = np.zeros(len(cells), dtype=bool)
    good[found] = ok & held
    return owner, members, good


def _largest_part_below(
    rel: Relations, values: np.ndarray, movable: np.ndarray, cells: np.ndarray
) -> np.ndarray:
    """Per cell: from it down, the largest movable part (ties: the lowest cell number) of
    the relations it totals, level after level, to a cell that totals nothing; -1 where a
    level has no movable part."""
    current = cells.copy()
    active = np.ones(len(cells), dtype=bool)
    for _ in range(rel.n + 1):
        idx = np.flatnonzero(active)
        if not len(idx):
            break
        at, rows, signs = entries(rel.by_cell, current[idx])
        at, rows = at[signs > 0], rows[signs > 0]  # the relations each cell totals
        totals = np.zeros(len(idx), dtype=bool)
        totals[at] = True
        active[idx[~totals]] = False  # totals nothing: arrived
        which, parts, signs = entries(rel.matrix, rows)
        which, parts = at[which[signs < 0]], parts[signs < 0]
        keep = movable[parts]
        which, parts = which[keep], parts[keep]
        order = np.lexsort((parts, -np.abs(values[parts]), which))
        which, parts = which[order], parts[order]
        first = np.ones(len(which), dtype=bool)
        first[1:] = which[1:] != which[:-1]
        stuck = totals.copy()
        stuck[which] = False  # a total with no movable part below it
        current[idx[stuck]] = -1
        active[idx[stuck]] = False
        current[idx[which[first]]] = parts[first]
    return current


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
    c = d.cells
    at = Targets(t.hi[c], t.lo[c], t.eps[c], t.lower_bound[c])
    return proven_along(np.zeros(len(c), dtype=np.int64), d.delta, values[c], at)


def proven_along(owner: np.ndarray, delta: np.ndarray, v: np.ndarray, t: Targets) -> np.ndarray:
    """``proven_by`` of many directions at once: entry i is a cell of direction ``owner[i]``
    (sorted) moving by ``delta[i]`` from ``v[i]``, with requirements ``t`` (per entry)."""
    room = v - t.lower_bound  # how far each cell may go down
    with np.errstate(divide="ignore", invalid="ignore"):
        down = np.where(delta < 0, room / -delta, np.inf)
        up = np.where(delta > 0, room / delta, np.inf)
    starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]]) if len(owner) else owner
    groups = np.cumsum(np.r_[False, owner[1:] != owner[:-1]]) if len(owner) else owner
    t_max = np.minimum.reduceat(down, starts)[groups] if len(owner) else down
    t_min = -np.minimum.reduceat(up, starts)[groups] if len(owner) else up
    with np.errstate(invalid="ignore"):
        ends = np.stack([delta * t_max, delta * t_min])
    ends = np.where(delta == 0, 0.0, ends)  # 0 * inf is no movement, not NaN
    reach_hi, reach_lo = v + ends.max(axis=0), v + ends.min(axis=0)
    hi, lo, eps = t.hi, t.lo, t.eps
    tol = 1e-9 * np.maximum(1.0, np.abs(v))
    secondary = ~np.isnan(eps)
    up_ok = np.isnan(hi) | (reach_hi >= hi - tol)
    down_ok = np.isnan(lo) | (reach_lo <= lo + tol)
    moved = np.maximum(reach_hi - v, v - reach_lo) >= np.nan_to_num(eps) - tol
    return np.where(secondary, moved, up_ok & down_ok)


def _balanced(rel: Relations, owner: np.ndarray, members: np.ndarray, n: int) -> np.ndarray:
    """Per direction ``0..n-1`` (its cells: ``members`` where ``owner`` is it): whether all
    of them moving by +1 keeps every relation (``A[:, cells] @ 1 == 0``), exactly: the
    +1/-1 entries of their columns summed per relation."""
    at, rows, signs = entries(rel.by_cell, members)
    key = owner[at] * max(1, rel.n) + rows
    keys, which = np.unique(key, return_inverse=True)
    broken = keys[np.bincount(which, weights=signs) != 0] // max(1, rel.n)
    ok = np.ones(n, dtype=bool)
    ok[broken] = False
    return ok
