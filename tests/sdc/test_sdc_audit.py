"""LP audit: Handbook Example 3 feasibility interval (research §5.2) and failing patterns."""

import numpy as np
import pytest

from sdc.audit import Targets, audit, feasibility_intervals
from sdc.relations import build_relations
from sdc.table import CellTable


def table_3x2():
    # rows 0..2, columns 0..1, margins; row 2 = (3, 3); row totals 7, 3, 6; columns 9, 7.
    cells = {
        (0, 0): 4,
        (0, 1): 3,
        (1, 0): 2,
        (1, 1): 1,
        (2, 0): 3,
        (2, 1): 3,
        (0, -1): 7,
        (1, -1): 3,
        (2, -1): 6,
        (-1, 0): 9,
        (-1, 1): 7,
        (-1, -1): 16,
    }
    coords = np.array(list(cells), dtype=np.int32)
    values = np.array(list(cells.values()), dtype=float)
    return coords, values, build_relations(CellTable(coords, {}))


def test_handbook_example_3_interval_of_x11_is_3_to_6():
    coords, values, rel = table_3x2()
    suppressed = np.array([tuple(c) in {(0, 0), (0, 1), (1, 0), (1, 1)} for c in coords])
    intervals = feasibility_intervals(rel, values, suppressed)
    assert intervals[0] == pytest.approx((3.0, 6.0))


def targets(values, primary, level, secondary=None):
    n = len(values)
    eps = np.where(secondary, 1.0, np.nan) if secondary is not None else np.full(n, np.nan)
    return Targets(
        np.where(primary, values + level, np.nan),
        np.where(primary, np.maximum(values - level, 0), np.nan),
        eps,
        np.zeros(n),
    )


def test_audit_passes_when_interval_covers_protection_and_fails_when_too_narrow():
    coords, values, rel = table_3x2()
    suppressed = np.array([tuple(c) in {(0, 0), (0, 1), (1, 0), (1, 1)} for c in coords])
    primary = np.array([tuple(c) == (0, 0) for c in coords])
    ok = audit(rel, values, suppressed, targets(values, primary, np.full(12, 1.0)))
    assert ok.passed
    # X11 = 4 cannot go below 3: a protection level of 2 is not met downwards.
    bad = audit(rel, values, suppressed, targets(values, primary, np.full(12, 2.0)))
    assert bad.failing_down == [0] and bad.failing_up == []
    # One LP up, one down: the push round that pushed X11 alone down was X11's own LP, not
    # solved a second time.
    assert bad.n_lps == 2


def test_exact_disclosure_of_a_lonely_cell_is_caught():
    coords, values, rel = table_3x2()
    suppressed = np.array([tuple(c) in {(0, 0), (0, 1)} for c in coords])  # row only
    primary = np.array([tuple(c) == (0, 0) for c in coords])
    out = audit(rel, values, suppressed, targets(values, primary, np.full(12, 1.0)))
    assert 0 in out.failing_up and 0 in out.failing_down
    intervals = feasibility_intervals(rel, values, suppressed)
    assert intervals[0] == pytest.approx((4.0, 4.0))


def test_secondary_cell_must_not_be_exact():
    coords, values, rel = table_3x2()
    suppressed = np.array([tuple(c) in {(0, 0), (0, 1)} for c in coords])
    secondary = np.array([tuple(c) == (0, 1) for c in coords])
    out = audit(rel, values, suppressed, targets(values, np.zeros(12, bool), 0, secondary))
    assert out.failing_up == [1]


def table_2x2_with_huge_cell(big, a, b, c):
    """Inner cells (0,0)=big, (0,1)=a, (1,0)=b, (1,1)=c with row, column and grand totals."""
    inner = {(0, 0): big, (0, 1): a, (1, 0): b, (1, 1): c}
    cells = dict(inner)
    cells |= {(0, -1): big + a, (1, -1): b + c, (-1, 0): big + b, (-1, 1): a + c}
    cells[(-1, -1)] = big + a + b + c
    coords = np.array(list(cells), dtype=np.int32)
    values = np.array(list(cells.values()), dtype=float)
    suppressed = np.array([tuple(k) in inner for k in coords])
    return coords, values, build_relations(CellTable(coords, {})), suppressed


