"""Witnesses that need no LP: the last resort that makes secondary suppression always finish.

A *direction* ``delta`` over suppressed cells with ``A @ delta == 0`` moves them along every
additive relation at once, so ``values + t * delta`` is a point the attacker cannot exclude for
every ``t`` that keeps the cells within their bounds. Tried in this order:

1. *Box* (tables with every margin and no hierarchy, ``BoxTable``): on each item the cell's
   own member and one partner on its line (another member or the line's total); its
   2^items corners move by +1/-1, alternating, a total's sign flipped, so every line keeps
   its sum (a rectangle, in two dimensions). Of the boxes over the few cheapest partners of
   each line, the cheapest that takes the cell to its targets: corners already suppressed
   cost nothing. This is tau-Argus' hypercube method, totals included as ordinary members.
2. *Totals hypercube* of a cell: the cell plus every total it is a part of, their totals in
   turn, up to the grand total, all moving by the same amount (each relation sees its total and
   exactly one part move together): the box whose partners are all totals, and the only one
   a table with a hierarchy has. Upwards unbounded; downwards as far as the smallest
   corner allows.
   A total's own hypercube breaks the relation it totals: it moves with the hypercube of a
   cell below it instead (its largest part, level after level: ``part_hypercube``).
3. *Scaling below* a cell (no hierarchy, ``scaling_below``): every cell on its side of each
   item moves by the value where the two meet, so a total can go down to 0 when no single
   part holds its protection, at the cost of the cells below it only.
4. *Scaling* of a whole connected table: every non-empty cell moves in proportion to its value
   (``A @ values == 0`` holds for the true values). Costly (everything is suppressed) and only
   used when nothing else holds (tables without full margins).

Each is checked against the relation matrix before anything is claimed; the proof is exact
(sums of +1/-1 entries) for boxes and hypercubes and within rounding for the scalings.
The directions of many cells are found at once (``totals_hypercubes``, ``part_hypercubes``,
``BoxTable.cheapest``): the fallback of a table may prove tens of thousands of cells.
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
    return owner, members, balanced(rel, owner, members, len(cells))


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


def scaling_below(
    rel: Relations, table: BoxTable, values: np.ndarray, cell: int
) -> Direction | None:
    """The scaling of the part of the table below ``cell`` (a table with every margin and no
    hierarchy): every cell ``x`` on ``cell``'s side of each item (its member, or a total
    where ``cell`` has one, anything where ``cell`` is a total) moves by the value of the
    cell where the two meet. That is the hypercubes of every inner cell below ``cell``,
    each weighted by its value, added up, so ``cell`` can go down to 0 (where a single
    hypercube takes it down by one part only), and it costs the cells below it, not the
    table. None when a meeting cell is missing or the direction does not hold."""
    shifted = table.shifted
    c = shifted[cell]
    x = table.below(c)
    ids = table.lookup(np.where(c == 0, shifted[x], c))
    if np.any(ids < 0):
        return None
    keep = values[ids] != 0
    cells, delta = x[keep], values[ids][keep]
    scale = max(1.0, float(np.abs(delta).max(initial=0.0)))
    if (
        cell not in cells
        or np.abs(rel.by_cell[:, cells] @ delta).max(initial=0.0) > SCALING_TOL * scale
    ):
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


def balanced(
    rel: Relations, owner: np.ndarray, members: np.ndarray, n: int, delta=None
) -> np.ndarray:
    """Per direction ``0..n-1`` (its cells: ``members`` where ``owner`` is it): whether its
    cells moving by ``delta`` (default +1) keep every relation (``A[:, cells] @ delta ==
    0``), exactly: the +1/-1 entries of their columns times +1/-1 summed per relation."""
    at, rows, signs = entries(rel.by_cell, members)
    if delta is not None:
        signs = signs * delta[at]
    key = owner[at] * max(1, rel.n) + rows
    keys, which = np.unique(key, return_inverse=True)
    broken = keys[np.bincount(which, weights=signs) != 0] // max(1, rel.n)
    ok = np.ones(n, dtype=bool)
    ok[broken] = False
    return ok


# Per item, the partners a box may take for a cell: up to this many of the cheapest other
# members of its line (suppressed cells first, they cost nothing), and the line's total;
# fewer on tables of many items, so that the combinations stay about ``BOX_CHOICES``
# (2 items: 5 x 5; 3 items: 5 x 5 x 5; 4 items: 3 x 3 x 3 x 3).
BOX_PARTNERS = 4
BOX_CHOICES = 125
# Boxes weighed at once (cells x boxes x 2^items x items): memory, not result.
BOX_CHUNK = 4_000_000


@dataclass(frozen=True, slots=True, eq=False)
class Cost:
    """What suppressing each cell costs a box: 0 for a cell already suppressed, else its
    ``rank_cost``; read for the cells asked only (a box's work grows with its cells, not the
    table's)."""

    suppressed: np.ndarray  # bool per cell
    rank_cost: np.ndarray  # float per cell

    def __getitem__(self, cells: np.ndarray) -> np.ndarray:
        return np.where(self.suppressed[cells], 0.0, self.rank_cost[cells])


@dataclass(frozen=True, slots=True, eq=False)
class Boxes:
    """Per asked cell, its cheapest box: ``corners[i]`` (cell ids, -1 where it has none)
    moving by ``delta[i]`` (+1/-1 per corner)."""

    corners: np.ndarray  # (cells, 2^items) int64
    delta: np.ndarray  # (cells, 2^items) float64


class BoxTable:
    """The boxes of a table with every margin and no hierarchy (what stays fixed while
    suppression grows: cell coordinates, their lookup and lines).

    A *box* through a cell takes, on each item, the cell's own member and one partner on
    its line (another member or the line's total), and moves its 2^items corners with
    alternating signs, a total's sign flipped: every line then keeps its sum, as in a
    rectangle of a two-way table (``sdc.rectangles``), and the totals hypercube is the box
    whose partners are all totals."""

    def __init__(self, coords: np.ndarray):
        self.shifted = coords.astype(np.int64) + 1  # the total (-1) becomes 0
        self.span = self.shifted.max(axis=0) + 1
        # Cells are found by a key over all items, summed in floats: exact below 2^52.
        if float(np.prod(self.span.astype(np.float64))) >= 2.0**52:
            raise ValueError("too many members over all items for box keys")
        self.lookup = _Lookup(self.shifted, self.span)
        self.lines = [_Lines(self.shifted, self.span, d) for d in range(coords.shape[1])]
        # partners per item: the combinations (boxes per cell) stay near ``BOX_CHOICES``
        n_items = coords.shape[1]
        self.k = max(1, min(BOX_PARTNERS, round(BOX_CHOICES ** (1 / max(1, n_items))) - 1))

    def below(self, c: np.ndarray) -> np.ndarray:
        """The cells (sorted) on the side of ``c`` (shifted coordinates) of each item: its
        member or the total where ``c`` has a member, anything where it has the total. Read
        from the lookup where they are fewer than the table's cells (a cell inside the
        table: 2^items of them), else found among all cells."""
        free = c == 0
        size = 2.0 ** int((~free).sum()) * float(np.prod(self.span[free].astype(np.float64)))
        if size > len(self.shifted):
            shifted = self.shifted
            return np.flatnonzero(np.all((shifted == c) | (shifted == 0) | free, axis=1))
        axes = [
            np.arange(s) if f else np.array([0, m])
            for m, s, f in zip(c, self.span, free, strict=True)
        ]
        rows = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, len(c))
        ids = self.lookup(rows)
        return np.sort(ids[ids >= 0])

    def cheapest(
        self,
        values: np.ndarray,
        movable: np.ndarray,
        cost: np.ndarray | Cost,
        targets: Targets,
        cells: np.ndarray,
    ) -> Boxes:
        """The cheapest box through each of ``cells`` that proves it (corners -1: none).
        ``cost``: what suppressing each cell costs (0 for a cell already suppressed);
        ``targets``: each cell's requirement once suppressed. Partners are the cheapest
        movable cells of each line (``BOX_PARTNERS``, fewer on many items) plus its
        total."""
        cells = np.asarray(cells, dtype=np.int64)
        n_items = self.shifted.shape[1]
        partners = [line.partners(movable, cost, cells, self.k) for line in self.lines]
        n_corners = 2**n_items
        corners = np.full((len(cells), n_corners), -1, dtype=np.int64)
        delta = np.zeros((len(cells), n_corners))
        per_cell = int(np.prod([p.shape[1] for p in partners])) * n_corners * n_items
        step = max(1, BOX_CHUNK // per_cell)
        for lo in range(0, len(cells), step):
            part = slice(lo, lo + step)
            got = _cheapest_boxes(
                self.lookup, [p[part] for p in partners], values, movable, cost, targets,
                self.shifted[cells[part]], cells[part],
            )  # fmt: skip
            corners[part], delta[part] = got
        return Boxes(corners, delta)


class _Lookup:
    """Cell id of a coordinate row (shifted: totals are 0), -1 where the table has none.
    A row's key is ``row @ weight`` (mixed radix over the items' spans)."""

    def __init__(self, shifted: np.ndarray, span: np.ndarray):
        self.weight = np.cumprod(np.r_[span[1:], 1][::-1])[::-1].astype(np.int64)
        keys = shifted @ self.weight
        size = float(np.prod(span.astype(np.float64)))
        self.dense: np.ndarray | None = None
        if size <= 8 * len(keys) + 65_536:  # a table with margins nearly fills its grid
            self.dense = np.full(int(size), -1, dtype=np.int64)
            self.dense[keys] = np.arange(len(keys))
        self.order = np.argsort(keys, kind="stable")
        self.keys = keys[self.order]

    def __call__(self, shifted: np.ndarray) -> np.ndarray:
        return self.ids(shifted @ self.weight)

    def ids(self, k: np.ndarray) -> np.ndarray:
        if self.dense is not None:
            return self.dense[k]
        if not len(self.keys):
            return np.full(k.shape, -1, dtype=np.int64)
        at = np.clip(np.searchsorted(self.keys, k), 0, len(self.keys) - 1)
        return np.where(self.keys[at] == k, self.order[at], -1)


class _Lines:
    """The lines of a table along one item (cells agreeing on every other item), as lists
    of cells (sorted by line, then member): the partners of a cell are read from its own
    line only, however large the table."""

    def __init__(self, shifted: np.ndarray, span: np.ndarray, d: int):
        line = np.zeros(len(shifted), dtype=np.int64)
        for k, s in zip(np.delete(shifted, d, axis=1).T, np.delete(span, d), strict=True):
            line = line * s + k
        self.line = np.unique(line, return_inverse=True)[1].ravel()
        self.member = shifted[:, d]
        self.cells = np.lexsort((self.member, self.line))
        self.start = np.searchsorted(
            self.line[self.cells], np.arange(self.line.max(initial=-1) + 2)
        )

    def partners(self, movable: np.ndarray, cost: np.ndarray | Cost, cells: np.ndarray, k: int):
        """Per asked cell, the members (shifted) of its partners on this item: the ``k``
        cheapest movable members of its line other than its own (ties: the lower member),
        then the line's total (0; -1 for a cell that is the total). -1 where a line has
        fewer."""
        lines = np.unique(self.line[cells])
        at, members, _ = entries(_Compressed(self.start, self.cells), lines)
        keep = movable[members] & (self.member[members] != 0)  # the total has its own slot
        at, members = at[keep], members[keep]
        order = np.lexsort((self.member[members], cost[members], at))
        at, members = at[order], members[order]
        first = np.searchsorted(at, np.arange(len(lines) + 1))
        line = np.searchsorted(lines, self.line[cells])
        mine = self.member[cells]
        # the k + 1 cheapest, the cell's own member among them dropped: k left
        near = np.full((len(cells), k + 1), -1, dtype=np.int64)
        for j in range(k + 1):
            pos = first[line] + j
            ok = pos < first[line + 1]
            near[ok, j] = self.member[members[pos[ok]]]
        near[near == mine[:, None]] = -1
        near = np.take_along_axis(near, np.argsort(near < 0, axis=1, kind="stable"), axis=1)
        total = np.where(mine == 0, -1, 0)
        return np.column_stack([near[:, :k], total])


@dataclass(frozen=True, slots=True)
class _Compressed:
    """Rows of cells in compressed form (what ``entries`` reads)."""

    indptr: np.ndarray
    indices: np.ndarray

    @property
    def data(self) -> np.ndarray:
        return self.indices


def _cheapest_boxes(lookup, partners, values, movable, cost, targets, own, cells):
    """``BoxTable.cheapest`` of a few cells (``own``: their shifted coordinates).

    Corner k of a box takes the partner on the items of the bits of k and the cell's own
    member elsewhere, so it depends only on the partners of those items: each corner is
    looked up once per combination of them (with 4 items and 3 partners: 3^4 + 4 x 3^3 +
    ... = 256 lookups per cell, against 3^4 boxes x 16 corners). Boxes with a corner that
    is missing or fixed drop out before any of them is weighed."""
    n_cells, n_items = own.shape
    sizes = tuple(p.shape[1] for p in partners)

    def spread(a: np.ndarray, d: int) -> np.ndarray:  # (cells, partners of d) on axis d + 1
        return a.reshape((n_cells, *(s if e == d else 1 for e, s in enumerate(sizes))))

    usable = np.ones((n_cells, *sizes), dtype=bool)
    step, factor = [], []
    for d, p in enumerate(partners):
        mine = own[:, d, None]
        usable &= spread((p >= 0) & (p != mine), d)
        q = np.where(p >= 0, p, mine)  # (no partner: any cell will do, the box is dropped)
        step.append(spread((q - mine) * lookup.weight[d], d))
        # a partner moves its corner against the cell, unless one of the two is the total
        factor.append(np.where((mine == 0) != (q == 0), 1, -1).astype(np.int8))
    base = (own @ lookup.weight).reshape((n_cells,) + (1,) * n_items)
    corner_at = []
    for k in range(2**n_items):
        key = base + sum((step[d] for d in range(n_items) if k >> d & 1), np.int64(0))
        corner_at.append(lookup.ids(key))
        usable &= (corner_at[-1] >= 0) & movable[corner_at[-1]]  # -1: no such cell
    # the boxes left, one row each: their corners and how each moves
    at, box = np.nonzero(usable.reshape(n_cells, -1))
    choice = np.unravel_index(box, sizes)
    corner = np.empty((len(at), 2**n_items), dtype=np.int64)
    delta = np.ones((len(at), 2**n_items), dtype=np.int8)
    for k, c in enumerate(corner_at):
        taken = [k >> d & 1 for d in range(n_items)]
        corner[:, k] = c[(at, *(choice[d] if t else 0 for d, t in enumerate(taken)))]
        for d in (d for d, t in enumerate(taken) if t):
            delta[:, k] *= factor[d][at, choice[d]]
    # how far a box moves its cell: up until a corner moving down is at its bound
    room = values[corner] - targets.lower_bound[corner]
    falls = delta < 0
    up = np.min(np.where(falls, room, np.inf), axis=-1, initial=np.inf)
    down = np.min(np.where(falls, np.inf, room), axis=-1, initial=np.inf)
    v = values[cells][at]
    hi, lo, eps = (x[cells][at] for x in (targets.hi, targets.lo, targets.eps))
    tol = 1e-9 * np.maximum(1.0, np.abs(v))
    ok_up = np.isnan(hi) | (v + up >= hi - tol)
    ok_down = np.isnan(lo) | (v - down <= lo + tol)
    moved = np.maximum(up, down) >= np.nan_to_num(eps) - tol
    proves = np.where(~np.isnan(eps), moved, ok_up & ok_down)
    # the cheapest box that proves its cell (ties: the first)
    price = np.full((n_cells, int(np.prod(sizes))), np.inf)
    price[at[proves], box[proves]] = cost[corner[proves]].sum(axis=-1)
    best = np.argmin(price, axis=1)
    rows = np.arange(n_cells)
    found = np.isfinite(price[rows, best])
    row = np.zeros(price.shape, dtype=np.int64)
    row[at, box] = np.arange(len(at))
    which = row[rows[found], best[found]]
    corners = np.full((n_cells, 2**n_items), -1, dtype=np.int64)
    moves = np.zeros((n_cells, 2**n_items))
    corners[found], moves[found] = corner[which], delta[which]
    return corners, moves
