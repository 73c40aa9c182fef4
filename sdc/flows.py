"""Two-way tables with margins as flow networks: proofs, failures and repairs without LPs.

In y (the values with every total row and column sign-flipped, see ``sdc.rectangles``) a
movement of the suppressed cells keeps every relation exactly when each line sums to 0: a
circulation on the bipartite graph of rows and columns with one edge per suppressed cell
(flow from its row to its column raises its y, the other way lowers it, each within the
cell's room). Raising cell (a, b) by t is then a flow of t from column b back to row a
through the other suppressed cells, lowering it a flow from a to b; the largest such
movement is a maximum flow. That is the LP audit's own optimum (a two-way table's LP is a
network flow problem); a rectangle is the flow along one 4-cycle, so flows also prove cells
that only several rectangles or longer cycles move far enough.

A flow proves a cell only through the movement it describes: capacities are whole units
``u`` (a power of two, the cell's need in at most 2**16 of them) rounded down, so the
movement stays within every cell's room; it is rebuilt as a movement of the values and
checked against the table's relations in exact arithmetic (whole units, products of
+-1) and against the lower bounds. A cell it leaves unproven goes on to the LP audit,
unless a flow over every room rounded *up* falls short too (``moves`` with ``judge``): then
the cell fails without an LP. The repair LP of ``sdc.repair`` is a minimum-cost flow here
(``release``).

Each flow is a maximum flow: on networks of at most ``SMALL_ARCS`` arcs (a dashboard's
tables) Dinic's algorithm in plain Python (``_dinic``), about 0.05-0.1 ms where SciPy's
``maximum_flow`` spends 0.3 ms setting up; on larger ones SciPy's, 1.5 ms with 50,000
suppressed cells, where one LP over the component takes half a second.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from sdc.audit import Targets
from sdc.rectangles import axes, need, rooms, settled, signs
from sdc.relations import Relations, entries

# Flows per call at most, and the most open cells for which they are tried at all: many open
# cells are the LP's push rounds' case (one LP moves them all at once); see ``open_limit``.
MAX_FLOWS = 96
MAX_OPEN = 48
FEW_OPEN = 6
CELLS_PER_FLOW = 64
# A flow's need in at most 2**UNIT_BITS units: SciPy's flows are 32-bit integers.
UNIT_BITS = 16
# Networks of at most this many arcs are solved in plain Python (``_dinic``), larger ones by
# SciPy: measured on the bench's tables with margins, Python takes 0.05-0.1 ms on 420 arcs
# where SciPy takes 0.28 ms; on random tables with margins the two meet at about 2,500 arcs.
SMALL_ARCS = 2_000


def moves(
    coords: np.ndarray,
    rel: Relations,
    values: np.ndarray,
    component: np.ndarray,
    t: Targets,
    up: np.ndarray,
    down: np.ndarray,
    asked: np.ndarray,
    judge: bool = False,
    frame: Frame | None = None,
) -> tuple[int, list[tuple[int, bool]] | None]:
    """Flows over ``component`` (suppressed cells linked by relations, ids) for its cells of
    ``asked`` that ``up`` and ``down`` (bool per cell: movement proven, updated in place)
    leave unsettled: a primary needs both ways, a secondary either way.

    Returns how many flows ran (none when more cells are open than ``open_limit`` allows)
    and, with ``judge``, the cells shown to fail as the LP audit lists them ((cell, True)
    for up and for a secondary, (cell, False) for down) when every open cell was either
    proven or shown to fail; else None. Only for tables whose every line has its total
    (``complete``): a flow over rooms rounded *up* that falls short bounds the LP's
    optimum from above, which holds when the relations are exactly the line sums.
    ``frame``: the table's ``Frame`` from an earlier call (computed here when it is not
    that of ``coords``, ``values`` and the lower bounds).
    """
    open_cells = asked[component] & ~settled(t.eps[component], up[component], down[component])
    cells = component[open_cells]
    if len(cells) == 0 or len(cells) > open_limit(len(component)):
        return 0, None
    net = _Network(frame_of(frame, coords, values, t.lower_bound), component)
    # Required movements of the component's cells only: the rest of the table is not read.
    need_up, need_down = np.zeros(len(values)), np.zeros(len(values))
    need_up[component], need_down[component] = need(values, t, component)
    flows = 0
    failing: list[tuple[int, bool]] | None = [] if judge else None
    for c in map(int, cells):
        primary = bool(np.isnan(t.eps[c]))
        lost = []
        for going_up in (True, False):
            done = up if going_up else down
            if done[c]:
                continue
            if flows >= MAX_FLOWS:
                return flows, None
            flows += 1
            amount = float(need_up[c] if going_up else need_down[c])
            direction = 1.0 if going_up else -1.0
            done[c] = amount <= 0  # no movement required
            move = net.movement(rel, values, c, amount, direction)
            if move is not None:
                # A witness: it moves other open cells too, maybe as far as they need.
                up[cells] |= move[cells] >= need_up[cells]
                down[cells] |= -move[cells] >= need_down[cells]
            elif judge and not done[c]:
                flows += 1
                if net.falls_short(c, amount, direction):
                    lost.append(going_up)
            if done[c] and not primary:
                break  # a secondary needs one way
            if not done[c] and primary and going_up not in lost:
                break  # neither proven nor shown to fail: the LP judges this cell
        if failing is not None:
            verdict = _verdict(primary, bool(up[c]), bool(down[c]), lost)
            failing = None if verdict is None else failing + [(c, way) for way in verdict]
    return flows, failing


def _verdict(primary: bool, up: bool, down: bool, lost: list[bool]) -> list[bool] | None:
    """The ways one cell fails (True: up, or a secondary either way; False: down), or None
    when it was neither proven nor shown to fail (the LP judges it)."""
    if primary:
        return lost if (up or True in lost) and (down or False in lost) else None
    if up or down:
        return []
    return [True] if len(lost) == 2 else None


def complete(coords: np.ndarray) -> bool:
    """Whether a two-way table holds the grand total and every row's and column's total:
    then its relations are exactly the line sums."""
    row, col = coords[:, 0], coords[:, 1]
    with_total = np.unique(row[col < 0]), np.unique(col[row < 0])  # the grand total: -1 in both
    return np.array_equal(np.unique(row), with_total[0]) and np.array_equal(
        np.unique(col), with_total[1]
    )


def open_limit(component: int) -> int:
    """Most open cells for which flows run on a component of this many cells.

    A flow costs about 0.3 ms on a small component; the LP audit's push rounds about 2 ms
    there, whatever the number of open cells, and more on larger ones (2,800 cells: 22 ms
    against 7.6 ms for twelve flows; 46,000 cells: half a second for one LP).
    """
    return min(MAX_OPEN, max(FEW_OPEN, component // CELLS_PER_FLOW))


@dataclass(frozen=True, slots=True)
class Frame:
    """What every flow over one table shares, computed once for all its components: each
    cell's row and column node, its sign and its rooms (for ``coords``, ``values`` and
    ``lower_bound``, which it keeps to tell whether it fits another call)."""

    coords: np.ndarray
    values: np.ndarray
    lower_bound: np.ndarray
    row: np.ndarray  # node of each cell's row
    col: np.ndarray  # node of each cell's column
    n_rows: int
    n_nodes: int  # rows, columns and the source
    sign: np.ndarray
    y_up: np.ndarray
    y_down: np.ndarray

    @classmethod
    def of(cls, coords: np.ndarray, values: np.ndarray, lower_bound: np.ndarray) -> Frame:
        a, b = axes(coords)
        n_rows = int(a.max(initial=0)) + 1
        n_nodes = n_rows + int(b.max(initial=0)) + 2
        sign = signs(coords)
        y_up, y_down = rooms(sign, values, lower_bound)
        return cls(coords, values, lower_bound, a, n_rows + b, n_rows, n_nodes, sign, y_up, y_down)

    def fits(self, coords: np.ndarray, values: np.ndarray, lower_bound: np.ndarray) -> bool:
        return self.coords is coords and self.values is values and self.lower_bound is lower_bound


def frame_of(
    frame: Frame | None, coords: np.ndarray, values: np.ndarray, lower_bound: np.ndarray
) -> Frame:
    """``frame`` when it is that of these arrays (the same objects), else a new one."""
    if frame is not None and frame.fits(coords, values, lower_bound):
        return frame
    return Frame.of(coords, values, lower_bound)


class _Network:
    """The suppressed cells of one pattern as a flow network: row nodes, column nodes and a
    source node feeding the flow's start, as a CSR matrix built once (capacities per flow).
    Only the component's cells are read: the table-wide parts come from its ``Frame``."""

    def __init__(self, frame: Frame, cells: np.ndarray) -> None:
        from scipy import sparse

        n_rows, n_nodes = frame.n_rows, frame.n_nodes
        self.n_rows, self.source = n_rows, n_nodes - 1
        self.sign = frame.sign
        y_up, y_down = frame.y_up, frame.y_down
        self.cells = cells
        self.row, self.col = frame.row, frame.col
        k = self.cells
        others = np.arange(n_nodes - 1)
        # Arcs: each suppressed cell row -> column (y up) and column -> row (y down), then the
        # source to every other node (capacity only at the start of the flow being solved).
        tail = np.concatenate([self.row[k], self.col[k], np.full(len(others), self.source)])
        head = np.concatenate([self.col[k], self.row[k], others])
        self.room = np.concatenate([y_up[k], y_down[k], np.zeros(len(others))])
        self.n_arcs = len(tail)
        self.small = self.n_arcs <= SMALL_ARCS
        if self.small:
            # Residual arcs for ``_dinic``: 2i is arc i, 2i + 1 its reverse.
            ends = np.empty(2 * len(tail), dtype=np.int64)
            ends[0::2], ends[1::2] = head, tail
            self.ends = ends.tolist()
            out: list[list[int]] = [[] for _ in range(n_nodes)]
            for e, u in enumerate(np.column_stack([tail, head]).ravel().tolist()):
                out[u].append(e)
            self.out = out
        else:
            self.graph = sparse.csr_matrix(
                (np.arange(len(tail)) + 1, (tail, head)), shape=(n_nodes, n_nodes)
            )
            self.graph.sort_indices()
            # Where each arc's capacity lives in the CSR data (arcs are distinct pairs).
            self.at = np.empty(len(tail), dtype=np.int64)
            self.at[self.graph.data - 1] = np.arange(len(tail))
        self.n_cells = len(k)
        self.index = np.full(len(frame.values), -1)
        self.index[k] = np.arange(len(k))
        self.y_up, self.y_down = y_up, y_down
        self.lower_bound = frame.lower_bound
        # A cycle through a cell needs another of the component's cells in its row and one in
        # its column; a cell without (a line with no total, where the component lies along
        # the other line) moves by no flow at all.
        degree = np.bincount(np.concatenate([self.row[k], self.col[k]]), minlength=n_nodes)
        self.alone = (degree[self.row[k]] < 2) | (degree[self.col[k]] < 2)
        self._entries: tuple[Relations, tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None

    def movement(
        self, rel: Relations, values, c: int, amount: float, direction: float
    ) -> np.ndarray | None:
        """A verified movement of the values (0 outside the component) that takes cell
        ``c``'s value ``amount`` up (direction +1) or down (-1) while keeping every relation
        and bound, or None when the flow finds none."""
        found = self.flow(c, amount, direction)
        if found is None or found[1] < found[2]:
            return None
        y, _, goal, unit = found
        y[self.index[c]] = goal * direction * self.sign[c]
        k = self.cells
        step = y * self.sign[k]  # whole units: exact in float arithmetic
        # The movement is 0 off the component: the relations of its cells are all it can
        # break, and its cells' bounds all it can cross.
        at, relation, sign = self.relations_of(rel)
        if np.any(np.bincount(relation, weights=sign * step[at])):
            return None
        step *= unit  # a power of two: still exact
        bound = self.lower_bound[k]
        finite = np.isfinite(bound)
        if np.any(values[k][finite] + step[finite] < bound[finite]):
            return None
        move = np.zeros(len(values))
        move[k] = step
        return move if direction * move[c] >= amount else None

    def relations_of(self, rel: Relations) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``rel``'s entries on the component's cells (read once for every flow): for each,
        the cell's position among them, the relation and the entry (+1 or -1)."""
        if self._entries is None or self._entries[0] is not rel:
            self._entries = rel, entries(rel.by_cell, self.cells)
        return self._entries[1]

    def falls_short(self, c: int, amount: float, direction: float) -> bool:
        """Whether no movement takes ``c``'s value ``amount`` up or down: its own room is
        short, or a flow with every room rounded *up* stays below the goal (an upper bound
        of the LP's optimum where the relations are exactly the line sums)."""
        found = self.flow(c, amount, direction, np.ceil)
        return found is None or found[1] < found[2]

    def flow(
        self, c: int, amount: float, direction: float, rounding=np.floor
    ) -> tuple[np.ndarray, int, int, float] | None:
        """The largest flow (up to the goal) moving ``c``'s value ``amount`` up or down: the
        y-movement of every cell in whole units (``c``'s own entry 0), the units it moves
        ``c``, the goal (``amount`` in units rounded up) and the unit. None when there is
        nothing to move or ``c`` itself has no room to move that far."""
        from scipy import sparse
        from scipy.sparse.csgraph import maximum_flow

        y_dir = direction * self.sign[c]
        if amount <= 0 or (self.y_up[c] if y_dir > 0 else self.y_down[c]) < amount:
            return None
        unit = 2.0 ** (math.frexp(amount)[1] - UNIT_BITS)
        goal = math.ceil(amount / unit)
        i = self.index[c]
        if self.alone[i]:  # no path back to the cell: nothing flows (see ``__init__``)
            return np.zeros(self.n_cells), 0, goal, unit
        cap = np.minimum(rounding(self.room / unit), goal)
        cap[[i, self.n_cells + i]] = 0  # the cell's own arcs: its move closes the cycle
        # y up: from its column back to its row; y down: from its row to its column.
        start, end = (self.col[c], self.row[c]) if y_dir > 0 else (self.row[c], self.col[c])
        cap[2 * self.n_cells + start] = goal
        if self.small:
            residual = np.zeros(2 * self.n_arcs, dtype=np.int64)
            residual[0::2] = cap
            res = residual.tolist()
            value = _dinic(self.out, self.ends, res, self.source, int(end))
            moved = np.asarray(res[1 : 4 * self.n_cells : 2], dtype=np.float64)  # flow per arc
            n = self.n_cells
            return moved[:n] - moved[n:], value, goal, unit
        data = np.empty(self.n_arcs, dtype=np.int32)
        data[self.at] = cap
        g = self.graph
        result = maximum_flow(
            sparse.csr_matrix((data, g.indices, g.indptr), shape=g.shape), self.source, int(end)
        )
        flow, n = result.flow, g.shape[0]
        if not flow.has_sorted_indices:
            flow = flow.sorted_indices()
        # Entries in CSR order with sorted columns: their keys row * n + column ascend.
        keys = np.repeat(np.arange(n, dtype=np.int64) * n, np.diff(flow.indptr)) + flow.indices
        want = self.row[self.cells].astype(np.int64) * n + self.col[self.cells]
        pos = np.minimum(np.searchsorted(keys, want), len(keys) - 1)
        y = np.where(keys[pos] == want, flow.data[pos], 0).astype(np.float64)
        return y, int(result.flow_value), goal, unit


def _dinic(out: list[list[int]], ends: list[int], res: list[int], s: int, t: int) -> int:
    """The value of a maximum flow from ``s`` to ``t`` by Dinic's algorithm, leaving the
    residual capacities in ``res`` (residual arc 2i is arc i, 2i + 1 its reverse, so the
    flow on arc i ends up in ``res[2i + 1]``). ``out``: each node's residual arcs, ``ends``:
    each residual arc's head. Level graphs by breadth-first search, blocking flows by
    depth-first search along them without recursion."""
    total, n = 0, len(out)
    while True:
        level = [-1] * n
        level[s] = 0
        queue = [s]
        for u in queue:
            for e in out[u]:
                if res[e] and level[ends[e]] < 0:
                    level[ends[e]] = level[u] + 1
                    queue.append(ends[e])
        if level[t] < 0:
            return total
        nxt = [0] * n  # each node's next arc to try in this phase
        path: list[int] = []
        u = s
        while True:
            if u == t:
                pushed = min(res[e] for e in path)
                for e in path:
                    res[e] -= pushed
                    res[e ^ 1] += pushed
                total += pushed
                path.clear()
                u = s
                continue
            arcs, i = out[u], nxt[u]
            while i < len(arcs) and not (res[arcs[i]] and level[ends[arcs[i]]] == level[u] + 1):
                i += 1
            nxt[u] = i
            if i < len(arcs):
                path.append(arcs[i])
                u = ends[arcs[i]]
            elif path:  # a dead end: back to the arc's tail, past that arc
                u = ends[path.pop() ^ 1]
                nxt[u] += 1
            else:
                break  # no path left in this level graph


# Augmenting paths a repair may take before it leaves the cell to the repair LP.
MAX_PATHS = 200


def release(
    coords: np.ndarray,
    values: np.ndarray,
    suppressed: np.ndarray,
    candidate: np.ndarray,
    weight: np.ndarray,
    lower_bound: np.ndarray,
    cell: int,
    target: float,
    frame: Frame | None = None,
) -> np.ndarray | Literal[False] | None:
    """The repair LP of ``sdc.repair`` on a two-way table, as a minimum-cost flow.

    "Move ``cell`` to ``target``; suppressed cells move freely; a candidate moves at
    ``weight`` per unit": in y (see the module docstring) a flow of the cell's movement from
    one end of its edge to the other through the other cells' edges, at no cost through
    suppressed cells and at their weight through candidates. The cheapest flow (successive
    shortest paths, Dijkstra on reduced costs as SciPy's ``dijkstra`` runs it) is the
    LP's optimum; the candidates it moves are returned (empty: the target is reachable
    without any), None when no flow reaches the target, False when it took more than
    ``MAX_PATHS`` paths (the caller runs the LP). What it returns is only a choice of cells
    to suppress: the audit proves the pattern afterwards, as after the LP. ``frame``: as
    for ``moves``.
    """
    from scipy import sparse
    from scipy.sparse.csgraph import dijkstra

    # The suppressed cells' network (for the free part below) numbers the nodes and holds
    # every cell's sign and rooms.
    network = _Network(frame_of(frame, coords, values, lower_bound), np.flatnonzero(suppressed))
    n_rows, n_nodes = network.n_rows, network.source  # nodes without the flow's source
    sign, y_up, y_down = network.sign, network.y_up, network.y_down
    free = suppressed | candidate
    free[cell] = False
    k = np.flatnonzero(free)
    cost = np.where(suppressed[k], 0.0, weight[k])
    up_room, down_room = y_up[k], y_down[k]
    tail, head = network.row[k], network.col[k]  # each cell's edge: row -> column raises y
    at = np.full((n_rows, n_nodes - n_rows), -1)
    at[tail, head - n_rows] = np.arange(len(k))
    goal = max(target, lower_bound[cell]) - values[cell]
    y_dir = np.sign(goal) * sign[cell]
    remaining = abs(goal)
    if remaining == 0:
        return np.zeros(0, dtype=np.int64)
    if (y_up[cell] if y_dir > 0 else y_down[cell]) < remaining:
        return None
    row, col = network.row[cell], network.col[cell]
    start, end = (col, row) if y_dir > 0 else (row, col)
    tol = 1e-9 * max(1.0, remaining)
    y = np.zeros(len(k))
    # First the free part: the largest flow through suppressed cells alone (one maximum
    # flow, where the shortest paths would take one small step per path); no residual
    # cycle of negative cost can follow from flows of cost 0.
    found = network.flow(cell, remaining, float(np.sign(goal)))
    if found is not None:
        y_free, units, whole, unit = found
        if units >= whole:
            return np.zeros(0, dtype=np.int64)
        others = network.cells != cell
        y[np.searchsorted(k, network.cells[others])] = y_free[others] * unit
        remaining -= units * unit
    potential = np.zeros(n_nodes)
    tails, heads = np.concatenate([tail, head]), np.concatenate([head, tail])
    for _ in range(MAX_PATHS):
        # Residual edges of each cell: raising y (undoing a lowering first, at -cost) and
        # lowering it. Zero reduced costs stay stored: SciPy takes stored zeros as edges.
        cap = np.concatenate([np.where(y < 0, -y, up_room - y), np.where(y > 0, y, down_room + y)])
        price = np.concatenate([np.where(y < 0, -cost, cost), np.where(y > 0, -cost, cost)])
        live = cap > tol
        reduced = np.maximum(price + potential[tails] - potential[heads], 0.0)[live]
        graph = sparse.csr_matrix((reduced, (tails[live], heads[live])), shape=(n_nodes, n_nodes))
        dist, pred = dijkstra(graph, indices=start, return_predecessors=True)
        if not np.isfinite(dist[end]):
            return None
        path, v = [], end
        while v != start:
            u = pred[v]
            path.append((u, v))
            v = u
        edges = [
            (at[u, v - n_rows], 1.0) if u < n_rows else (at[v, u - n_rows], -1.0) for u, v in path
        ]
        room = [cap[i] if s > 0 else cap[len(k) + i] for i, s in edges]
        step = min(remaining, *room)
        for i, s in edges:
            y[i] += s * step
        remaining -= step
        potential += np.minimum(dist, dist[end])
        if remaining <= tol:
            moved = k[(np.abs(y) > tol) & ~suppressed[k]]
            return moved
    return False