def exact_interval_of_a(big, a, b, c):
    """With all four inner cells suppressed and every margin published, the only movement is
    (big + t, a - t, b - t, c + t); non-negativity gives t in [-min(big, c), min(a, b)]."""
    return a - min(a, b), a + min(big, c)


# (big, a, b, c): a margin of ~5e10 next to cells of thousands; counts and euro amounts.
HUGE = [(5e10, 3000.0, 4000.0, 1000.0), (5e10 + 0.25, 3000.5, 4000.75, 1000.25)]


@pytest.mark.parametrize("big,a,b,c", HUGE)
@pytest.mark.parametrize("short", [0.25, 1.0, 500.0, 4000.0])
def test_a_huge_margin_never_lends_its_slack_to_a_small_cell(big, a, b, c, short):
    coords, values, rel, suppressed = table_2x2_with_huge_cell(big, a, b, c)
    _, hi = exact_interval_of_a(big, a, b, c)
    level = hi - a + short  # the required upper end lies `short` beyond the true maximum
    assert short < 1e-7 * big  # within the slack a component-wide tolerance would give away
    primary = np.array([tuple(k) == (0, 1) for k in coords])
    out = audit(rel, values, suppressed, targets(values, primary, level, suppressed & ~primary))
    assert out.failing_up == [int(np.flatnonzero(primary)[0])]


@pytest.mark.parametrize("big,a,b,c", HUGE)
@pytest.mark.parametrize("spare", [0.0, 0.25, 1.0])
def test_a_small_cell_next_to_a_huge_margin_passes_when_its_interval_is_wide_enough(
    big, a, b, c, spare
):
    coords, values, rel, suppressed = table_2x2_with_huge_cell(big, a, b, c)
    lo, hi = exact_interval_of_a(big, a, b, c)
    primary = np.array([tuple(k) == (0, 1) for k in coords])
    level = np.full(len(values), hi - a - spare)  # reached exactly (spare 0) or with room
    assert a - level[0] >= lo
    out = audit(rel, values, suppressed, targets(values, primary, level, suppressed & ~primary))
    assert out.passed


def cube_3x3x3_with_margins(seed):
    """A 3x3x3 count table with every margin (64 cells): LP vertices here are fractional."""
    rng = np.random.default_rng(seed)
    inner = rng.integers(0, 9, size=(3, 3, 3)).astype(float)
    coords, values = [], []
    for i in (-1, 0, 1, 2):
        for j in (-1, 0, 1, 2):
            for k in (-1, 0, 1, 2):
                pick = tuple(slice(None) if x < 0 else x for x in (i, j, k))
                coords.append((i, j, k))
                values.append(float(inner[pick].sum()))
    coords = np.array(coords, dtype=np.int32)
    inner_cell = (coords >= 0).all(axis=1)
    suppressed = inner_cell & (rng.random(len(coords)) < 0.6)
    return coords, np.array(values), build_relations(CellTable(coords, {})), suppressed


@pytest.mark.parametrize("seed", range(12))
def test_on_three_way_tables_the_audit_agrees_with_the_exact_intervals(seed):
    """Counts are whole: a cell passes exactly when the whole numbers inside its exact LP
    interval reach the target, and fails when the target lies one unit beyond."""
    _, values, rel, suppressed = cube_3x3x3_with_margins(seed)
    intervals = feasibility_intervals(rel, values, suppressed)
    none = np.zeros(len(values), dtype=bool)
    for cell, (low, high) in intervals.items():
        primary = none.copy()
        primary[cell] = True
        v = values[cell]
        reach_up, reach_down = np.floor(high + 1e-9) - v, v - np.ceil(low - 1e-9)
        for level, passes in ((reach_up, True), (reach_up + 1, False)):
            if level <= 0:
                continue
            t = targets(values, primary, np.full(len(values), level))
            t = Targets(t.hi, np.full(len(values), np.nan), t.eps, t.lower_bound)
            out = audit(rel, values, suppressed, t)
            assert (out.failing_up == []) is passes, (cell, v, low, high, level)
        for level, passes in ((reach_down, True), (reach_down + 1, False)):
            if level <= 0 or v - level < 0:
                continue
            t = targets(values, primary, np.full(len(values), level))
            t = Targets(np.full(len(values), np.nan), t.lo, t.eps, t.lower_bound)
            out = audit(rel, values, suppressed, t)
            assert (out.failing_down == []) is passes, (cell, v, low, high, level)


