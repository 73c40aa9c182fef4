"""LP-free proofs on two-way tables with margins: maximum flows through suppressed cells.

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
+-1) and against the lower bounds. A cell it leaves unproven goes on to the LP audit.

SciPy's ``maximum_flow`` solves each flow: about 0.15 ms on a dashboard table, 1.5 ms with
50,000 suppressed cells, where one LP over the component takes half a second.
"""

from __future__ import annotations

import math

import numpy as np

from sdc.audit import Targets
from sdc.rectangles import axes, need, rooms, settled, signs
from sdc.relations import Relations

# Flows per call at most, and the most open cells for which they are tried at all: many open
# cells are the LP's push rounds' case (one LP moves them all at once); see ``open_limit``.
MAX_FLOWS = 96
MAX_OPEN = 48
FEW_OPEN = 6
CELLS_PER_FLOW = 64
# A flow's need in at most 2**UNIT_BITS units: SciPy's flows are 32-bit integers.
UNIT_BITS = 16


def moves(
    coords: np.ndarray,
    rel: Relations,
    values: np.ndarray,
    component: np.ndarray,
    t: Targets,
    up: np.ndarray,
    down: np.ndarray,
    asked: np.ndarray,
) -> int:
    """Flows over ``component`` (suppressed cells linked by relations, ids) for its cells of
    ``asked`` that ``up`` and ``down`` (bool per cell: movement proven, updated in place)
    leave unsettled: a primary needs both ways, a secondary either way. How many flows ran
    (none when more cells are open than ``open_limit`` allows)."""
    open_cells = asked[component] & ~settled(t.eps[component], up[component], down[component])
    cells = component[open_cells]
    if len(cells) == 0 or len(cells) > open_limit(len(component)):
        return 0
    net = _Network(coords, values, component, t.lower_bound)
    need_up, need_down = need(values, t)
    primary = np.isnan(t.eps)
    flows = 0
    for c in map(int, cells):
        for going_up in (True, False):
            done = up if going_up else down
            if done[c]:
                continue
            if flows == MAX_FLOWS:
                return flows
            flows += 1
            amount = float(need_up[c] if going_up else need_down[c])
            done[c] = amount <= 0  # no movement required
            move = net.movement(rel, values, c, amount, 1.0 if going_up else -1.0)
            if move is not None:
                # A witness: it moves other open cells too, maybe as far as they need.
                up[cells] |= move[cells] >= need_up[cells]
                down[cells] |= -move[cells] >= need_down[cells]
            if done[c] != primary[c]:
                break  # a primary that cannot move one way; a secondary that can
    return flows


def open_limit(component: int) -> int:
    """Most open cells for which flows run on a component of this many cells.

    A flow costs about 0.3 ms on a small component; the LP audit's push rounds about 2 ms
    there, whatever the number of open cells, and more on larger ones (2,800 cells: 22 ms
    against 7.6 ms for twelve flows; 46,000 cells: half a second for one LP).
    """
    return min(MAX_OPEN, max(FEW_OPEN, component // CELLS_PER_FLOW))


class _Network:
    """The suppressed cells of one pattern as a flow network: row nodes, column nodes and a
    source node feeding the flow's start, as a CSR matrix built once (capacities per flow)."""

    def __init__(self, coords, values, cells, lower_bound) -> None:
        from scipy import sparse

        a, b = axes(coords)
        n_rows = int(a.max(initial=0)) + 1
        n_nodes = n_rows + int(b.max(initial=0)) + 2
        self.source = n_nodes - 1
        self.sign = signs(coords)
        y_up, y_down = rooms(self.sign, values, lower_bound)
        self.cells = cells
        self.row, self.col = a, n_rows + b  # node of each cell's row and column
        k = self.cells
        others = np.arange(n_nodes - 1)
        # Arcs: each suppressed cell row -> column (y up) and column -> row (y down), then the
        # source to every other node (capacity only at the start of the flow being solved).
        tail = np.concatenate([self.row[k], self.col[k], np.full(len(others), self.source)])
        head = np.concatenate([self.col[k], self.row[k], others])
        self.room = np.concatenate([y_up[k], y_down[k], np.zeros(len(others))])
        self.graph = sparse.csr_matrix(
            (np.arange(len(tail)) + 1, (tail, head)), shape=(n_nodes, n_nodes)
        )
        self.graph.sort_indices()
        # Where each arc's capacity lives in the CSR data (arcs are distinct pairs).
        self.at = np.empty(len(tail), dtype=np.int64)
        self.at[self.graph.data - 1] = np.arange(len(tail))
        self.n_arcs = len(tail)
        self.n_cells = len(k)
        self.index = np.full(len(values), -1)
        self.index[k] = np.arange(len(k))
        self.y_up, self.y_down = y_up, y_down
        self.lower_bound = lower_bound

    def movement(
        self, rel: Relations, values, c: int, amount: float, direction: float
    ) -> np.ndarray | None:
        """A verified movement of the values (0 outside the component) that takes cell
        ``c``'s value ``amount`` up (direction +1) or down (-1) while keeping every relation
        and bound, or None when the flow finds none."""
        from scipy import sparse
        from scipy.sparse.csgraph import maximum_flow

        y_dir = direction * self.sign[c]
        if amount <= 0 or (self.y_up[c] if y_dir > 0 else self.y_down[c]) < amount:
            return None  # nothing to move, or the cell itself has no room to move that far
        unit = 2.0 ** (math.frexp(amount)[1] - UNIT_BITS)
        goal = math.ceil(amount / unit)
        cap = np.minimum(np.floor(self.room / unit), goal)
        i = self.index[c]
        cap[[i, self.n_cells + i]] = 0  # the cell's own arcs: its move closes the cycle
        # y up: from its column back to its row; y down: from its row to its column.
        start, end = (self.col[c], self.row[c]) if y_dir > 0 else (self.row[c], self.col[c])
        cap[2 * self.n_cells + start] = goal
        data = np.empty(self.n_arcs, dtype=np.int32)
        data[self.at] = cap
        g = self.graph
        network = sparse.csr_matrix((data, g.indices, g.indptr), shape=g.shape)
        result = maximum_flow(network, self.source, int(end))
        if result.flow_value < goal:
            return None
        return self._verified(rel, values, result.flow, c, goal * y_dir, unit, amount, direction)

    def _verified(self, rel, values, flow, c, y_c, unit, amount, direction) -> np.ndarray | None:
        """The flow as a movement of the values, checked in whole units: every relation
        holds exactly, no value passes its lower bound, and ``c`` moves ``amount``."""
        k = self.cells
        n = flow.shape[0]
        if not flow.has_sorted_indices:
            flow = flow.sorted_indices()
        # Entries in CSR order with sorted columns: their keys row * n + column ascend.
        keys = np.repeat(np.arange(n, dtype=np.int64) * n, np.diff(flow.indptr)) + flow.indices
        want = self.row[k].astype(np.int64) * n + self.col[k]
        pos = np.minimum(np.searchsorted(keys, want), len(keys) - 1)
        y = np.where(keys[pos] == want, flow.data[pos], 0).astype(np.float64)
        y[self.index[c]] = y_c
        move = np.zeros(len(values))
        move[k] = y * self.sign[k]  # whole units: exact in float arithmetic
        if np.any(rel.matrix @ move):
            return None
        move *= unit  # a power of two: still exact
        finite = np.isfinite(self.lower_bound)
        if np.any(values[finite] + move[finite] < self.lower_bound[finite]):
            return None
        return move if direction * move[c] >= amount else None
