"""Flow proofs on two-way tables: what they prove is what the exact LP proves, never more."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sdc_cases import assert_pattern_protects, random_table, requirement, two_way_tables

from sdc import flows, status
from sdc import secondary as secondary_module
from sdc.audit import Targets, feasibility_intervals
from sdc.policy import Policy
from sdc.protect import protect
from sdc.rectangles import prove
from sdc.relations import build_relations
from sdc.table import CellTable, Hierarchy

EXACT = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Small networks are solved in plain Python, large ones by SciPy: every proof is tested by both.
SOLVERS = pytest.mark.parametrize("small_arcs", [10**9, -1], ids=["python", "scipy"])


class solver:
    """Within it, networks of at most ``small_arcs`` arcs go to the plain-Python solver."""

    def __init__(self, small_arcs: int) -> None:
        self.small_arcs = small_arcs

    def __enter__(self) -> None:
        self.saved, flows.SMALL_ARCS = flows.SMALL_ARCS, self.small_arcs

    def __exit__(self, *exc) -> None:
        flows.SMALL_ARCS = self.saved


def random_pattern(table, seed: int, p_suppressed: float, p_primary: float, level: float):
    """(values, suppressed, primary, targets) of the amounts: non-empty cells suppressed with
    probability ``p_suppressed``, of those primaries with ``p_primary``, each primary's level
    5 % to ``level`` times its value."""
    rng = np.random.default_rng(seed)
    values = table.measures["amount"].value
    suppressed = (table.measures["amount"].contributors > 0) & (
        rng.random(table.n_cells) < p_suppressed
    )
    primary = suppressed & (rng.random(table.n_cells) < p_primary)
    levels = values * rng.uniform(0.05, level, table.n_cells)
    return values, suppressed, primary, requirement(values, primary, levels, suppressed)


def flow_moves(table, values, suppressed, t):
    """(up, down) per cell as flows alone prove them, every component and open cell tried."""
    from sdc.audit import components

    rel = build_relations(table)
    up, down = np.zeros(len(values), dtype=bool), np.zeros(len(values), dtype=bool)
    limit = flows.MAX_OPEN, flows.FEW_OPEN
    flows.MAX_OPEN = flows.FEW_OPEN = 10**6
    try:
        for cells in components(rel, suppressed):
            flows.moves(table.coords, rel, values, cells, t, up, down, suppressed)
    finally:
        flows.MAX_OPEN, flows.FEW_OPEN = limit
    return up, down


@SOLVERS
@EXACT
@given(table=two_way_tables, seed=st.integers(0, 2**31))
def test_flows_prove_exactly_what_the_feasibility_intervals_allow(small_arcs, table, seed):
    # Both ways: a movement flows prove lies within the exact interval (soundness), and a
    # target the interval passes by a clear margin is proven (a two-way table's LP is a
    # flow problem). A broken direction, sign or capacity fails one side or the other.
    values, suppressed, primary, t = random_pattern(table, seed, 0.6, 0.5, 0.9)
    with solver(small_arcs):
        up, down = flow_moves(table, values, suppressed, t)
    assert not (up | down)[~suppressed].any()
    intervals = feasibility_intervals(build_relations(table), values, suppressed)
    tol = 1e-6 * max(1.0, values.max())
    for c in map(int, np.flatnonzero(suppressed & primary)):
        lo, hi = intervals[c]
        if up[c]:
            assert hi >= t.hi[c] - tol
        elif hi > t.hi[c] + tol:
            pytest.fail(f"cell {c} can reach {hi} > {t.hi[c]}: not proven up")
        if down[c]:
            assert lo <= t.lo[c] + tol
        elif up[c] and lo < t.lo[c] - tol:  # (down is tried only once up is proven)
            pytest.fail(f"cell {c} can reach {lo} < {t.lo[c]}: not proven down")
    for c in map(int, np.flatnonzero(suppressed & ~primary)):  # must move 1 either way
        lo, hi = intervals[c]
        if up[c] or down[c]:
            assert (up[c] and hi >= values[c] + 1.0 - tol) or (
                down[c] and lo <= values[c] - 1.0 + tol
            )
        elif hi > values[c] + 1.0 + tol or lo < values[c] - 1.0 - tol:
            pytest.fail(f"secondary cell {c} moves within [{lo}, {hi}]: not proven")


def _table(inner: dict[tuple[int, int], float]):
    """A two-way table with margins from its inner cells: (coords, values, the cell id of each
    coordinate pair, the inner cells as a mask)."""
    rows = sorted({i for i, _ in inner})
    cols = sorted({j for _, j in inner})
    coords = np.array([(i, j) for i in [-1, *rows] for j in [-1, *cols]], dtype=np.int32)
    values = np.array(
        [sum(v for (i, j), v in inner.items() if r in (i, -1) and c in (j, -1)) for r, c in coords]
    )
    at = {(int(r), int(c)): k for k, (r, c) in enumerate(coords)}
    return coords, values, at, (coords[:, 0] >= 0) & (coords[:, 1] >= 0)


def _only(n: int, *cells: int) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    mask[list(cells)] = True
    return mask


def _cell_table(coords, values) -> CellTable:
    from sdc_cases import count

    return CellTable(coords, {"n": count(values)}, ())


def test_two_rectangles_together_prove_what_neither_proves_alone():
    # 2 x 3 with margins, the six inner cells suppressed. (0, 0) must go up by 10: each
    # rectangle through it takes 6 from (0, 1) or from (0, 2), neither enough alone; the two
    # together move it 12 ((1, 0) gives up 12 of its 30).
    coords, values, at, inner = _table(
        {(0, 0): 20.0, (0, 1): 6.0, (0, 2): 6.0, (1, 0): 30.0, (1, 1): 20.0, (1, 2): 20.0}
    )
    primary = _only(len(values), at[(0, 0)])
    t = requirement(values, primary, np.full(len(values), 10.0), inner)
    assert not prove(coords, values, inner, t)[at[(0, 0)]]
    up, down = flow_moves(_cell_table(coords, values), values, inner, t)
    assert up[at[(0, 0)]] and down[at[(0, 0)]]
    # 13 is beyond both together: not proven (the exact maximum is 12).
    t13 = requirement(values, primary, np.full(len(values), 13.0), inner)
    up, _ = flow_moves(_cell_table(coords, values), values, inner, t13)
    assert not up[at[(0, 0)]]
    _, hi = feasibility_intervals(build_relations(_cell_table(coords, values)), values, inner)[
        at[(0, 0)]
    ]
    assert hi == pytest.approx(32.0)


def test_a_movement_of_amounts_in_fractions_is_proven_and_one_a_hair_too_far_is_not():
    # Amounts with cents: the capacities are whole units of a power of two, rounded down, so
    # the proof never rests on room a cell does not have.
    coords, values, at, inner = _table({(0, 0): 20.25, (0, 1): 5.5, (1, 0): 5.5, (1, 1): 20.75})
    primary = _only(len(values), at[(0, 0)])
    table = _cell_table(coords, values)
    for level, proven in ((5.5, True), (5.5 + 2.0**-30, False)):
        t = requirement(values, primary, np.full(len(values), level), inner)
        up, _ = flow_moves(table, values, inner, t)
        assert up[at[(0, 0)]] == proven, level


def test_flows_prove_the_few_cells_left_open_without_an_lp(monkeypatch):
    # Protecting small two-way tables: flows settle what rectangles leave, so no LP audit
    # runs; the patterns are the ones the LP audit gives (pass it, and equal to the
    # patterns without flows).
    calls = []
    real = secondary_module.audit_component

    def audit(*args, **kw):
        calls.append(1)
        return real(*args, **kw)

    monkeypatch.setattr(secondary_module, "audit_component", audit)
    policy = Policy()
    for seed in (1, 2, 15, 17, 18, 23):
        table = random_table(seed, (12, 6), 600, hierarchy=False)
        with_flows = protect(table, policy)
        monkeypatch.setattr(flows, "MAX_OPEN", 0)
        before = len(calls)
        without = protect(table, policy)
        assert len(calls) > before  # without flows the LP audit runs
        monkeypatch.setattr(flows, "MAX_OPEN", 48)
        for name, pm in with_flows.measures.items():
            suppressed = pm.status == status.SUPPRESSED
            assert_pattern_protects(table, name, suppressed, policy)
            assert (suppressed == (without.measures[name].status == status.SUPPRESSED)).all()
    calls.clear()
    protect(random_table(17, (12, 6), 600, hierarchy=False), policy)
    assert not calls


def test_no_flows_on_tables_with_a_hierarchy():
    # Relations of a hierarchy are no line sums of one grid: such tables never reach flows.
    table = random_table(3, (6, 4), 400, hierarchy=True)
    assert isinstance(table.hierarchies[0], Hierarchy)
    seen = []
    real = flows.moves

    def spy(*args):
        seen.append(1)
        return real(*args)

    flows_moves, flows.moves = flows.moves, spy
    try:
        protect(table, Policy())
    finally:
        flows.moves = flows_moves
    assert not seen


def test_open_limit_grows_with_the_component_up_to_its_cap():
    assert flows.open_limit(10) == flows.FEW_OPEN
    assert flows.open_limit(64 * 20) == 20
    assert flows.open_limit(10**6) == flows.MAX_OPEN


@SOLVERS
@EXACT
@given(table=two_way_tables, seed=st.integers(0, 2**31))
def test_a_cell_flows_show_to_fail_falls_short_of_its_target_exactly(small_arcs, table, seed):
    # The judgement flows give the quick audit: every (cell, way) they list fails by the
    # exact intervals, and a cell they leave unlisted while judging everything is proven.
    from sdc.audit import components

    values, suppressed, primary, t = random_pattern(table, seed, 0.5, 0.6, 1.5)
    rel = build_relations(table)
    assert flows.complete(table.coords)
    intervals = feasibility_intervals(rel, values, suppressed)
    tol = 1e-6 * max(1.0, values.max())
    up, down = np.zeros(len(values), dtype=bool), np.zeros(len(values), dtype=bool)
    for cells in components(rel, suppressed):
        with solver(small_arcs):
            _, failing = flows.moves(
                table.coords, rel, values, cells, t, up, down, suppressed, True
            )
        if failing is None:
            continue
        for c, way in failing:
            lo, hi = intervals[c]
            if not primary[c]:
                assert way and hi - lo < 2.0 + tol  # cannot move 1 either way
            elif way:
                assert hi < t.hi[c] + tol
            else:
                assert lo > t.lo[c] - tol
        listed = {c for c, _ in failing}
        for c in map(int, cells):
            if c not in listed and primary[c]:
                lo, hi = intervals[c]
                assert hi >= t.hi[c] - tol and lo <= t.lo[c] + tol


def test_only_tables_with_every_total_are_complete():
    coords = _table({(0, 0): 1.0, (0, 1): 1.0, (1, 0): 1.0, (1, 1): 1.0})[0]
    assert flows.complete(coords)
    no_row_total = coords[~((coords[:, 0] == 1) & (coords[:, 1] == -1))]
    assert not flows.complete(no_row_total)
    no_grand_total = coords[~((coords[:, 0] == -1) & (coords[:, 1] == -1))]
    assert not flows.complete(no_grand_total)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), shape=st.sampled_from([(8, 5), (12, 6), (20, 10)]))
def test_the_repair_flow_releases_what_the_repair_lp_releases(seed, shape):
    # Same cells (the cheapest set, ties aside: the same cost) on every repair a protection
    # of a random two-way table asks for; the pattern passes the exact audit.
    from sdc.repair import cells_to_release

    asked = []
    real = secondary_module._flow_release

    def both(s, cell, target, weight):
        got = real(s, cell, target, weight)
        lp = cells_to_release(
            s.rel, s.values, s.suppressed, s.candidate, weight, s.lower_bound, cell, target, 2
        )
        asked.append(1)
        assert (got is None) == (lp is None)
        if got is not None:
            assert got is not False
            assert weight[got].sum() == pytest.approx(weight[lp].sum(), rel=1e-9, abs=1e-12)
        return got

    policy = Policy()
    table = random_table(seed, shape, 600, hierarchy=False)
    patch = pytest.MonkeyPatch()
    patch.setattr(secondary_module, "_flow_release", both)
    try:
        protected = protect(table, policy)
    finally:
        patch.undo()
    for name, pm in protected.measures.items():
        assert_pattern_protects(table, name, pm.status == status.SUPPRESSED, policy)


def test_the_repair_flow_moves_the_cell_through_free_cells_first():
    # 2 x 3, (0, 0) must reach 32 (+12); the suppressed square (0,0),(0,1),(1,0),(1,1) gives
    # 6 for free, the other 6 must come through column 2: its two cells are the cheapest
    # release (one path through them), whatever their weight.
    coords, values, at, inner = _table(
        {(0, 0): 20.0, (0, 1): 6.0, (0, 2): 6.0, (1, 0): 30.0, (1, 1): 20.0, (1, 2): 20.0}
    )
    square = _only(len(values), at[(0, 0)], at[(0, 1)], at[(1, 0)], at[(1, 1)])
    candidate = ~square & inner
    weight = np.ones(len(values))
    lb = np.zeros(len(values))
    got = flows.release(coords, values, square, candidate, weight, lb, at[(0, 0)], 32.0)
    assert got is not None and got is not False
    assert sorted(got) == sorted([at[(0, 2)], at[(1, 2)]])
    # Within the free part alone: nothing to release.
    free = flows.release(coords, values, square, candidate, weight, lb, at[(0, 0)], 26.0)
    assert free is not None and free is not False and len(free) == 0
    # Beyond every cell's room (the row's other cells hold 12): no release reaches it.
    assert flows.release(coords, values, square, candidate, weight, lb, at[(0, 0)], 40.0) is None


def test_a_cell_reaching_its_target_only_by_a_rounded_down_room_is_left_to_the_lp():
    # (0, 0) must go up by exactly 0.1, which (0, 1) and (1, 0) hold exactly: no unit of a
    # power of two divides 0.1, so rooms rounded down fall a unit short. Rounded up they
    # reach it: not shown to fail, so the LP judges (and finds the target reachable).
    coords, values, at, inner = _table({(0, 0): 0.0, (0, 1): 0.1, (1, 0): 0.1, (1, 1): 20.0})
    primary = _only(len(values), at[(0, 0)])
    t = requirement(values, primary, np.full(len(values), 0.1), inner)
    t = Targets(t.hi, np.where(primary, values, np.nan), t.eps, t.lower_bound)  # up only
    table = _cell_table(coords, values)
    rel = build_relations(table)
    up, down = np.zeros(len(values), dtype=bool), np.zeros(len(values), dtype=bool)
    cells = np.flatnonzero(inner)
    _, failing = flows.moves(coords, rel, values, cells, t, up, down, inner, True)
    assert not up[at[(0, 0)]] and failing is None
    _, hi = feasibility_intervals(rel, values, inner)[at[(0, 0)]]
    assert hi == pytest.approx(0.1)
    # A hundred-thousandth further (more than a unit, 2**-19) is shown to fail.
    t = Targets(np.where(primary, 0.1 + 1e-5, np.nan), t.lo, t.eps, t.lower_bound)
    up[:] = False
    _, failing = flows.moves(coords, rel, values, cells, t, up, down, inner, True)
    assert failing is not None and (at[(0, 0)], True) in failing


def _never(*args, **kwargs):
    raise AssertionError("computed again: the frame has it")


def test_one_frame_serves_the_flows_of_every_component(monkeypatch):
    # The table-wide parts (nodes, signs, rooms) are computed once; the flows over each
    # component then read that component's cells and prove what flows built afresh prove.
    from sdc.audit import components

    coords, values, at, _ = _table({(i, j): 10.0 + i + j for i in range(4) for j in range(4)})

    def square(r: int, c: int) -> list[int]:
        return [at[(r, c)], at[(r, c + 1)], at[(r + 1, c)], at[(r + 1, c + 1)]]

    suppressed = _only(len(values), *square(0, 0), *square(2, 2))
    primary = _only(len(values), at[(0, 0)], at[(2, 2)])
    t = requirement(values, primary, np.full(len(values), 5.0), suppressed)
    rel = build_relations(_cell_table(coords, values))
    parts = components(rel, suppressed)
    assert len(parts) == 2
    fresh = np.zeros(len(values), dtype=bool), np.zeros(len(values), dtype=bool)
    for cells in parts:
        flows.moves(coords, rel, values, cells, t, *fresh, suppressed)
    frame = flows.Frame.of(coords, values, t.lower_bound)
    for name in ("axes", "signs", "rooms"):
        monkeypatch.setattr(flows, name, _never)
    up, down = np.zeros(len(values), dtype=bool), np.zeros(len(values), dtype=bool)
    for cells in parts:
        flows.moves(coords, rel, values, cells, t, up, down, suppressed, frame=frame)
    assert np.array_equal(up, fresh[0]) and np.array_equal(down, fresh[1])
    assert up[at[(0, 0)]] and down[at[(0, 0)]] and up[at[(2, 2)]] and down[at[(2, 2)]]


def test_a_cell_alone_in_its_row_moves_by_no_flow_and_none_is_solved(monkeypatch):
    # Columns with their totals, rows without (a member set kept apart, say): a component
    # along one column has one cell per row, so no cycle runs through any of its cells and
    # the flows are known to be empty without a solver; the LP audit settles the component.
    inner = {(0, 0): 20.0, (1, 0): 30.0, (2, 0): 25.0, (0, 1): 5.0, (1, 1): 6.0, (2, 1): 7.0}
    coords = np.array([(r, c) for r in (-1, 0, 1, 2) for c in (0, 1)], dtype=np.int32)
    values = np.array(
        [sum(v for (i, j), v in inner.items() if j == c and r in (i, -1)) for r, c in coords]
    )
    at = {(int(r), int(c)): k for k, (r, c) in enumerate(coords)}
    suppressed = _only(len(values), at[(0, 0)], at[(1, 0)], at[(-1, 0)])
    primary = _only(len(values), at[(0, 0)])
    t = requirement(values, primary, np.full(len(values), 4.0), suppressed)
    rel = build_relations(_cell_table(coords, values))
    cells = np.flatnonzero(suppressed)
    net = flows._Network(flows.Frame.of(coords, values, t.lower_bound), cells)
    assert net.alone.all()
    solver = flows._Network(flows.Frame.of(coords, values, t.lower_bound), cells)
    solver.alone[:] = False  # what the solver finds: nothing either
    for way in (1.0, -1.0):
        solved, known = solver.flow(at[(0, 0)], 4.0, way), net.flow(at[(0, 0)], 4.0, way)
        assert solved is not None and known is not None
        assert solved[1:] == known[1:] and solved[1] == 0
        assert np.array_equal(solved[0], known[0])

    def no_solver(*args, **kwargs):
        raise AssertionError("a flow was solved")

    monkeypatch.setattr("scipy.sparse.csgraph.maximum_flow", no_solver)
    monkeypatch.setattr(flows, "_dinic", no_solver)
    up, down = np.zeros(len(values), dtype=bool), np.zeros(len(values), dtype=bool)
    n, _ = flows.moves(coords, rel, values, cells, t, up, down, suppressed)
    assert n > 0 and not up[at[(0, 0)]] and not down[at[(0, 0)]]
    assert net.movement(rel, values, at[(0, 0)], 4.0, 1.0) is None


@EXACT
@given(
    table=two_way_tables, seed=st.integers(0, 2**31), rounding=st.sampled_from(["floor", "ceil"])
)
def test_the_python_and_scipy_flows_move_each_cell_as_far(table, seed, rounding):
    # The two solvers may route a flow differently, but its value is the maximum both ways,
    # and the plain-Python one's flow keeps every arc's capacity and every node's balance.
    values, suppressed, _, t = random_pattern(table, seed, 0.6, 0.5, 0.9)
    frame = flows.Frame.of(table.coords, values, t.lower_bound)
    cells = np.flatnonzero(suppressed)
    if len(cells) == 0:
        return
    nets = {}
    for small_arcs in (10**9, -1):
        with solver(small_arcs):
            nets[small_arcs] = flows._Network(frame, cells)
    python, scipy = nets[10**9], nets[-1]
    assert python.small and not scipy.small
    rounder = getattr(np, rounding)
    for c in map(int, cells):
        for amount, way in ((values[c] * 0.7 + 1.0, 1.0), (values[c] * 0.4, -1.0)):
            ours, theirs = python.flow(c, amount, way, rounder), scipy.flow(c, amount, way, rounder)
            assert (ours is None) == (theirs is None)
            if ours is None or theirs is None:
                continue
            assert ours[1:] == theirs[1:]  # units moved, goal and unit
            y, units, goal, unit = ours
            room_up = np.minimum(rounder(python.y_up[cells] / unit), goal)
            room_down = np.minimum(rounder(python.y_down[cells] / unit), goal)
            assert np.all(y <= room_up) and np.all(-y <= room_down)
            # At every row and column the flow in equals the flow out but at the cell's ends,
            # where the units moved leave (and return through the cell's own move).
            y_sign = way * python.sign[c]
            net = np.zeros(frame.n_nodes)
            np.add.at(net, python.row[cells], -y)
            np.add.at(net, python.col[cells], y)
            start, end = (
                (python.col[c], python.row[c]) if y_sign > 0 else (python.row[c], python.col[c])
            )
            expected = np.zeros(frame.n_nodes)
            expected[start], expected[end] = -units, units
            assert np.array_equal(net, expected)