def test_a_fractional_vertex_is_recovered_exactly_and_noise_is_not():
    from sdc.audit import _Movements

    coords, values, rel, _ = cube_3x3x3_with_margins(0)
    values = values + 8 * 27  # room for any movement below
    cells = np.flatnonzero((coords >= 0).all(axis=1))  # the 27 inner cells, totals published
    lp = _Movements(rel, values, cells, np.zeros(len(values)), 1.0, 100.0)
    corner = coords[cells]
    on_cube = (corner <= 1).all(axis=1)
    movement = np.where(on_cube, (-1.0) ** corner.sum(axis=1), 0.0)  # keeps every margin
    assert not np.any(lp.a_eq @ movement)
    point = lp._exact(movement / 3 + 1e-11)
    assert point is not None
    r, q, err = point
    assert q == 3 and err == 0 and np.array_equal(r, movement)
    assert lp._exact(movement / 3 + 1e-3) is None  # not a rational point of the LP
    skewed = movement / 3
    skewed[0] += 1.0  # a whole unit off: breaks a relation exactly
    assert lp._exact(skewed) is None


@pytest.mark.parametrize("dense_up_to", [0, 200])  # LSQR, then the small dense system
def test_the_polish_puts_a_noisy_point_back_on_the_relations(monkeypatch, dense_up_to):
    import sdc.audit
    from sdc.audit import _Movements

    monkeypatch.setattr(sdc.audit, "DENSE_POLISH", dense_up_to)
    coords, values, rel, _ = cube_3x3x3_with_margins(0)
    values = values + 8 * 27
    cells = np.flatnonzero((coords >= 0).all(axis=1))
    lp = _Movements(rel, values, cells, np.zeros(len(values)), 1.0, 100.0)
    corner = coords[cells]
    on_cube = (corner <= 1).all(axis=1)
    movement = np.where(on_cube, (-1.0) ** corner.sum(axis=1), 0.0) * 2.5
    noisy = movement + np.random.default_rng(1).normal(0, 1e-6, len(movement))
    before = lp._violation(noisy)
    polished, err = lp._polish(noisy)
    assert before > 1e-7 and err < 1e-12 and err == lp._violation(polished)
    assert np.abs(polished - movement).max() < 1e-5  # the smallest correction, not another point


def test_the_lps_of_a_component_share_one_warm_model_and_each_is_optimal(monkeypatch):
    """A component's LPs differ only in objective and bounds: its relations go to HiGHS once
    and each LP starts from the last basis. Every warm-started optimum still equals a
    from-scratch solve of the same LP (SciPy's linprog)."""
    from scipy.optimize import linprog

    import sdc.audit as audit_module

    made: list[object] = []
    runs: list[tuple] = []
    real_init, real_solve = audit_module._WarmSolver.__init__, audit_module._WarmSolver.solve

    def init(self, a_eq):
        made.append(a_eq)
        real_init(self, a_eq)
        self.matrix = a_eq

    def solve(self, attempt, objective, lo, hi):
        x = real_solve(self, attempt, objective, lo, hi)
        runs.append((self.matrix, objective.copy(), lo.copy(), hi.copy(), x))
        return x

    monkeypatch.setattr(audit_module._WarmSolver, "__init__", init)
    monkeypatch.setattr(audit_module._WarmSolver, "solve", solve)
    _, values, rel, suppressed = cube_3x3x3_with_margins(3)
    primary = suppressed & (values > 0)
    out = audit(rel, values, suppressed, targets(values, primary, np.full(len(values), 2.0)))
    comps = [c for c in audit_module.components(rel, suppressed) if len(c)]
    assert len(runs) > len(made) >= 1  # several LPs per model
    assert len(made) <= len(comps)
    assert out.n_lps == len(runs)
    for a, objective, lo, hi, x in runs:
        assert x is not None
        scratch = linprog(
            objective, A_eq=a, b_eq=np.zeros(a.shape[0]), bounds=np.column_stack([lo, hi])
        )
        assert scratch.status == 0
        assert objective @ x == pytest.approx(scratch.fun, abs=1e-7)
        assert np.abs(a @ x).max(initial=0.0) <= 1e-7
        assert np.all(x >= lo - 1e-7) and np.all(x <= hi + 1e-7)


