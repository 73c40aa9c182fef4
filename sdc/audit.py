"""LP audit of a suppression pattern (feasibility intervals, HiGHS via scipy).

An attacker knows every published cell, every additive relation and that values are
non-negative (except cells with negative contributions). For a suppressed cell c the
feasibility interval is [min x_c, max x_c] over that polytope. A primary cell passes when the
interval reaches ``value ± level``; a secondary cell passes when it is not determined exactly
(it can move by at least ``eps``).

Speed: the polytope splits into independent components (suppressed cells linked by shared
relations); within a component every LP solution is a *witness* point that may already prove
several cells safe, so a few "push everything" LPs usually replace two LPs per cell.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sdc.relations import Relations

# Largest violation of a relation or bound (in units of the component's largest value) for an
# LP solution to count as a witness: HiGHS' default primal feasibility tolerance.
WITNESS_TOL = 1e-7


class AuditError(RuntimeError):
    """A suppression pattern failed (or could not complete) its LP audit. Never published."""


@dataclass(frozen=True, slots=True, eq=False)
class Targets:
    """What the audit must prove for each cell (entries of unsuppressed cells are ignored)."""

    hi: np.ndarray  # the max must reach this (NaN: no upper requirement)
    lo: np.ndarray  # the min must reach this (NaN: no lower requirement)
    eps: np.ndarray  # secondary cells: required movement either way (NaN: not secondary)
    lower_bound: np.ndarray  # 0 or -inf per cell


@dataclass(slots=True)
class AuditOutcome:
    failing_up: list[int] = field(default_factory=list)
    failing_down: list[int] = field(default_factory=list)
    n_lps: int = 0

    @property
    def passed(self) -> bool:
        return not self.failing_up and not self.failing_down


def components(rel: Relations, suppressed: np.ndarray) -> list[np.ndarray]:
    """Suppressed cells grouped by shared relations (cells of one LP), sorted cell ids."""
    from scipy import sparse
    from scipy.sparse.csgraph import connected_components

    cells = np.flatnonzero(suppressed)
    if len(cells) == 0:
        return []
    sub = abs(rel.by_cell[:, cells]).tocsr()  # (n_relations, n_suppressed)
    graph = sparse.bmat([[None, sub], [sub.T, None]], format="csr")
    _, labels = connected_components(graph, directed=False)
    labels = labels[rel.n :]
    order = np.argsort(labels, kind="stable")
    splits = np.flatnonzero(np.diff(labels[order])) + 1
    return [cells[g] for g in np.split(order, splits)]


class _ComponentLP:
    """The attacker's LP restricted to one component: A_c x = b, bounds."""

    def __init__(self, rel: Relations, values: np.ndarray, suppressed: np.ndarray, cells, lb):
        from scipy.optimize import LinearConstraint

        rows = np.unique(rel.by_cell[:, cells].indices)
        a = rel.matrix[rows]
        published = np.where(suppressed, 0.0, values)
        # Work in units of the largest value: sums computed in another order differ in the
        # last bits, and unscaled that rounding noise can exceed HiGHS' feasibility tolerance.
        self.scale = max(1.0, float(np.abs(values[a.indices]).max(initial=0.0)))
        self.a_eq = a[:, cells].tocsr()
        self.b_eq = -(a @ published) / self.scale
        self.lb = lb[cells]
        self.n_lps = 0  # solver runs, retries included
        self._rows = LinearConstraint(self.a_eq, self.b_eq, self.b_eq)

    def solve(
        self, objective: np.ndarray, lo: np.ndarray, hi: np.ndarray, unbounded_ok: bool = False
    ) -> np.ndarray | None:
        """A verified optimal point (original units), or None when no attempt produced one.

        HiGHS' presolve can call a feasible LP infeasible when the cell values span many orders
        of magnitude (tens of billions next to single units): its reductions compare against
        absolute tolerances. So a failed attempt is retried without presolve and then with the
        dual simplex; every point returned is checked against the relations and bounds. None
        is never a verdict on the pattern, only "no witness from this LP".
        """
        lo, hi = lo / self.scale, hi / self.scale
        for run in self._attempts():
            self.n_lps += 1
            res = run(objective, lo, hi)
            if res.status == 3 and unbounded_ok:  # unbounded (both interfaces number it 3)
                return np.where(objective < 0, np.inf, np.where(objective > 0, -np.inf, np.nan))
            if res.status == 0 and res.x is not None and self._holds(res.x, lo, hi):
                return np.asarray(res.x) * self.scale
        return None

    def _attempts(self):
        from scipy.optimize import Bounds, linprog, milp

        a_eq, b_eq = self.a_eq, self.b_eq

        def linprog_run(method: str, presolve: bool):
            def run(objective, lo, hi):
                bounds = np.column_stack([lo, hi])
                options = {"presolve": presolve}
                return linprog(
                    objective, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method=method, options=options
                )

            return run

        def milp_run(objective, lo, hi):
            return milp(objective, constraints=self._rows, bounds=Bounds(lo, hi))

        # Interior point (with crossover) is several times faster on large components; on
        # small ones the same HiGHS through milp without integer columns has a third less
        # overhead per call than linprog, which dominates on dashboard queries.
        first = linprog_run("highs-ipm", True) if a_eq.shape[1] > 400 else milp_run
        return (first, linprog_run("highs-ipm", False), linprog_run("highs-ds", False))

    def _holds(self, x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> bool:
        """``x`` satisfies every relation and bound within the solver's own tolerance."""
        if not np.all(np.isfinite(x)):
            return False
        residual = np.abs(self.a_eq @ x - self.b_eq).max(initial=0.0)
        below = np.max(lo - x, initial=0.0)
        above = np.max(x - hi, initial=0.0)
        return bool(max(residual, below, above) <= WITNESS_TOL)


def audit(
    rel: Relations,
    values: np.ndarray,
    suppressed: np.ndarray,
    t: Targets,
    comps: list[np.ndarray] | None = None,
) -> AuditOutcome:
    """Audit every component; list the cells whose interval is too narrow."""
    out = AuditOutcome()
    for cells in comps if comps is not None else components(rel, suppressed):
        up, down, n = audit_component(rel, values, suppressed, t, cells)
        out.failing_up += up
        out.failing_down += down
        out.n_lps += n
    return out


def audit_component(
    rel,
    values,
    suppressed,
    t: Targets,
    cells,
    max_single: int = 1_000_000,
    known: np.ndarray | None = None,
) -> tuple[list, list, int]:
    """Failing cells (up, down) of one component; ``max_single`` caps the per-cell LPs.

    ``known`` marks cells already proven under a pattern that this one contains: suppressing
    more cells only frees more variables, so a proven interval can only widen.
    """
    lp = _ComponentLP(rel, values, suppressed, cells, t.lower_bound)
    v = values[cells]
    scale = max(1.0, float(np.abs(v).max(initial=0.0)))
    tol = 1e-7 * scale
    hi, lo, eps = t.hi[cells], t.lo[cells], np.nan_to_num(t.eps[cells])
    secondary = ~np.isnan(t.eps[cells])
    primary = ~secondary
    # Secondary cells must move either way by eps; as push targets use v ± eps.
    hi = np.where(secondary, v + eps, hi)
    lo = np.where(secondary, v - eps, lo)
    can_go_down = primary | (v - eps >= lp.lb - tol)
    proven = np.zeros(len(cells), dtype=bool) if known is None else known[cells]
    up_ok = np.isnan(hi) | (v >= hi - tol) | proven
    down_ok = np.isnan(lo) | (v <= lo + tol) | proven
    moved = proven.copy()

    def witness(x: np.ndarray | None) -> None:
        if x is None:  # no verified point: proves nothing, the cells stay unproven
            return
        up_ok[:] |= x >= hi - tol
        down_ok[:] |= x <= lo + tol
        moved[:] |= np.abs(x - v) >= eps - tol

    def need_up() -> np.ndarray:
        return (primary & ~up_ok) | (secondary & ~moved)

    def need_down() -> np.ndarray:
        return ((primary & ~down_ok) | (secondary & ~moved)) & can_go_down

    free_hi = np.full(len(cells), np.inf)
    _push_rounds(lp, witness, need_up, hi, lp.lb, free_hi, sign=-1.0)
    _push_rounds(lp, witness, need_down, lo, lp.lb, free_hi, sign=1.0)
    if need_up().sum() + need_down().sum() > max_single:
        # Too many unproven cells to settle one LP each: report them all as failing. The
        # caller protects them further, so this only trades a little suppression for time.
        return _failures(cells, primary, secondary, up_ok, down_ok, moved, lp.n_lps)
    # Cells no push round could prove: one exact LP per cell and direction.
    for i in map(int, np.flatnonzero(need_up())):
        if need_up()[i]:
            witness(lp.solve(_unit(len(cells), i, -1.0), lp.lb, _capped(free_hi, i, hi[i])))
    for i in map(int, np.flatnonzero(need_down())):
        if need_down()[i]:
            floor = lp.lb.copy()
            floor[i] = max(lo[i], lp.lb[i])
            witness(lp.solve(_unit(len(cells), i, 1.0), floor, free_hi))
    return _failures(cells, primary, secondary, up_ok, down_ok, moved, lp.n_lps)


def _failures(cells, primary, secondary, up_ok, down_ok, moved, n_lps):
    fail_up = (primary & ~up_ok) | (secondary & ~moved)
    fail_down = primary & ~down_ok
    return cells[fail_up].tolist(), cells[fail_down].tolist(), n_lps


def _push_rounds(lp, witness, need, target, lb, free_hi, sign: float, max_rounds: int = 8):
    """Push all still-unproven cells towards their targets at once until no progress."""
    for _ in range(max_rounds):
        todo = need()
        if not todo.any():
            return
        lo, hi = lb.copy(), free_hi.copy()
        if sign < 0:  # maximise, capped at the target so the LP is bounded
            hi[todo] = target[todo]
        else:  # minimise, floored at the target
            lo[todo] = np.maximum(target[todo], lb[todo])
        x = lp.solve(np.where(todo, sign, 0.0), lo, hi)
        witness(x)
        if x is None or need().sum() == todo.sum():
            return


def _unit(n: int, i: int, sign: float) -> np.ndarray:
    c = np.zeros(n)
    c[i] = sign
    return c


def _capped(free_hi: np.ndarray, i: int, cap: float) -> np.ndarray:
    hi = free_hi.copy()
    hi[i] = cap
    return hi


def feasibility_intervals(
    rel: Relations,
    values: np.ndarray,
    suppressed: np.ndarray,
    lower_bound: np.ndarray | None = None,
) -> dict[int, tuple[float, float]]:
    """Exact [min, max] of every suppressed cell (two LPs per cell; for tests and reports)."""
    lb = np.zeros(len(values)) if lower_bound is None else lower_bound
    out = {}
    for cells in components(rel, suppressed):
        lp = _ComponentLP(rel, values, suppressed, cells, lb)
        free = np.full(len(cells), np.inf)
        for i, c in enumerate(cells):
            # Uncapped: a cell that may be negative can be unbounded below (-inf), and any
            # cell unbounded above (+inf): the best possible protection either way.
            low = lp.solve(_unit(len(cells), i, 1.0), lp.lb, free, unbounded_ok=True)
            high = lp.solve(_unit(len(cells), i, -1.0), lp.lb, free, unbounded_ok=True)
            if low is None or high is None:
                raise AuditError("a feasibility interval could not be computed")
            out[int(c)] = (float(low[i]), float(high[i]))
    return out
