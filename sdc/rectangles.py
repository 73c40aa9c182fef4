"""LP-free proofs on two-way tables with margins: rectangles of suppressed cells.

Write the table with its margins as an (R+1) x (C+1) matrix (one row and one column hold
the totals) and flip the sign of every total row and column: ``y = value * s_row * s_col``
with ``s = -1`` for a total. Every additive relation then says "this line of ``y`` sums to
0", so any movement of suppressed cells with zero line sums keeps all relations, and the
simplest one is a rectangle: corners (a, b), (a', b') move by +t, corners (a, b'), (a', b)
by -t. This is tau-Argus' hypercube in two dimensions, totals included as ordinary rows.

A cell's requirement (primary: reach ``value ± level``; secondary: move by ``eps``) is met
when some rectangle of suppressed cells through it allows the movement: each corner must
have room in its direction (a cell may go up without limit; down only to its lower bound).
On grids of moderate size the widest such rectangle through every cell is found at once
from one (columns x columns) max-min product per direction; on large ones rectangles are
counted per movement threshold with three matrix products each. Cells proven here need no
LP; the rest go to the LP audit as before. A rectangle with room is an existence proof: a
point the attacker cannot exclude.
"""

from __future__ import annotations

import numpy as np

from sdc.audit import Targets

# Up to this many cells asked of a sub-table, it also holds every line crossing them.
FEW = 64
# Grids up to this size (rows x columns x columns) find each cell's widest rectangle
# exactly (``_Rooms``); larger ones count rectangles per movement threshold (``_Levels``),
# rounded up to the next power of ``BUCKET`` (still a proof: it only asks for more room).
# Either proves only what the LP would. A table of amounts has thresholds of every
# magnitude: 315 cells needed 17 levels, 1.9 of its 7.2 ms of protection, against 0.3 ms
# exactly; on 1,000 x 100 the sparse products per level stay faster (0.15 against 0.27 s).
EXACT_PRODUCT = 4_000_000
BUCKET = 2.0


def prove(
    coords: np.ndarray,
    values: np.ndarray,
    suppressed: np.ndarray,
    t: Targets,
    asked: np.ndarray | None = None,
) -> np.ndarray:
    """Bool per cell: suppressed cells (of ``asked``, default all) that a rectangle proves."""
    return settled(t.eps, *moves(coords, values, suppressed, t, asked))


