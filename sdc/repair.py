"""Repair an audit failure with one LP: which cells must be released to protect a cell?

For a suppressed cell c that cannot reach its target (up or down) we solve, in a
neighbourhood of c, the LP "move c to its target; suppressed cells move freely; every other
non-empty cell may move at a cost per unit; all relations keep holding". The cells that the
optimum moves are the cheapest set whose suppression makes the target reachable: the LP's own
solution is the witness. (The LP relaxation of the classic Fischetti–Salazar attacker cut.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np

from sdc.relations import Relations

# Repair LPs with more columns than this run interior point (with crossover, so the optimum
# is a vertex as the simplex's is), without presolve: a cell of a 100k-cell two-way table
# gives a repair LP of 120,917 columns, 1.9 s by interior point (2.9 s with presolve)
# against 7.1 s by the dual simplex.
IPM_FROM = 10_000


def neighbourhood(rel: Relations, cell: int, depth: int) -> np.ndarray:
    """Cells reachable from ``cell`` through at most ``depth`` relations."""
    seen = np.zeros(rel.matrix.shape[1], dtype=bool)
    seen[cell] = True
    frontier = np.array([cell])
    for _ in range(depth):
        rels = np.unique(rel.by_cell[:, frontier].indices)
        reached = np.unique(rel.matrix[rels].indices)
        frontier = reached[~seen[reached]]
        seen[frontier] = True
        if len(frontier) == 0:
            break
    return np.flatnonzero(seen)


def cells_to_release(
    rel: Relations,
    values: np.ndarray,
    suppressed: np.ndarray,
    candidate: np.ndarray,
    weight: np.ndarray,
    lower_bound: np.ndarray,
    cell: int,
    target: float,
    depth: int,
    fits: Callable[[int], bool] | None = None,
) -> np.ndarray | Literal[False] | None:
    """Unsuppressed cells to suppress so that ``cell`` can reach ``target`` (None: cannot).
    ``fits`` is asked for the LP's columns first: False from it, False without an LP."""
    from scipy import sparse
    from scipy.optimize import linprog

    region = neighbourhood(rel, cell, depth)
    sup = region[suppressed[region]]
    cand = region[candidate[region] & ~suppressed[region]]
    rows = np.unique(rel.by_cell[:, np.concatenate([sup, cand])].indices)
    a = rel.matrix[rows]
    scale = max(1.0, float(np.abs(values[a.indices]).max(initial=0.0)))
    fixed = values.copy()
    fixed[sup] = 0.0
    # x_sup free; candidates x = v + up - down with up, down >= 0 at a cost per unit.
    a_s, a_c = a[:, sup], a[:, cand]
    a_eq = sparse.hstack([a_s, a_c, -a_c], format="csr")
    if fits is not None and not fits(a_eq.shape[1]):
        return False
    # Everything not free stays on the right-hand side, candidates at their true values.
    b_eq = -(a @ fixed) / scale
    cost = np.concatenate([np.zeros(len(sup)), weight[cand], weight[cand]])
    lo = np.concatenate([lower_bound[sup], np.zeros(2 * len(cand))]) / scale
    room = np.maximum(values[cand] - lower_bound[cand], 0.0)  # how far a candidate can drop
    hi = np.concatenate([np.full(len(sup), np.inf), np.full(len(cand), np.inf), room]) / scale
    i = int(np.flatnonzero(sup == cell)[0])
    if target >= values[cell]:
        lo[i] = target / scale
    else:
        hi[i] = max(target, lower_bound[cell]) / scale
    bounds = np.column_stack([lo, hi])
    method = "highs-ipm" if a_eq.shape[1] > IPM_FROM else "highs"
    options = {"presolve": method == "highs"}
    res = linprog(cost, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method=method, options=options)
    if res.status != 0:
        return None
    moved = res.x[len(sup) : len(sup) + len(cand)] + res.x[len(sup) + len(cand) :]
    return cand[moved * scale > 1e-7 * max(1.0, abs(values[cell]))]