def test_a_retry_starts_from_scratch_without_presolve():
    """When the warm start gives no point the retries discard the basis: interior point, then
    the dual simplex, both without presolve; each still solves the LP."""
    from sdc.audit import _WarmSolver

    coords, _, rel = table_3x2()
    a = rel.matrix[:, (coords >= 0).all(axis=1)].tocsr()
    solver = _WarmSolver(a)
    n = a.shape[1]
    objective = np.zeros(n)
    objective[0] = -1.0
    lo, hi = np.full(n, -3.0), np.full(n, 3.0)
    for attempt, (presolve, method) in enumerate(_WarmSolver.ATTEMPTS):
        x = solver.solve(attempt, objective, lo, hi)
        assert x is not None and x[0] == pytest.approx(3.0, abs=1e-7)
        assert solver._highs.getOptionValue("presolve")[1] == presolve
        assert solver._highs.getOptionValue("solver")[1] == method
    assert _WarmSolver.ATTEMPTS[1:] == (("off", "ipm"), ("off", "simplex"))


def test_a_large_components_first_lp_runs_interior_point_and_the_next_ones_start_warm():
    """A large component's first LP runs interior point from scratch (with crossover, which
    leaves a basis); its next LPs start from the last basis."""
    from sdc.audit import _WarmSolver

    coords, _, rel = table_3x2()
    a = rel.matrix[:, (coords >= 0).all(axis=1)].tocsr()
    solver = _WarmSolver(a)
    solver.LARGE = 0  # this small table counts as large
    n = a.shape[1]
    objective = np.zeros(n)
    objective[0] = -1.0
    lo, hi = np.full(n, -3.0), np.full(n, 3.0)
    used = []
    for _ in range(3):
        assert solver.solve(0, objective, lo, hi) is not None
        used.append(solver._highs.getOptionValue("solver")[1])
    assert used == ["ipm", "choose", "choose"]


def test_a_large_components_warm_lps_run_the_primal_simplex_and_stay_optimal(monkeypatch):
    """A large component's next LPs change the objective (another cell, the other direction):
    they continue from the last basis with the primal simplex, which keeps its feasibility,
    even when each takes longer than the first from scratch (a clock where every call is
    slower than the one before); a small component's LPs and every retry run the dual
    simplex. Each optimum equals a solve from scratch (SciPy's linprog)."""
    import itertools
    import time

    from scipy.optimize import linprog

    from sdc.audit import _WarmSolver

    coords, _, rel = table_3x2()
    a = rel.matrix[:, (coords >= 0).all(axis=1)].tocsr()
    n = a.shape[1]
    lo, hi = np.full(n, -3.0), np.full(n, 3.0)
    large, small = _WarmSolver(a), _WarmSolver(a)
    large.LARGE = 0  # this small table counts as large
    ticks = itertools.count()
    monkeypatch.setattr(time, "thread_time", lambda: float(next(ticks) ** 2))
    used: dict[str, list[int]] = {"large": [], "small": []}
    for cell, sign in [(0, -1.0), (0, 1.0), (1, -1.0), (n - 1, 1.0)]:
        objective = np.zeros(n)
        objective[cell] = sign
        best = linprog(objective, A_eq=a, b_eq=np.zeros(a.shape[0]), bounds=(-3.0, 3.0)).fun
        for name, solver in (("large", large), ("small", small)):
            x = solver.solve(0, objective, lo, hi)
            assert x is not None and objective @ x == pytest.approx(best, abs=1e-7)
            used[name].append(solver._highs.getOptionValue("simplex_strategy")[1])
    dual, primal = _WarmSolver.DUAL, _WarmSolver.PRIMAL
    assert used == {"large": [dual] + 3 * [primal], "small": 4 * [dual]}
    assert large._highs.getOptionValue("solver")[1] == "choose"  # warm, not from scratch
    assert large.solve(1, np.eye(n)[0], lo, hi) is not None  # a retry: from scratch, dual
    assert large._highs.getOptionValue("simplex_strategy")[1] == _WarmSolver.DUAL