def moves(
    coords: np.ndarray,
    values: np.ndarray,
    suppressed: np.ndarray,
    t: Targets,
    asked: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Bool per cell and direction: suppressed cells (of ``asked``) that a rectangle moves up
    by their required movement, and down by it (see ``need``)."""
    a, b = axes(coords)
    if b.max(initial=0) > a.max(initial=0):  # the products are (columns x columns): fewer
        a, b = b, a
    shape = (int(a.max(initial=0)) + 1, int(b.max(initial=0)) + 1)
    sign = signs(coords)
    y_up, y_down = rooms(sign, values, t.lower_bound)
    # Required movements of the value: up to hi, down to lo; secondaries either way by eps.
    need_up, need_down = need(values, t)
    cells = np.flatnonzero(suppressed if asked is None else suppressed & asked)
    if shape[0] * shape[1] ** 2 <= EXACT_PRODUCT:
        widest = _Rooms(a, b, shape, suppressed, y_up, y_down)
        up_ok = widest.movable(cells, need_up[cells], sign[cells])
        down_ok = widest.movable(cells, need_down[cells], -sign[cells])
    else:
        grids = _Levels(a, b, shape, suppressed, y_up, y_down)
        up_ok = _movable(grids, cells, need_up[cells], sign[cells])
        down_ok = _movable(grids, cells, need_down[cells], -sign[cells])
    up, down = np.zeros(len(values), dtype=bool), np.zeros(len(values), dtype=bool)
    up[cells], down[cells] = up_ok, down_ok
    return up, down


def settled(eps: np.ndarray, up: np.ndarray, down: np.ndarray) -> np.ndarray:
    """Cells whose requirement the proven movements meet: a primary (``eps`` NaN) both ways,
    to its ``hi`` and its ``lo``; a secondary either way, by ``eps``."""
    return np.where(np.isnan(eps), up & down, up | down)


def need(
    values: np.ndarray, t: Targets, cells: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Required movement of each value (of ``cells`` only, in their order, when given) up and
    down (0: none required)."""
    at = slice(None) if cells is None else cells
    eps, v = t.eps[at], values[at]
    secondary = ~np.isnan(eps)
    up = np.where(secondary, eps, np.nan_to_num(t.hi[at] - v, nan=0.0))
    down = np.where(secondary, eps, np.nan_to_num(v - t.lo[at], nan=0.0))
    return up, down


def signs(coords: np.ndarray) -> np.ndarray:
    """+1 for an inner cell and the grand total, -1 for a row or column total: y = value * sign
    has every line summing to 0."""
    return np.where(coords[:, 0] < 0, -1.0, 1.0) * np.where(coords[:, 1] < 0, -1.0, 1.0)


def rooms(sign: np.ndarray, values: np.ndarray, lower_bound: np.ndarray):
    """Room of each cell's y (not its value) to go up and down (inf: unbounded): y up is the
    value up for sign +1; a value goes down to its lower bound."""
    room = values - lower_bound
    inf = np.full(len(values), np.inf)
    return np.where(sign > 0, inf, room), np.where(sign > 0, room, inf)


def dense(coords: np.ndarray) -> bool:
    """Whether rectangles are worth it: a two-way table that fills its grid (a full table with
    margins fills it exactly; two levels of one dimension, wijk x buurt, leave it nearly
    empty and would make the grid products quadratic in the members)."""
    if coords.ndim != 2 or coords.shape[1] != 2 or len(coords) == 0:
        return False
    rows, cols = (len(np.unique(coords[:, k])) for k in (0, 1))
    return rows * cols <= 2 * len(coords)


def axes(coords: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Matrix row and column of each cell, numbered densely; a total (-1) is row / column 0."""
    a = np.unique(coords[:, 0], return_inverse=True)[1].ravel()
    b = np.unique(coords[:, 1], return_inverse=True)[1].ravel()
    return a.astype(np.int64), b.astype(np.int64)


class _Rooms:
    """The room of each suppressed cell's y to go up and down, on the (rows x columns) grid
    (-inf where no cell is suppressed). A cell moves by ``need`` when its *widest* rectangle
    does: the largest, over corners (a', b'), of the least room of the three other corners
    in their directions. Found for every cell at once through a (columns x columns) max-min
    product per direction, computed once per ``prove``: exact thresholds, any magnitude."""

    def __init__(self, a, b, shape, suppressed, y_up, y_down) -> None:
        self.a, self.b = a, b
        self.y_up, self.y_down = y_up, y_down
        self.up = np.full(shape, -np.inf)
        self.down = np.full(shape, -np.inf)
        self.up[a[suppressed], b[suppressed]] = y_up[suppressed]
        self.down[a[suppressed], b[suppressed]] = y_down[suppressed]
        self._products: dict[float, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def movable(self, cells, need, direction) -> np.ndarray:
        """Whether each of ``cells`` can move its y by ``need`` in ``direction`` (+1 up).

        Moving y_c up: (a, b') and (a', b) go down, (a', b') up. Down: reversed."""
        ok = need <= 0
        todo = np.flatnonzero(~ok)
        for sgn in (1.0, -1.0):
            sel = todo[direction[todo] == sgn]
            if len(sel) == 0:
                continue
            side, far = (self.down, self.up) if sgn > 0 else (self.up, self.down)
            product = self._products.get(sgn)
            if product is None:
                product = self._products[sgn] = _max_min_product(far, side)
            own = (self.y_up if sgn > 0 else self.y_down)[cells[sel]] >= need[sel]
            widest = _widest(side, product, self.a[cells[sel]], self.b[cells[sel]])
            ok[sel] = own & (widest >= need[sel])
        return ok


# Elements per block of the max-min product (some rows x columns x columns): bounded memory
# on tall grids.
BLOCK = 1_000_000


def _max_min_product(
    far: np.ndarray, side: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For columns (b', b): the best over rows a' of min(far[a', b'], side[a', b]), the row
    giving it, and the second best over the other rows (so one row can be left out); each
    as a (b, b') array."""
    n_rows, n_cols = far.shape
    best = np.full((n_cols, n_cols), -np.inf)
    second = np.full((n_cols, n_cols), -np.inf)
    arg = np.full((n_cols, n_cols), -1, dtype=np.int64)
    step = max(1, BLOCK // max(1, n_cols * n_cols))
    far_t, side_t = np.ascontiguousarray(far.T), np.ascontiguousarray(side.T)
    for lo in range(0, n_rows, step):
        # (b', b, a'): the rows last, so every reduction runs along contiguous memory
        m = np.minimum(far_t[:, None, lo : lo + step], side_t[None, :, lo : lo + step])
        i = np.argmax(m, axis=2)
        v1 = np.take_along_axis(m, i[:, :, None], axis=2)[:, :, 0]
        np.put_along_axis(m, i[:, :, None], -np.inf, axis=2)
        v2 = m.max(axis=2, initial=-np.inf)
        better = v1 > best
        second = np.where(better, np.maximum(best, v2), np.maximum(second, v1))
        arg = np.where(better, i + lo, arg)
        best = np.where(better, v1, best)
    return best.T.copy(), arg.T.copy(), second.T.copy()


def _widest(
    side: np.ndarray,
    product: tuple[np.ndarray, np.ndarray, np.ndarray],
    rows: np.ndarray,
    cols: np.ndarray,
) -> np.ndarray:
    """For each (a, b) asked: max over a' != a, b' != b of
    min(side[a, b'], far[a', b'], side[a', b]); -inf when no rectangle has room."""
    best, arg, second = product  # transposed: (b, b'), so each asked cell takes a row
    width = np.minimum(side[rows], best[cols])  # (asked, b')
    left_out = arg[cols] == rows[:, None]  # the best row is the cell's own: take the second
    at = np.nonzero(left_out)
    width[at] = np.minimum(side[rows[at[0]], at[1]], second[cols[at[0]], at[1]])
    width[np.arange(len(rows)), cols] = -np.inf  # b' = b is no rectangle
    return width.max(axis=1, initial=-np.inf)


class _Levels:
    """Per movement threshold d: which suppressed cells have room d up and down, and the
    (columns x columns) product both directions share, each computed once per ``prove``."""

    def __init__(self, a, b, shape, suppressed, y_up, y_down) -> None:
        self.a, self.b, self.shape = a, b, shape
        self.suppressed, self.y_up, self.y_down = suppressed, y_up, y_down
        self._at: dict[float, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}

    def at(self, d: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(can_up, can_down, can_up^T can_down, rows of both per line sums) at threshold d."""
        found = self._at.get(d)
        if found is None:
            can_up = _grid(self.a, self.b, self.shape, self.suppressed & (self.y_up >= d))
            can_down = _grid(self.a, self.b, self.shape, self.suppressed & (self.y_down >= d))
            both = can_up * can_down
            found = self._at[d] = (can_up, can_down, _product(can_up, can_down), both)
        return found


def _movable(grids: _Levels, cells, need, direction) -> np.ndarray:
    """Whether each of ``cells`` can move its y by ``need`` in ``direction`` (+1 up, -1 down).

    Moving y_c up by d: (a, b') and (a', b) go down by d, (a', b') up by d. Down: reversed.
    """
    ok = need <= 0
    todo = ~ok
    if not todo.any():
        return ok
    level = np.ceil(np.log(np.maximum(need[todo], 1e-300)) / np.log(BUCKET))
    idx = np.flatnonzero(todo)
    a, b = grids.a[cells], grids.b[cells]
    for lv in np.unique(level):
        d = BUCKET**lv
        pick = idx[level == lv]
        can_up, can_down, up_down, both = grids.at(d)
        for sgn in (1.0, -1.0):
            sel = pick[direction[pick] == sgn]
            if len(sel) == 0:
                continue
            # Up: the two side corners go down, the opposite corner up; down: reversed.
            # far^T side is can_up^T can_down going up, its transpose going down.
            if sgn > 0:
                side, inner = can_down, up_down
            else:
                side, inner = can_up, up_down.T
            own = (grids.y_up if sgn > 0 else grids.y_down)[cells[sel]] >= need[sel]
            ok[sel] = own & (_count(side, both, inner, a[sel], b[sel]) > 0)
    return ok


def _grid(a, b, shape, mask) -> np.ndarray:
    # int32, not float: integer matmul stays exact and does not start BLAS threads, which on
    # a busy machine cost more than the product itself.
    g = np.zeros(shape, dtype=np.int32)
    g[a[mask], b[mask]] = 1
    return g


# Up to this many multiply-adds the dense integer product beats building sparse matrices
# (both are exact: the counts are the same integers).
DENSE_PRODUCT = 4_000_000


def _product(far: np.ndarray, side: np.ndarray) -> np.ndarray:
    """far^T side, (C, C): for columns b', b the rows a' where both hold."""
    rows, cols = far.shape
    if rows * cols * cols <= DENSE_PRODUCT:
        return far.T @ side
    from scipy import sparse

    # Sparse: a third of the dense integer product's time on big half-empty grids.
    return (sparse.csr_matrix(far).T @ sparse.csr_matrix(side)).toarray()


def _count(
    side: np.ndarray, both: np.ndarray, inner: np.ndarray, rows: np.ndarray, cols: np.ndarray
) -> np.ndarray:
    """Rectangles (a', b') with side[a, b'], far[a', b'], side[a', b] for each (a, b) asked,
    given ``both`` = side * far and ``inner`` = far^T side.

    sum over b' of side[a, b'] * inner[b', b], less the degenerate a' = a or b' = b.
    """
    total = np.einsum("ij,ji->i", side[rows], inner[:, cols])
    # a' = a: side[a, b'] far[a, b'] side[a, b] summed over b'; b' = b likewise over a'.
    own = side[rows, cols]
    same_row = both.sum(axis=1)[rows] * own
    same_col = both.sum(axis=0)[cols] * own
    overlap = own * both[rows, cols]
    return total - same_row - same_col + overlap


def sub_table(
    coords: np.ndarray,
    values: np.ndarray,
    suppressed: np.ndarray,
    asked: np.ndarray,
    extra: int,
    crossing: bool = True,
) -> np.ndarray:
    """Suppressed cells of a sub-table around ``asked``: along the longer axis, the lines
    holding asked cells, the total line, the ``extra`` lines with most suppressed cells (many
    ways round) and the ``extra`` lines with the largest suppressed sum (room to move far);
    with ``crossing``, for a few asked cells also every line crossing them in a suppressed
    cell (the shortest ways round; in a table suppressed in every column that is all of it).

    Auditing the sub-table with every other cell held at its true value is sound: a point
    it finds is a point of the whole table's polytope (held cells satisfy their bounds).
    """
    long_axis = int(np.argmax(coords.max(axis=0, initial=0)))
    line = coords[:, long_axis].astype(np.int64) + 1  # the total line (-1) becomes 0
    across = coords[:, 1 - long_axis]
    n_lines = int(line.max(initial=0)) + 1
    counts = np.bincount(line[suppressed], minlength=n_lines)
    mass = np.bincount(line[suppressed], weights=np.abs(values[suppressed]), minlength=n_lines)
    keep = np.zeros(n_lines, dtype=bool)
    keep[0] = True
    wanted = asked & suppressed
    keep[line[wanted]] = True
    keep[np.argsort(-counts, kind="stable")[:extra]] = True
    keep[np.argsort(-mass, kind="stable")[:extra]] = True
    if crossing and wanted.sum() <= FEW:
        keep[line[suppressed & np.isin(across, across[wanted])]] = True
    return suppressed & keep[line]
