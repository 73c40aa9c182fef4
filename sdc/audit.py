"""LP audit of a suppression pattern (feasibility intervals, HiGHS as SciPy ships it).

An attacker knows every published cell, every additive relation and that values are
non-negative (except cells with negative contributions). For a suppressed cell c the
feasibility interval is [min x_c, max x_c] over that polytope. A primary cell passes when the
interval reaches ``value ± level``; a secondary cell passes when it is not determined exactly
(it can move by at least ``eps``).

Speed: the polytope splits into independent components (suppressed cells linked by shared
relations); within a component every LP solution is a *witness* point that may already prove
several cells safe, so a few "push everything" LPs usually replace two LPs per cell.

No tolerance comes from the component's largest value: each cell is judged against its own
target, rounded outwards, and a solver point proves it exactly (as a fraction with a small
denominator, checked in integer arithmetic) or within the point's own measured violation
(``audit_component`` says what exactly is guaranteed).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sdc.relations import Relations, entries

# Largest violation of a relation or bound for an LP solution to count at all (HiGHS' default
# primal feasibility tolerance), in the LP's own units (the component's largest value, or its
# largest required movement if that is larger). Proofs never rest on it alone: see
# ``audit_component``.
WITNESS_TOL = 1e-7

# The largest violation E of a polished point (grid units) forgiven against a cell's target.
TINY = 1e-2


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
    # Nodes: the relations, then the suppressed cells; an edge from each relation to each of
    # its suppressed cells (made symmetric by ``directed=False``).
    at, relation, _ = entries(rel.by_cell, cells)
    n = rel.n + len(cells)
    edges = np.ones(len(at), dtype=np.int8)
    graph = sparse.csr_matrix((edges, (relation, rel.n + at)), shape=(n, n))
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
        for run in _attempts(self.a_eq, self.b_eq, self._rows):
            self.n_lps += 1
            res = run(objective, lo, hi)
            if res.status == 3 and unbounded_ok:  # unbounded (both interfaces number it 3)
                return np.where(objective < 0, np.inf, np.where(objective > 0, -np.inf, np.nan))
            if res.status == 0 and res.x is not None and self._holds(res.x, lo, hi):
                return np.asarray(res.x) * self.scale
        return None

    def _holds(self, x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> bool:
        """``x`` satisfies every relation and bound within the solver's own tolerance."""
        if not np.all(np.isfinite(x)):
            return False
        residual = np.abs(self.a_eq @ x - self.b_eq).max(initial=0.0)
        below = np.max(lo - x, initial=0.0)
        above = np.max(x - hi, initial=0.0)
        return bool(max(residual, below, above) <= WITNESS_TOL)


