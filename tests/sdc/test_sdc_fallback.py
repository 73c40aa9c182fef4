"""Never fail: LP retries on badly scaled tables and the LP-free fallback directions."""

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from sdc_cases import assert_pattern_protects, random_table, tables

from sdc import audit as audit_module
from sdc import flows, secondary, status
from sdc.audit import Targets, audit, components
from sdc.fallback import (
    BoxTable,
    Cost,
    Direction,
    part_hypercube,
    part_hypercubes,
    proven_along,
    proven_by,
    scaling,
    scaling_below,
    totals_hypercube,
    totals_hypercubes,
)
from sdc.policy import Policy
from sdc.protect import primary_suppression, protect, protect_measure
from sdc.reference import cell_table_from_records
from sdc.relations import build_relations
from sdc.secondary import cell_rank, requirements, suppress
from sdc.table import CellTable

NO_LP = settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def wide_ranged_wijk_by_section(seed: int = 2):
    """3,337 regions x 21 sectors with margins (73,436 cells), amounts spanning 1 .. 5e10:
    the shape of companies by wijk x SBI section. HiGHS' presolve calls the first audit LP of
    the amount infeasible although the true values satisfy it."""
    rng = np.random.default_rng(seed)
    rows, cols, records = 3337, 21, 200_000
    wr, wc = rng.dirichlet(np.full(rows, 2.0)), rng.dirichlet(np.full(cols, 0.5))
    members = np.column_stack([rng.choice(rows, records, p=wr), rng.choice(cols, records, p=wc)])
    holding = rng.integers(0, records // 2, records)
    keys = rng.integers(0, 2**32, records)
    amount = np.round(rng.lognormal(8, 3, records))
    return cell_table_from_records(members, [rows, cols], holding, keys, {"amount": amount})


# ``make sweep`` audits the 70k-cell pattern below again with LPs (about three minutes);
# ``make test`` proves a sample of its primaries with flows, each in exact arithmetic (with
# the primaries alone suppressed, about one in 300 fails: a sample this large finds one).
FULL_AUDIT = os.environ.get("ZICHT_SWEEP_FULL") == "1"
SAMPLED_PRIMARIES = 1_500


def test_a_wide_ranged_70k_cell_table_gets_a_pattern_the_audit_proves_again():
    table = wide_ranged_wijk_by_section()
    rel = build_relations(table)
    stats = table.measures["amount"]
    policy = Policy()
    m = protect_measure(table, rel, stats, policy)  # raised AuditError before
    suppressed = m.status == status.SUPPRESSED
    primary, _, level = primary_suppression(stats, policy)
    assert suppressed[primary].all()
    lb = np.zeros(table.n_cells)
    targets = requirements(stats.value, primary, suppressed, level, lb)
    values = np.asarray(stats.value, dtype=np.float64)
    coords = np.asarray(table.coords)
    if not FULL_AUDIT:
        # A flow is a movement of the values checked against every relation: each sampled
        # primary must move as far as its protection asks, up and down.
        rng = np.random.default_rng(0)
        sample = rng.choice(np.flatnonzero(primary), SAMPLED_PRIMARIES, replace=False)
        frame = flows.Frame.of(coords, values, lb)
        for cells in components(rel, suppressed):
            net = flows._Network(frame, cells)
            for c in map(int, sample[np.isin(sample, cells)]):
                for goal, way in (
                    (targets.hi[c] - values[c], 1.0),
                    (values[c] - targets.lo[c], -1.0),
                ):
                    assert goal <= 0 or net.movement(rel, values, c, float(goal), way) is not None
        return
    # A fresh audit of the final pattern, without anything cached from the search. Its LPs
    # over a 40,000-cell component of amounts from 1 to 5e10 may miss a movement of a few
    # units (one cell, on some machines): each cell they list must then move that far in a
    # flow, checked in exact arithmetic (a two-way table's LP is a network flow problem).
    outcome = audit(rel, stats.value, suppressed, targets)
    for cells in components(rel, suppressed):
        listed = [(c, True) for c in outcome.failing_up if c in cells]
        listed += [(c, False) for c in outcome.failing_down if c in cells]
        if not listed:
            continue
        net = flows._Network(flows.Frame.of(coords, values, lb), cells)
        for c, up in listed:
            goal = targets.hi[c] - values[c] if up else values[c] - targets.lo[c]
            assert net.movement(rel, values, c, float(goal), 1.0 if up else -1.0) is not None


def _no_lp(monkeypatch):
    monkeypatch.setattr(audit_module._ComponentLP, "solve", lambda self, *a, **k: None)
    monkeypatch.setattr(audit_module._Movements, "solve", lambda self, *a, **k: None)


@pytest.mark.parametrize("hierarchy", [False, True])
def test_without_any_lp_solution_the_fallback_still_protects(monkeypatch, hierarchy):
    table = random_table(3, (5, 4), 250, hierarchy=hierarchy)
    policy = Policy()
    with monkeypatch.context() as m:
        _no_lp(m)
        protected = protect(table, policy)
    for name, pm in protected.measures.items():
        assert_pattern_protects(table, name, pm.status == status.SUPPRESSED, policy, _strong(pm))


@NO_LP
@given(tables)
def test_fallback_patterns_survive_the_exact_audit_on_random_tables(table):
    policy = Policy()
    with pytest.MonkeyPatch.context() as m:
        _no_lp(m)
        protected = protect(table, policy)
    for name, pm in protected.measures.items():
        assert_pattern_protects(table, name, pm.status == status.SUPPRESSED, policy, _strong(pm))


def _strong(pm) -> bool:
    """Whether every fallback direction met what the reasons tell (else: non-negativity)."""
    return pm.facts["fallbacks_without_status_bounds"] == 0


def test_where_no_direction_meets_what_the_reasons_tell_the_fallback_proves_against_zero():
    # A three-way table with a hierarchy and no LP: no box, and cells of exactly the
    # threshold (known to hold it, as their reasons say) block the totals hypercubes and the
    # scaling downwards. The fallback then proves those cells against non-negativity, says
    # how many directions it so proved, and the answer is still found.
    table = random_table(2, (4, 3, 3), 300, hierarchy=True)
    policy = Policy()
    with pytest.MonkeyPatch.context() as m:
        _no_lp(m)
        pm = protect(table, policy).measures["count"]
    assert 0 < pm.facts["fallbacks_without_status_bounds"] <= pm.facts["fallbacks"]
    assert_pattern_protects(table, "count", pm.status == status.SUPPRESSED, policy, False)
    assert protect(table, policy).measures["count"].facts["fallbacks_without_status_bounds"] == 0


def test_the_fallback_is_reported_and_only_used_when_lps_fail(monkeypatch):
    table = random_table(5, (4, 4), 200, hierarchy=False)
    stats = table.measures["count"]
    policy = Policy()
    primary, _, level = primary_suppression(stats, policy)
    assert primary.any()
    rel = build_relations(table)
    rank = cell_rank(table.coords, np.abs(stats.value))
    lb = np.zeros(table.n_cells)
    args = (rel, stats.value, primary, level, rank, stats.contributors > 0, lb)
    assert suppress(*args).fallbacks == 0
    _no_lp(monkeypatch)
    assert suppress(*args).fallbacks > 0


def test_totals_hypercube_is_the_cell_with_every_total_above_it():
    table = random_table(1, (3, 4, 2), 300, hierarchy=False)
    rel = build_relations(table)
    coords = [tuple(c) for c in table.coords]
    d = totals_hypercube(rel, coords.index((1, 2, 0)))
    assert d is not None
    expected = {(a, b, c) for a in (1, -1) for b in (2, -1) for c in (0, -1)}
    assert {coords[c] for c in d.cells} == expected
    assert not np.any(rel.matrix[:, d.cells] @ d.delta)


def test_a_total_moves_with_the_hypercube_of_its_largest_part_level_after_level():
    """A total's own hypercube breaks the line it totals; the hypercube of the cell below it
    (the largest part of each line down) holds it and keeps every relation."""
    table = random_table(1, (3, 4, 2), 300, hierarchy=False)
    rel = build_relations(table)
    values = table.measures["amount"].value
    movable = table.measures["amount"].contributors > 0
    coords = [tuple(int(x) for x in c) for c in table.coords]
    total = coords.index((1, -1, -1))  # row 1 over every column and layer
    assert totals_hypercube(rel, total) is None
    d = part_hypercube(rel, values, movable, total)
    assert d is not None and total in d.cells
    assert not np.any(rel.matrix[:, d.cells] @ d.delta)
    inner = [c for c in d.cells if -1 not in coords[c]]
    assert len(inner) == 1  # one cell below, with every total above it
    a, _, c = coords[inner[0]]
    assert a == 1 and movable[inner[0]]
    line = [i for i, x in enumerate(coords) if x[0] == 1 and -1 not in x and x[2] == c]
    assert values[inner[0]] == max(values[i] for i in line if movable[i])
    # an interior cell is its own hypercube's start; a grand total reaches one too
    assert part_hypercube(rel, values, movable, inner[0]).cells.tolist() == sorted(d.cells)
    grand = coords.index((-1, -1, -1))
    assert grand in part_hypercube(rel, values, movable, grand).cells


def test_three_way_tables_get_a_proven_pattern_within_their_lp_budget(monkeypatch):
    """Three items with margins have no flows: LPs are counted in work (columns squared, at
    least ``LP_FLOOR_COLUMNS`` squared each), and once the budget is spent the directions
    prove what is left, with no further LP.
    The pattern is the same on every run (a budget of work, not of time) and survives the
    exact audit. Boxes suppress less than hypercubes alone would."""
    table = random_table(4, (6, 5, 3), 400, hierarchy=False)
    policy = Policy()
    stats = table.measures["amount"]
    primary, _, level = primary_suppression(stats, policy)
    rel = build_relations(table)
    rank = cell_rank(table.coords, np.abs(stats.value))
    lb = np.zeros(table.n_cells)
    args = (rel, stats.value, primary, level, rank, stats.contributors > 0, lb)
    plain = {"coords": np.asarray(table.coords)}
    free = suppress(*args, **plain)
    assert free.fallbacks == 0 and free.n_lps > 0
    floor = secondary.LP_FLOOR_COLUMNS**2  # the least work an LP counts
    for budget in (0, floor - 1, 3 * floor):
        monkeypatch.setattr(secondary, "LP_BUDGET", budget)
        first, again = suppress(*args, **plain), suppress(*args, **plain)
        assert np.array_equal(first.suppressed, again.suppressed)
        assert first.suppressed[primary].all()
        assert first.n_lps <= budget // floor  # however small the LPs (a few cells here)
        if budget < floor:  # not one LP fits: directions only
            assert first.n_lps == 0 and first.fallbacks > 0
            cubes_only = suppress(*args)  # (no coordinates: no boxes)
            assert first.suppressed.sum() < cubes_only.suppressed.sum()
        else:
            assert first.n_lps > 0
        m = protect_measure(table, rel, stats, policy)
        assert np.array_equal(m.status == status.SUPPRESSED, first.suppressed)
        assert_pattern_protects(table, "amount", first.suppressed, policy)


def small_amounts(seed: int, shape: tuple[int, ...], records: int, hierarchy: bool):
    """A table of small whole amounts: equal values (ties) everywhere, and corners small
    enough that a hypercube cannot always take a primary down far enough."""
    base = random_table(seed, shape, records, hierarchy)
    rng = np.random.default_rng(seed)
    members = np.column_stack([rng.integers(0, n, records) for n in shape])
    n_members = list(shape)
    if hierarchy:
        c2p = np.asarray(base.hierarchies[0].child_to_parent)
        members = np.column_stack([members, c2p[members[:, 0]]])
        n_members.append(int(c2p.max()) + 1)
    holding = rng.integers(0, records, records)
    keys = rng.integers(0, 2**32, records)
    amount = rng.integers(1, 4, records).astype(float)
    return cell_table_from_records(
        members, n_members, holding, keys, {"amount": amount}, hierarchies=base.hierarchies
    )


def _walk_up(dense: np.ndarray, cell: int) -> set[int]:
    """The totals hypercube by its definition, one cell at a time on the dense matrix."""
    found, todo = {cell}, [cell]
    while todo:
        c = todo.pop()
        for r in np.flatnonzero(dense[:, c] < 0):
            t = int(np.flatnonzero(dense[r] > 0)[0])
            if t not in found:
                found.add(t)
                todo.append(t)
    return found


def _walk_down(dense, values, movable, cell: int) -> int:
    """The cell a part hypercube starts from, by its definition (-1: none)."""
    while True:
        totals = np.flatnonzero(dense[:, cell] > 0)
        if not len(totals):
            return cell
        parts = sorted({int(p) for r in totals for p in np.flatnonzero(dense[r] < 0)})
        parts = [p for p in parts if movable[p]]
        if not parts:
            return -1
        cell = max(parts, key=lambda p: (abs(values[p]), -p))


def _as_sets(owner, members, n):
    out: list[set[int]] = [set() for _ in range(n)]
    for o, m in zip(owner.tolist(), members.tolist(), strict=True):
        out[o].add(m)
    return out


@pytest.mark.parametrize("hierarchy", [False, True])
def test_the_directions_of_many_cells_at_once_are_each_cells_own(hierarchy):
    """The fallback finds the hypercubes of thousands of cells in a few array steps; each
    must be what the walk by the definition finds for that cell alone."""
    table = small_amounts(5, (4, 3, 3), 300, hierarchy=hierarchy)
    rel = build_relations(table)
    dense = rel.matrix.toarray()
    values = table.measures["amount"].value
    movable = table.measures["amount"].contributors > 0
    cells = np.arange(table.n_cells)
    owner, members, ok = totals_hypercubes(rel, cells)
    assert np.all(np.diff(owner) >= 0)
    got = _as_sets(owner, members, len(cells))
    for c in cells.tolist():
        walked = _walk_up(dense, c)
        assert got[c] == walked
        assert ok[c] == (not np.any(dense[:, sorted(walked)].sum(axis=1)))
    assert not ok.all() and ok.any()  # totals break their own line; inner cells do not
    owner, members, ok = part_hypercubes(rel, values, movable, cells)
    got = _as_sets(owner, members, len(cells))
    for c in cells.tolist():
        start = _walk_down(dense, values, movable, c)
        cube = _walk_up(dense, start) if start >= 0 else set()
        holds = c in cube and not np.any(dense[:, sorted(cube)].sum(axis=1))
        assert ok[c] == holds
        if holds:
            assert got[c] == cube


def test_what_many_directions_prove_is_what_each_proves_alone():
    rng = np.random.default_rng(3)
    sizes = [1, 4, 2, 7, 3]
    owner = np.repeat(np.arange(len(sizes)), sizes)
    n = len(owner)
    values = rng.uniform(0, 20, n).round()
    delta = rng.choice([-2.0, -1.0, 0.0, 1.0, 0.5], n)
    primary = rng.random(n) < 0.4
    lower = np.where(rng.random(n) < 0.2, -np.inf, 0.0)
    t = targets_for(values, primary, 3.0, ~primary)
    t = Targets(t.hi, t.lo, t.eps, lower)
    together = proven_along(owner, delta, values, t)
    for o in range(len(sizes)):
        at = np.flatnonzero(owner == o)
        alone = proven_by(Direction(at, delta[at]), values, t)
        assert np.array_equal(together[at], alone)


@pytest.mark.parametrize("hierarchy", [False, True])
def test_the_fallback_chooses_cell_by_cell_in_rank_order(hierarchy):
    """The fallback finds every direction at once, then chooses: by rank, a cell an earlier
    direction proved is skipped, else its first direction that is movable and proves it
    (one that does not is suppressed all the same). Checked against that rule run one cell
    at a time, and the result against the exact audit."""
    table = small_amounts(6, (5, 4, 3), 200, hierarchy=hierarchy)
    stats = table.measures["amount"]
    primary, _, level = primary_suppression(stats, Policy())
    rel = build_relations(table)
    values = np.asarray(stats.value, dtype=np.float64)
    rank = cell_rank(table.coords, np.abs(values))
    movable = stats.contributors > 0
    lb = np.zeros(table.n_cells)

    def state():
        return secondary._State(
            rel, rank, movable & ~primary, values, level.astype(float), primary.copy(),
            abs(rel.matrix) @ primary.astype(float), lb, movable.copy(), primary, None,
            np.zeros(table.n_cells, dtype=bool), False, 0,
        )  # fmt: skip

    s, proven = state(), np.zeros(table.n_cells, dtype=bool)
    secondary._fall_back(s, np.flatnonzero(primary).tolist(), proven)
    suppressed, expected, n = primary.copy(), np.zeros(table.n_cells, dtype=bool), 0
    for cell in sorted(np.flatnonzero(primary).tolist(), key=lambda c: rank[c]):
        if expected[cell]:
            continue
        for make in (
            lambda c: totals_hypercube(rel, c),
            lambda c: part_hypercube(rel, values, movable, c),
            lambda c: scaling(rel, values, movable, c),
        ):
            d = make(cell)
            if d is None or not movable[d.cells].all():
                continue
            suppressed[d.cells] = True
            k = d.cells
            req = requirements(values[k], primary[k], suppressed[k], level[k], lb[k])
            expected[k[proven_by(Direction(np.arange(len(k)), d.delta), values[k], req)]] = True
            if expected[cell]:
                n += 1
                break
    assert s.fallbacks == n > 0
    assert np.array_equal(s.suppressed, suppressed)
    assert np.array_equal(proven, expected) and proven[suppressed].all()
    assert np.array_equal(s.candidate, movable & ~suppressed)
    assert np.array_equal(s.count, abs(rel.matrix) @ suppressed.astype(float))
    assert_pattern_protects(table, "amount", s.suppressed, Policy())


@pytest.mark.parametrize("shape", [(5, 4), (5, 4, 3), (4, 3, 3, 2)])
def test_the_cheapest_box_keeps_every_relation_proves_its_cell_and_beats_the_hypercube(shape):
    """A box through a cell (its member or a partner on each item, corners moving with
    alternating signs, a total's flipped) keeps every line's sum and takes the cell to its
    targets; it is never dearer than the totals hypercube, which is one of the boxes."""
    table = small_amounts(7, shape, 6 * int(np.prod(shape)), hierarchy=False)
    stats = table.measures["amount"]
    primary, _, level = primary_suppression(stats, Policy())
    rel = build_relations(table)
    values = np.asarray(stats.value, dtype=np.float64)
    movable = stats.contributors > 0
    lb = np.zeros(table.n_cells)
    every = np.ones(table.n_cells, dtype=bool)
    targets = requirements(values, primary, every, level, lb)
    rank = cell_rank(table.coords, np.abs(values))
    cost = np.where(primary, 0.0, (1.0 + rank) / table.n_cells)
    cells = np.flatnonzero(primary)
    assert len(cells) > 5
    found = BoxTable(np.asarray(table.coords)).cheapest(values, movable, cost, targets, cells)
    assert found.corners.shape == (len(cells), 2 ** len(shape))
    # the cost read for the cells asked only (what the fallback passes): the same boxes
    lazy = Cost(primary, (1.0 + rank) / table.n_cells)
    again = BoxTable(np.asarray(table.coords)).cheapest(values, movable, lazy, targets, cells)
    assert np.array_equal(again.corners, found.corners)
    assert np.array_equal(again.delta, found.delta)
    boxed = 0
    for i, c in enumerate(cells.tolist()):
        corners, delta = found.corners[i], found.delta[i]
        cube = totals_hypercube(rel, c)
        hypercube_proves = (
            cube is not None
            and movable[cube.cells].all()
            and proven_by(cube, values, targets)[list(cube.cells).index(c)]
        )
        if (corners < 0).all():
            assert not hypercube_proves
            continue
        boxed += 1
        assert len(set(corners.tolist())) == len(corners) and c in corners
        assert movable[corners].all()
        assert not np.any(rel.matrix[:, corners] @ delta)  # every relation holds, exactly
        d = Direction(corners, delta)
        assert proven_by(d, values, targets)[list(corners).index(c)]
        if hypercube_proves:
            assert cost[corners].sum() <= cost[cube.cells].sum()
    assert boxed >= len(cells) // 2


def test_a_table_too_wide_for_box_keys_has_no_boxes():
    with pytest.raises(ValueError, match="box keys"):
        BoxTable(np.array([[2**20, 2**20, 2**20]]))


def test_the_scaling_below_a_total_takes_it_to_zero_and_moves_only_cells_below_it():
    table = small_amounts(8, (4, 3, 3), 300, hierarchy=False)
    rel = build_relations(table)
    values = np.asarray(table.measures["amount"].value, dtype=np.float64)
    coords = np.asarray(table.coords)
    boxes_of = BoxTable(coords)
    for c in range(table.n_cells):
        d = scaling_below(rel, boxes_of, values, c)
        if values[c] == 0:
            assert d is None
            continue
        assert d is not None and c in d.cells
        assert np.abs(rel.matrix[:, d.cells] @ d.delta).max() <= 1e-9 * values.max()
        assert d.delta[list(d.cells).index(c)] == values[c]  # t = -1 takes it to 0
        assert np.all(d.delta <= values[d.cells] + 1e-9)  # and no cell below 0
        own = coords[c]
        side = (coords[d.cells] == own) | (coords[d.cells] == -1) | (own == -1)
        assert side.all()
    whole = scaling_below(rel, boxes_of, values, int(np.flatnonzero((coords == -1).all(1))[0]))
    assert whole is not None and len(whole.cells) == int((values != 0).sum())


@pytest.mark.parametrize("drop", [0, 40])
def test_the_cells_below_a_cell_are_those_on_its_side_of_every_item(drop):
    """``BoxTable.below`` reads a cell's side of the table from the lookup (a few cells
    inside the table); it must find the cells the definition finds among all of them, on a
    full table and on one with cells missing (where it reads all cells instead)."""
    coords = np.asarray(random_table(6, (5, 4, 3), 400, hierarchy=False).coords)
    coords = np.random.default_rng(drop).permutation(coords)[drop:]
    boxes_of = BoxTable(coords)
    for c in range(len(coords)):
        own = coords[c]
        side = np.all((coords == own) | (coords == -1) | (own == -1), axis=1)
        assert np.array_equal(boxes_of.below(boxes_of.shifted[c]), np.flatnonzero(side))


def test_once_the_lp_budget_is_spent_the_components_left_fall_back_together(monkeypatch):
    """With no LP left, the open cells of every component go through the fallback in one
    pass, cheap cells first: not one pass (and its steps over the whole table) per
    component, which made a 480,480-cell table take 13 s. The pattern still protects.
    The table: six years (no total over them) of a three-way table with margins, so that
    its components stay apart."""
    full = random_table(7, (6, 6, 5, 4), 9_000, hierarchy=False)
    keep = np.flatnonzero(np.asarray(full.coords)[:, 0] >= 0)
    parts = {name: m.take(keep) for name, m in full.measures.items()}
    table = CellTable(np.asarray(full.coords)[keep], parts)
    policy = Policy()
    stats = table.measures["amount"]
    primary, _, level = primary_suppression(stats, policy)
    rel = build_relations(table)
    assert len(components(rel, primary)) >= 6
    rank = cell_rank(table.coords, np.abs(stats.value))
    lb = np.zeros(table.n_cells)
    args = (rel, stats.value, primary, level, rank, stats.contributors > 0, lb)
    monkeypatch.setattr(secondary, "LP_BUDGET", 0)
    passes: list[int] = []
    fall_back = secondary._fall_back

    def counted(s, cells, proven):
        passes.append(len(cells))
        fall_back(s, cells, proven)

    monkeypatch.setattr(secondary, "_fall_back", counted)
    got = suppress(*args, coords=np.asarray(table.coords))
    assert got.n_lps == 0 and got.fallbacks > 0
    assert len([n for n in passes if n]) <= 2  # the audit's, then the cells never judged
    assert_pattern_protects(table, "amount", got.suppressed, policy)


def test_scaling_moves_every_cell_of_the_table_with_its_value():
    table = random_table(1, (3, 3), 200, hierarchy=True)
    rel = build_relations(table)
    values = table.measures["amount"].value
    movable = table.measures["amount"].contributors > 0
    d = scaling(rel, values, movable, 0)
    assert d is not None
    assert set(d.cells) == set(np.flatnonzero(movable))
    assert np.abs(rel.matrix[:, d.cells] @ d.delta).max() <= 1e-9 * values.max()


def targets_for(values, primary, level, secondary):
    return Targets(
        np.where(primary, values + level, np.nan),
        np.where(primary, np.maximum(values - level, 0.0), np.nan),
        np.where(secondary, 1.0, np.nan),
        np.zeros(len(values)),
    )


def test_proven_by_respects_how_far_each_corner_can_go_down():
    # Direction (+1, -1, -1, +1) over a rectangle: going up is limited by the -1 corners.
    values = np.array([3.0, 10.0, 2.0, 8.0])
    primary = np.array([True, False, False, False])
    d = Direction(np.arange(4), np.array([1.0, -1.0, -1.0, 1.0]))
    # Up: t <= min(10, 2) = 2, so 3 + 2 = 5; down: t >= -min(3, 8) = -3, so 3 - 3 = 0.
    ok = proven_by(d, values, targets_for(values, primary, 2.0, ~primary))
    assert ok.all()
    short = proven_by(d, values, targets_for(values, primary, 3.0, ~primary))
    assert not short[0] and short[1:].all()