def test_a_model_the_solver_rejects_gives_no_point_and_no_error():
    """HiGHS refuses a matrix with an infinite entry: like an LP without a solution, the
    solver then returns no point (its cells stay unproven), it raises nothing."""
    from scipy import sparse

    from sdc.audit import _WarmSolver

    solver = _WarmSolver(sparse.csr_matrix(np.array([[1.0, np.inf], [1.0, -1.0]])))
    for attempt in range(len(_WarmSolver.ATTEMPTS)):
        assert solver.solve(attempt, np.array([-1.0, 0.0]), np.zeros(2), np.ones(2)) is None
    usable = _WarmSolver(sparse.csr_matrix(np.array([[1.0, 1.0], [1.0, -1.0]])))
    assert usable.solve(0, np.array([-1.0, 0.0]), np.full(2, -1.0), np.ones(2)) is not None


@pytest.mark.parametrize("seed", range(4))
def test_components_are_the_suppressed_cells_linked_by_shared_relations(seed):
    """Checked against a plain union of every relation's suppressed cells."""
    from sdc.audit import components

    rng = np.random.default_rng(seed)
    coords = np.array([(i, j) for i in range(-1, 6) for j in range(-1, 5)], dtype=np.int32)
    rel = build_relations(CellTable(coords, {}))
    suppressed = rng.random(len(coords)) < 0.3
    parent = list(range(len(coords)))

    def find(c):
        while parent[c] != c:
            c = parent[c]
        return c

    for r in range(rel.n):
        members = [int(c) for c in rel.members(r) if suppressed[c]]
        for c in members[1:]:
            parent[find(c)] = find(members[0])
    expected = {}
    for c in np.flatnonzero(suppressed):
        expected.setdefault(find(int(c)), []).append(int(c))
    found = components(rel, suppressed)
    assert sorted(map(list, found)) == sorted(expected.values())
    assert all(np.all(np.diff(group) > 0) for group in found)  # sorted cell ids


@pytest.mark.parametrize("retry", [True, False])
def test_a_point_too_rough_to_prove_a_cell_is_solved_again_from_scratch(monkeypatch, retry):
    """Amounts to 1e10: a warm start can stop at a point that is not optimal and keeps the
    relations only roughly (hundreds of grid units). The cell it leaves unproven gets its LP
    once more, from scratch, where it is proven; without that retry it would be reported
    failing (and suppress more)."""
    import sdc.audit as audit_module

    coords, counts, rel = table_3x2()
    values = counts * 1e9 + 0.37 * (coords[:, 0] + 2)  # not on a coarse grid: no exact points
    suppressed = np.array([tuple(c) in {(0, 0), (0, 1), (1, 0), (1, 1)} for c in coords])
    primary = np.array([tuple(c) == (0, 0) for c in coords])
    real_solve = audit_module._WarmSolver.solve
    attempts: list[int] = []

    def rough_at_first(self, attempt, objective, lo, hi):
        attempts.append(attempt)
        x = real_solve(self, attempt, objective, lo, hi)
        if attempt == 0 and x is not None:
            x = np.maximum(lo, np.minimum(hi, 0.0))  # where it started: not optimal
            x[0] += 1e-8  # off the relations by 1e-8 of the largest value: within tolerance
        return x

    monkeypatch.setattr(audit_module._WarmSolver, "solve", rough_at_first)
    monkeypatch.setattr(audit_module._Movements, "_polish", lambda s, d: (d, s._violation(d)))
    if not retry:
        monkeypatch.setattr(audit_module, "_rough", lambda w: 0.0)
    level = np.full(len(values), 1e9)  # X11 (4e9 + 0.74) ranges over 3e9..6e9: enough
    out = audit(rel, values, suppressed, targets(values, primary, level))
    assert out.passed is retry
    assert (1 in attempts) is retry