def _attempts(a_eq, b_eq, rows):
    """Solver runs for ``A x = b``, bounds: fastest first, then the robust retries. Used by
    ``feasibility_intervals`` (exact intervals over the values, each LP solved from scratch:
    an independent check of the audit, which solves its own LPs with ``_WarmSolver``)."""
    from scipy.optimize import Bounds, linprog, milp

    def linprog_run(method: str, presolve: bool):
        def run(objective, lo, hi):
            bounds = np.column_stack([lo, hi])
            options = {"presolve": presolve}
            return linprog(
                objective, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method=method, options=options
            )

        return run

    def milp_run(objective, lo, hi):
        return milp(objective, constraints=rows, bounds=Bounds(lo, hi))

    # Interior point (with crossover) is several times faster on large components; on
    # small ones the same HiGHS through milp without integer columns has a third less
    # overhead per call than linprog.
    first = linprog_run("highs-ipm", True) if a_eq.shape[1] > 400 else milp_run
    return (first, linprog_run("highs-ipm", False), linprog_run("highs-ds", False))


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
    max_lps: int | None = None,
) -> tuple[list, list, int]:
    """Failing cells (up, down) of one component; ``max_single`` caps the per-cell LPs,
    ``max_lps`` all of them (solver runs): what they leave unproven is reported failing.

    ``known`` marks cells already proven under a pattern that this one contains: suppressing
    more cells only frees more variables, so a proven interval can only widen.

    What a pass guarantees (see ``_Movements``): the LPs are over the cells' movements on a
    grid (1 unit for integral components), with bounds rounded inwards and targets outwards
    when the values lie on the grid, so a point of that LP is a point of the attacker's
    polytope. A witness proves a cell either *exactly* (as ``r / q`` with integer ``r`` and a
    small ``q`` it keeps every relation in integer arithmetic and every bound, and reaches
    the target compared in integers) or within ``E`` plus 1e-9 of the cell's own required
    movement (E: the point's largest violation of a relation or bound after a least-squares
    polish, in grid units), forgiven only when ``E <= TINY`` and
    otherwise required *beyond* the target. The tolerance depends on that cell's own
    movement and the point's measured error, never on the component's largest value.
    """
    v = values[cells]
    unit = grid_unit(v)
    secondary = ~np.isnan(t.eps[cells])
    primary = ~secondary
    eps = np.where(secondary, np.ceil(np.nan_to_num(t.eps[cells]) / unit), np.nan)
    # Required movement in grid units: ``need_*`` as computed, ``*_t`` rounded outwards
    # exactly (an integral movement reaching ``*_t`` reaches the target).
    need_up = np.where(secondary, eps, _diff(t.hi[cells], v) / unit)
    need_down = np.where(secondary, -eps, _diff(t.lo[cells], v) / unit)
    up_t = np.where(secondary, eps, _ceil_diff(t.hi[cells], v, unit))
    down_t = np.where(secondary, -eps, _floor_diff(t.lo[cells], v, unit))
    finite = np.abs(np.concatenate([up_t, down_t, v / unit]))  # the LP's units (see _Movements)
    scale = max(1.0, float(np.max(finite[np.isfinite(finite)], initial=0.0)))
    lp = _Movements(rel, values, cells, t.lower_bound, unit, scale)
    can_go_down = primary | (np.nan_to_num(down_t, nan=-np.inf) >= lp.floor)
    proven = np.zeros(len(cells), dtype=bool) if known is None else known[cells]
    up_ok = np.isnan(up_t) | (up_t <= 0) | proven
    down_ok = np.isnan(down_t) | (down_t >= 0) | proven
    moved = proven.copy()
    loose = 1e-9 * np.maximum(1.0, np.abs(np.nan_to_num(need_up)))
    loose_down = 1e-9 * np.maximum(1.0, np.abs(np.nan_to_num(need_down)))

    def witness(w: tuple[np.ndarray, float, float] | None) -> None:
        if w is None:  # no verified point: proves nothing, the cells stay unproven
            return
        d, q, err = w
        if q:  # exact: the point is d / q, compared in integers
            up_ok[:] |= d >= q * up_t
            down_ok[:] |= d <= q * down_t
            moved[:] |= (d >= q * eps) | (d <= -q * eps)
        else:
            # The point's largest violation E of a relation or bound (after the polish) is the
            # error allowed against the cell's own target: forgiven when E is tiny (at most a
            # hundredth of a grid unit), else the cell must pass its target by E.
            margin = err
            sign = -1.0 if margin <= TINY else 1.0
            up_ok[:] |= d >= need_up + sign * (loose + margin)
            down_ok[:] |= d <= need_down - sign * (loose_down + margin)
            moved[:] |= (d >= need_up + sign * (loose + margin)) | (
                d <= need_down - sign * (loose_down + margin)
            )

    def need_up_cells() -> np.ndarray:
        return (primary & ~up_ok) | (secondary & ~moved)

    def need_down_cells() -> np.ndarray:
        return ((primary & ~down_ok) | (secondary & ~moved)) & can_go_down

    # LPs push one grid unit beyond the rounded target: on the grid the optimum then lies
    # on the target or past it, and off the grid the float margin has room.
    cap = up_t + 1.0
    floor_t = np.maximum(down_t - 1.0, lp.floor)
    free_hi = np.full(len(cells), np.inf)
    settled_up = _push_rounds(
        lp, witness, need_up_cells, cap, lp.floor, free_hi, sign=-1.0, max_lps=max_lps
    )
    settled_down = _push_rounds(
        lp, witness, need_down_cells, floor_t, lp.floor, free_hi, sign=1.0, max_lps=max_lps
    )
    singles = int(need_up_cells().sum() + need_down_cells().sum())
    if singles > max_single or (max_lps is not None and lp.n_lps + singles > max_lps):
        # Too many unproven cells to settle one LP each: report them all as failing. The
        # caller protects them further, so this only trades a little suppression for time.
        return _failures(cells, primary, secondary, up_ok, down_ok, moved, lp.n_lps)
    # Cells no push round could prove: one exact LP per cell and direction (except a cell
    # whose last push round pushed it alone: that round was this very LP).
    for i in map(int, np.flatnonzero(need_up_cells())):
        if need_up_cells()[i] and i != settled_up:
            w = lp.solve(_unit(len(cells), i, -1.0), lp.floor, _capped(free_hi, i, cap[i]))
            witness(w)
            rough = _rough(w) if max_lps is None or lp.n_lps < max_lps else 0.0
            if rough and need_up_cells()[i]:
                hi = _capped(free_hi, i, cap[i] + ROOM * rough)
                witness(lp.solve(_unit(len(cells), i, -1.0), lp.floor, hi, start=1))
    for i in map(int, np.flatnonzero(need_down_cells())):
        if need_down_cells()[i] and i != settled_down:
            low = lp.floor.copy()
            low[i] = floor_t[i]
            w = lp.solve(_unit(len(cells), i, 1.0), low, free_hi)
            witness(w)
            rough = _rough(w) if max_lps is None or lp.n_lps < max_lps else 0.0
            if rough and need_down_cells()[i]:
                low[i] = max(floor_t[i] - ROOM * rough, lp.floor[i])
                witness(lp.solve(_unit(len(cells), i, 1.0), low, free_hi, start=1))
    return _failures(cells, primary, secondary, up_ok, down_ok, moved, lp.n_lps)


def grid_unit(v: np.ndarray) -> float:
    """1 for integral cells; else a power of two fine enough to lose nothing that matters."""
    return float(grid_units(v, np.zeros(1, dtype=np.int64))[0])


def grid_units(v: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """``grid_unit`` of each group of ``v`` (groups start at ``starts``, none empty)."""
    if len(v) == 0:
        return np.ones(len(starts))
    top = np.maximum.reduceat(np.abs(v), starts)
    integral = np.logical_and.reduceat(v == np.rint(v), starts) & (top < 2.0**50)
    with np.errstate(divide="ignore", invalid="ignore"):
        fine = 2.0 ** np.maximum(-10, np.ceil(np.log2(top + 1.0)) - 50)
    return np.where(integral, 1.0, fine)


def _two_diff(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``a - b`` as rounded, and its exact rounding error (Knuth's TwoSum)."""
    with np.errstate(invalid="ignore"):
        s = a - b
        bv = s - a
        err = (a - (s - bv)) + (-b - bv)
    return s, np.where(np.isfinite(s), err, 0.0)


def _diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return _two_diff(a, b)[0]


def _ceil_diff(a: np.ndarray, b: np.ndarray, unit: float) -> np.ndarray:
    """Exactly ceil((a - b) / unit) for floats and a power-of-two ``unit`` (NaN stays NaN)."""
    s, err = _two_diff(a, b)
    q = s / unit
    c = np.ceil(q)
    return c + ((c == q) & (err > 0))


def _floor_diff(a: np.ndarray, b: np.ndarray, unit: float) -> np.ndarray:
    """Exactly floor((a - b) / unit), like ``_ceil_diff``."""
    s, err = _two_diff(a, b)
    q = s / unit
    f = np.floor(q)
    return f - ((f == q) & (err < 0))


class _Movements:
    """The attacker's LP over movements ``d`` of one component's cells, in grid units.

    The suppressed cells' true values keep every relation, so a point ``values + d`` is
    feasible exactly when ``A_c d = 0`` and ``d >= floor``. The right-hand side is exactly 0
    (the published cells' sums and their rounding never enter), and ``floor`` is the bound
    ``lower_bound - value`` (rounded up to the grid when the values lie on it): a point of
    this LP is a point of the attacker's, never the other way round. Solved in units of the
    component's largest value (or required movement): interior point needs many times longer
    with bounds of 10^8 units.
    """

    def __init__(self, rel: Relations, values, cells, lower_bound, unit: float, scale: float):
        rows = np.unique(rel.by_cell[:, cells].indices)
        self.a_eq = rel.matrix[rows][:, cells].tocsr()
        self.a_int = self.a_eq.astype(np.int64)
        self.integral = bool(np.all(self.a_eq.data == np.rint(self.a_eq.data)))
        self.row_weight = float(np.max(np.asarray(abs(self.a_eq).sum(axis=1)), initial=0.0))
        lb, v = lower_bound[cells], values[cells]
        # Cells on the grid (counts; amounts in whole cents or quarters) get exact integral
        # bounds and exact checks. Others (sums of arbitrary amounts) keep their bounds as
        # they are: rounding each inwards would make the faces where several cells reach
        # zero together unreachable, and the solver would bend the bounds instead.
        on_grid = bool(np.all(v / unit == np.rint(v / unit)))
        self.integral = self.integral and on_grid
        # Every cell in at most two relations (a two-way table's row and column): the
        # vertices of the LP are then (nearly always) on the grid, worth a retry to find.
        self.integral_vertices = self.integral and bool(
            np.max(np.diff(self.a_eq.tocsc().indptr), initial=0) <= 2
        )
        with np.errstate(invalid="ignore"):
            exact_floor = _ceil_diff(lb, v, unit) if on_grid else _diff(lb, v) / unit
            self.floor = np.where(np.isinf(lb), -np.inf, exact_floor)
        self.scale = scale
        self.n_lps = 0  # solver runs, retries included
        self._solver: _WarmSolver | None = None  # built at the first LP

    def solve(self, objective, lo, hi, start: int = 0) -> tuple[np.ndarray, float, float] | None:
        """(movement, denominator, violation) of a verified optimal point, or None.

        Exact points come back as integer numerators ``r`` with a denominator ``q`` >= 1 and
        violation 0: ``r / q`` keeps every relation (checked in integer arithmetic) and every
        bound. A vertex of a two-way table is integral (q = 1); tables of three or more
        dimensions have fractional vertices with small denominators, found by trying
        ``q`` up to ``MAX_DENOMINATOR``. Otherwise the point comes back as is with q = 0 and
        its largest violation of a relation or bound in grid units (at most ``WITNESS_TOL``
        of the scale): it proves cells only with a margin. When the solver gives no point it
        retries from scratch without presolve, then with the dual simplex (see
        ``_WarmSolver``); ``start`` skips the first attempts. None proves nothing.
        """
        s = self.scale
        if self._solver is None:
            self._solver = _WarmSolver(self.a_eq)
        approximate: tuple[np.ndarray, float, float] | None = None
        for attempt in range(start, len(_WarmSolver.ATTEMPTS)):
            self.n_lps += 1
            x = self._solver.solve(attempt, objective, lo / s, hi / s)
            if x is None or not np.all(np.isfinite(x)):
                continue
            d = x * s
            exact = self._exact(d)
            if exact is not None:
                return exact
            d, err = self._polish(d)
            if err <= WITNESS_TOL * s and (approximate is None or err < approximate[2]):
                approximate = (d, 0.0, err)
            if approximate is not None and not self.integral_vertices:
                # Vertices here are fractional (three or more dimensions, hierarchies), so a
                # retry would not land on the grid either, and without presolve it costs
                # seconds per LP: the point proves cells with its measured error.
                break
            # Vertices of a two-way table are integral: the retries (from scratch, no presolve,
            # then the dual simplex) usually return one exactly where the first did not.
        return approximate

    def _violation(self, d: np.ndarray) -> float:
        """Largest violation of a relation or bound by ``d`` (grid units)."""
        return max(
            float(np.abs(self.a_eq @ d).max(initial=0.0)),
            float(np.max(self.floor - d, initial=0.0)),
        )

    def _polish(self, d: np.ndarray) -> tuple[np.ndarray, float]:
        """``d`` moved onto the relations by least squares over the cells off their bounds.

        The solver's point keeps the relations only to its tolerance, relative to the
        component's largest value; one least-squares correction (the smallest change that
        cancels the residual) brings that down to float rounding. Returned only when it
        does not make the point worse.
        """
        from scipy.sparse.linalg import lsqr

        original, err = d, self._violation(d)
        if err == 0.0:
            return d, err
        d = np.maximum(d, self.floor)  # onto the bounds first, then onto the relations
        free = np.flatnonzero(d - self.floor > 0)
        if len(free) == 0:
            return d, err
        residual = self.a_eq @ d
        sub = self.a_eq[:, free]
        if sub.shape[0] <= DENSE_POLISH:
            # Few relations: the minimum-norm correction (what LSQR converges to) as
            # ``sub.T @ y`` with ``(sub sub.T) y = -residual``, a small dense system; LSQR's
            # Python loop costs milliseconds here, a fair share of a dashboard query.
            dense = sub.toarray()
            y = np.linalg.lstsq(dense @ dense.T, -residual, rcond=None)[0]
            fix = dense.T @ y
        else:
            fix = lsqr(sub, -residual, atol=1e-15, btol=1e-15, iter_lim=2000)[0]
        better = d.copy()
        better[free] += fix
        better_err = self._violation(better)
        return (better, better_err) if better_err < err else (original, err)

    def _exact(self, d: np.ndarray) -> tuple[np.ndarray, float, float] | None:
        """``(r, q, 0)`` with integer ``r``: ``r / q`` is a point of the LP near ``d``."""
        if not self.integral:
            return None
        for q in _denominators(d):
            r = np.rint(d * q)
            if float(np.max(np.abs(r), initial=0.0)) * max(1.0, self.row_weight) >= 2.0**62:
                return None  # int64 could overflow: no exact check
            if np.all(r >= self.floor * q) and not np.any(self.a_int @ r.astype(np.int64)):
                return r, float(q), 0.0
        return None


class _WarmSolver:
    """HiGHS holding one component's relations ``A d = 0`` between the LPs of its audit.

    The push rounds and per-cell LPs of a component share the matrix and differ only in the
    objective and bounds, so the model is passed once and each LP changes only those: the
    simplex then starts from the previous optimal basis (a warm start), typically a tenth of
    a solve from scratch (large components: see ``FIRST_LARGE``). Only the point an LP
    returns can differ from a cold solve (another optimal vertex where the optimum is not
    unique); every point is verified by the caller exactly as before, so what a point proves
    never rests on how it was found. A model HiGHS rejects gives no points (None), as an LP
    without a solution does: its cells stay unproven and are protected further.

    Uses HiGHS as SciPy ships it (``scipy.optimize._highspy``, the solver behind ``milp`` and
    ``linprog``): SciPy's wrappers rebuild the model and set every option on each call, which
    cost as much as the solve on dashboard-sized components and cannot keep a basis.
    """

    # (presolve, solver) per attempt. Attempt 0 warm-starts: HiGHS chooses the solver, and
    # with a valid basis continues the (dual) simplex from it; without presolve, which on
    # dashboard-sized components cost a sixth of the audit (240 cells, three LPs: 2.5
    # against 3.0 ms) and never paid for itself on large ones. The retries discard the
    # basis: interior point, then the dual simplex, both without presolve (presolve's
    # absolute tolerances can call a feasible LP infeasible when values span many orders of
    # magnitude).
    ATTEMPTS: tuple[tuple[str, str], ...] = (
        ("off", "choose"),
        ("off", "ipm"),
        ("off", "simplex"),
    )
    # Without a basis yet, a large component's first LP runs interior point (with presolve
    # and crossover, which leaves a basis for the next): several times faster there than
    # the simplex from scratch. Its warm starts run the *primal* simplex: the next LP changes
    # the objective (another cell, the other direction) and the bounds of a few cells, so
    # the old basis stays (nearly) primal feasible but loses dual feasibility, and the dual
    # simplex had to walk back through thousands of iterations (48,707 cells: 17,184
    # iterations, 3.2 s against 0.7 s from scratch; the primal simplex: under 0.05 s).
    # Warm starts stay on even where one warm LP is slower than the first from scratch: the
    # first LP pushes every cell at once, and an interior point's crossover from scratch
    # with an objective on a few cells (an optimal face of thousands of vertices) can take
    # 60 times as long (15,987 cells: 0.3 s for the first, 15-19 s for each later one;
    # warm, the first of them 1.6 s and the others 0.03-0.05 s). Only the speed depends on
    # it: every point is verified by the caller.
    FIRST_LARGE = ("choose", "ipm")
    LARGE = 400  # columns
    DUAL, PRIMAL = 1, 4  # HiGHS' simplex_strategy

    def __init__(self, a_eq) -> None:
        from scipy.optimize._highspy import _core as highs

        csc = a_eq.tocsc()
        n, m = csc.shape[1], csc.shape[0]
        lp = highs.HighsLp()
        lp.num_col_, lp.num_row_ = n, m
        lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = n, m
        lp.a_matrix_.format_ = highs.MatrixFormat.kColwise
        lp.a_matrix_.start_ = csc.indptr
        lp.a_matrix_.index_ = csc.indices
        lp.a_matrix_.value_ = csc.data
        lp.col_cost_ = np.zeros(n)
        lp.col_lower_ = np.zeros(n)
        lp.col_upper_ = np.zeros(n)
        lp.row_lower_ = np.zeros(m)
        lp.row_upper_ = np.zeros(m)
        self._highs = highs._Highs()
        self._optimal = highs.HighsModelStatus.kOptimal
        self._error = highs.HighsStatus.kError
        self._highs.setOptionValue("output_flag", False)
        self._cols = np.arange(n, dtype=np.int32)
        self._warm = False  # whether the last LP left an optimal basis to start from
        self._rejected = self._highs.passModel(lp) == self._error

    def solve(self, attempt: int, objective, lo, hi) -> np.ndarray | None:
        """The optimal point of ``min objective @ d``, ``A d = 0``, ``lo <= d <= hi``, or None."""
        h, n = self._highs, len(self._cols)
        if self._rejected:
            return None
        if attempt:
            h.clearSolver()  # a retry starts from scratch
        presolve, solver = self.ATTEMPTS[attempt]
        large = attempt == 0 and n > self.LARGE
        scratch = large and not self._warm
        if scratch:
            h.clearSolver()
            presolve, solver = self.FIRST_LARGE
        h.setOptionValue("presolve", presolve)
        h.setOptionValue("solver", solver)
        # The dual simplex (HiGHS' default) except where a large component starts warm.
        primal = large and not scratch
        h.setOptionValue("simplex_strategy", self.PRIMAL if primal else self.DUAL)
        as_floats = np.ascontiguousarray
        h.changeColsCost(n, self._cols, as_floats(objective, dtype=float))
        h.changeColsBounds(n, self._cols, as_floats(lo, dtype=float), as_floats(hi, dtype=float))
        failed = h.run() == self._error or h.getModelStatus() != self._optimal
        self._warm = not failed
        return None if failed else np.array(h.getSolution().col_value)


# Up to this many relations the polish solves a dense system of that size; beyond, LSQR on
# the sparse matrix.
DENSE_POLISH = 200

# Largest denominator tried for an exact point (vertices of three-way tables have small ones).
MAX_DENOMINATOR = 512


def _denominators(d: np.ndarray) -> list[int]:
    """Candidate ``q`` (ascending) for which every ``q * d`` is within float noise of an integer."""
    off = np.abs(d - np.rint(d))
    tol = 1e-6 + 1e-12 * np.abs(d)
    frac = d[off > tol]
    if len(frac) == 0:
        return [1]
    qs = np.arange(2, MAX_DENOMINATOR + 1, dtype=float)
    probe = frac[:8]
    near = np.abs(np.outer(qs, probe) - np.rint(np.outer(qs, probe)))
    fits = qs[np.all(near <= 1e-6 * qs[:, None] + 1e-12 * np.abs(np.outer(qs, probe)), axis=1)]
    out = []
    for q in fits:
        prod = q * frac
        if np.all(np.abs(prod - np.rint(prod)) <= 1e-6 * q + 1e-12 * np.abs(prod)):
            out.append(int(q))
            if len(out) == 3:
                break
    return out


def _rough(w: tuple[np.ndarray, float, float] | None) -> float:
    """The measured error E of a point too rough to prove a cell without a margin, else 0.

    On components of large amounts (sums to 1e10 next to single euros) a warm-started
    simplex can stop at a point that keeps the relations only to a relative 1e-11 (hundreds
    of grid units), and now and then at one that is not optimal at all (a cell maximised
    left at its lower bound). A cell left unproven by such a point gets its LP once more,
    from scratch, with the cap (one grid unit beyond the target) moved ``ROOM`` times E
    further: an approximate point must pass the target by its error, and the solver stops
    within its tolerance of the cap. Where the cell cannot reach the old cap the optimum
    lies below it either way. A few LPs per component, where reporting the cell failing
    would suppress more or stop the answer.
    """
    return w[2] if w is not None and not w[1] and w[2] > TINY else 0.0


ROOM = 4.0


def _failures(cells, primary, secondary, up_ok, down_ok, moved, n_lps):
    fail_up = (primary & ~up_ok) | (secondary & ~moved)
    fail_down = primary & ~down_ok
    return cells[fail_up].tolist(), cells[fail_down].tolist(), n_lps


def _push_rounds(
    lp, witness, need, target, lb, free_hi, sign: float, max_rounds: int = 8, max_lps=None
) -> int | None:
    """Push all still-unproven cells towards their targets at once until no progress.

    Returns the cell (index in the component) that the last round pushed alone and left
    unproven, else None: that round solved exactly the cell's own LP (objective on it
    alone, the same bounds), so the caller need not solve it again. On a 41,384-cell
    component one such LP took 0.5 s.
    """
    for _ in range(max_rounds):
        todo = need()
        if not todo.any() or (max_lps is not None and lp.n_lps >= max_lps):
            return None
        lo, hi = lb.copy(), free_hi.copy()
        if sign < 0:  # maximise, capped at the target so the LP is bounded
            hi[todo] = target[todo]
        else:  # minimise, floored at the target
            lo[todo] = np.maximum(target[todo], lb[todo])
        x = lp.solve(np.where(todo, sign, 0.0), lo, hi)
        witness(x)
        if x is None or need().sum() == todo.sum():
            alone = np.flatnonzero(todo)
            # the caller need not solve this cell's LP again, unless the point's own error
            # was what kept it unproven (the caller then retries it with more room)
            exact = x is not None and not _rough(x)
            return int(alone[0]) if exact and len(alone) == 1 else None
    return None


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
