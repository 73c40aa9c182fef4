"""Secondary (complementary) suppression over all additive relations of one answer.

Heuristic with a proof at the end:
1. *Capacity*: per relation, every suppressed cell needs suppressed partners able to absorb
   its protection level (see ``_resolve_capacity``); otherwise add the cheapest unsuppressed
   member that can (a part needs a value >= the shortfall; a total can always move). Repeat
   until no relation falls short.
2. *LP audit* (``sdc.audit``) of each component. For every cell whose feasibility interval
   is too narrow add the cheapest partner in one of its relations, redo 1, re-audit the
   components that changed. Stop when the audit passes.
3. *Fallback* (``sdc.fallback``) for a cell no partner can protect, that the LPs cannot
   settle (numerical trouble) or that a table's LP budget leaves unproven: suppress a
   direction of movement that needs no LP to prove (the cheapest box through the cell; the
   cell with its totals; what lies below it scaled; in the last resort the whole connected
   table) and mark what it proves. So a valid table always gets a proven pattern;
   ``AuditError`` remains only for a table where not even that holds (a non-empty zero
   cell in a table without full margins).

Every choice is ranked by (cost, coordinates), never by row order, so permuting the cells of
an answer changes nothing; feeding a final pattern back in adds nothing (idempotent).
Empty cells (no contributors) are never chosen: their zero is structural and known.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from sdc import flows
from sdc.audit import AuditError, Targets, audit_component, components, grid_units
from sdc.fallback import (
    BoxTable,
    Cost,
    Direction,
    balanced,
    part_hypercubes,
    proven_along,
    proven_by,
    scaling,
    scaling_below,
    totals_hypercubes,
)
from sdc.rectangles import moves, settled, sub_table
from sdc.relations import Relations, entries
from sdc.repair import cells_to_release

MAX_ROUNDS = 200
# Above this many unproven cells in a component, add partners instead of one LP per cell.
MAX_SINGLE_LPS = 12
# Two-way tables: components with more suppressed cells than this are first audited on a
# sub-table (``sdc.rectangles.sub_table``) holding the unproven cells and so many lines more,
# with or without the lines crossing them (0: only those), growing about threefold a step: a
# last cell the small sub-tables leave unproven costs one LP over ~100 lines, not over the
# whole component (100k cells x 100 ages: 0.13 against 0.23 s). The first step leaves the
# crossing lines out: where every column holds suppressed cells they are the whole component
# (485 wijken x 20 bands: 29 cells left, proven on 312 cells in 6 ms against 36 ms).
SUB_TABLE_FROM = 2_000
# A step is skipped when its sub-table is within this factor of one that already failed
# (larger or smaller): with one or two cells left, the lines crossing them make every step
# about the same size (a 100k-cell table: 16,230, 15,949, 16,882 and 18,360 cells, each failing
# for the same cell in 0.4-0.6 s), and the same sub-table fails the same way.
SUB_TABLE_GROWTH = 1.5
# Tables that are not two-way (three items with margins, hierarchies) have no flows: their
# LPs grow with the table, and one repair LP over a 50,000-cell table ran for minutes. So
# their LPs get a budget of work (deterministic, unlike a clock: the same table gets the
# same pattern on any machine and under any load, so two answers never show two patterns
# of one table), counted as columns squared per LP: on three-way tables an LP over 2,000
# suppressed cells took 0.01 s, 4,900 0.14 s, 8,000 0.44 s and 11,600 1.45 s. The budget
# holds one LP over 14,000 cells, or 50 over 2,000. An LP larger than the budget left, or
# any LP once it is spent: the unproven cells get the directions of ``sdc.fallback``
# instead, which need no LP (boxes first, on tables without a hierarchy).
LP_BUDGET = 200_000_000
# An LP costs something however small: setting it up and solving it took 0.3-0.5 ms over a
# component of a few dozen cells, what an LP over about 400 columns costs by the square. So
# the budget counts no LP as narrower than ``LP_FLOOR_COLUMNS``: a 94,230-cell table of three
# items with margins (youth age x household x wijk) spent 18,086 LPs over small components,
# 7.4 s (45 M of the budget as columns squared), where the directions take over now.
LP_FLOOR_COLUMNS = 400
# Cells whose fallback directions are found at once: the smaller, the more a box's cost
# knows of what the cells before it suppressed; the larger, the fewer array steps.
FALL_BACK_CHUNK = 512
# Tables without flows (three items, hierarchies) often fall apart in thousands of tiny
# components (a buurt x legal form x year table of 47,680 cells: 16,242 of 2-7 cells, 0.7 ms
# each, nearly all of it the LP's set-up). Components of at most ``BATCH_COMPONENT`` cells are
# audited together, up to ``BATCH_CELLS`` cells per LP: the LP over several components is
# block-diagonal (no relation holds suppressed cells of two), so its feasible points are
# exactly those of each component side by side, and what it proves each LP over one
# component proves. Only components on one grid unit share an LP (``sdc.audit.grid_unit``);
# the per-cell LPs allowed and the budget are counted per component, as for one at a time.
# Up to 64 cells: a wijk x subject type x month table of transactions (80,691 cells, scale 1)
# fell apart in 349 components of 17-39 cells per measure, each LP's set-up (3 ms) far more
# than its solve; batched, its protection took 0.57 instead of 2.2 s, the same pattern (as
# on 30 tables of three items at scale 0.1, in about the same time).
BATCH_COMPONENT = 64
BATCH_CELLS = 2_048
SUB_TABLE_LINES: tuple[tuple[int, bool], ...] = (
    (8, False),
    (32, True),
    (0, True),
    (96, True),
    (256, True),
    (1024, True),
)


@dataclass(frozen=True, slots=True, eq=False)
class Suppression:
    suppressed: np.ndarray  # bool: primary or secondary
    secondary: np.ndarray  # bool: added by this stage
    n_lps: int
    rounds: int
    fallbacks: int = 0  # directions suppressed by ``sdc.fallback`` (0 when the LPs sufficed)
    # of those, directions proven against non-negativity alone (``weak_bound``): no direction
    # met what the reasons tell (``lower_bound``)
    weak_fallbacks: int = 0


@dataclass(slots=True, eq=False)
class _State:
    rel: Relations
    rank: np.ndarray  # preference order of cells as partners (lower = cheaper)
    candidate: np.ndarray  # bool: may become a secondary
    values: np.ndarray
    level: np.ndarray  # protection to carry, propagated from primaries to partners
    suppressed: np.ndarray
    count: np.ndarray  # suppressed members per relation
    lower_bound: np.ndarray
    movable: np.ndarray  # bool: non-empty (may be suppressed at all)
    primary: np.ndarray  # bool: the primary cells
    grid: np.ndarray | None  # coordinates of a two-way table with margins (else None)
    # Cells every sub-table left unproven in an earlier round: their proof (or failure)
    # needed the whole component. A later round goes straight to it when no other cell is
    # open there (a sub-table only proves, so skipping one changes no pattern, only where
    # the proof comes from: a 100k-cell table's second ladder cost 0.5 s and failed again).
    beyond_sub_tables: np.ndarray  # bool
    complete: bool = False  # a two-way table with every line's total (``sdc.flows.complete``)
    # LP work left (``LP_BUDGET``, columns squared; None: no budget, a two-way table)
    budget: int | None = None
    fallbacks: int = 0  # directions suppressed (``sdc.fallback``)
    weak_bound: np.ndarray | None = None  # the fallback's bounds where none meets lower_bound
    weak_fallbacks: int = 0  # directions proven against ``weak_bound`` only
    # coordinates of a table with no hierarchy: boxes (``sdc.fallback.BoxTable``) before the
    # hypercubes (None: hypercubes only)
    coords: np.ndarray | None = None
    box_table: BoxTable | None = None  # built at the first box
    flow_frame: flows.Frame | None = None  # built at the first flow (``sdc.flows.Frame``)
    rank_cost: np.ndarray | None = None  # a box's cost per cell not yet suppressed

    def spend(self, columns: int, lps: int = 1) -> bool:
        """Whether ``lps`` LPs of ``columns`` columns fit in the budget (and spend it if so)."""
        if self.budget is None:
            return True
        work = lps * max(columns, LP_FLOOR_COLUMNS) ** 2
        if work > self.budget:
            self.budget = 0
            return False
        self.budget -= work
        return True

    def lps_left(self, columns: int) -> int | None:
        """How many LPs of ``columns`` columns the budget still holds (None: no limit)."""
        return None if self.budget is None else self.budget // max(columns, LP_FLOOR_COLUMNS) ** 2

    @property
    def spent(self) -> bool:
        return self.budget == 0


def cell_rank(coords: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Rank of each cell by (cost, coordinates): independent of the order of the rows."""
    keys = [coords[:, d] for d in range(coords.shape[1] - 1, -1, -1)] + [cost]
    order = np.lexsort(keys)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank


def suppress(
    rel: Relations,
    values: np.ndarray,
    primary: np.ndarray,
    level: np.ndarray,
    rank: np.ndarray,
    candidate: np.ndarray,
    lower_bound: np.ndarray,
    already: np.ndarray | None = None,
    grid: np.ndarray | None = None,
    coords: np.ndarray | None = None,
    weak_bound: np.ndarray | None = None,
) -> Suppression:
    """Complete the primary pattern ``primary`` (+ ``already`` suppressed cells) and audit it.

    ``grid``: the coordinates of a two-way table with margins and no hierarchy; with it, cells
    are first proven by rectangles (``sdc.rectangles``), then by flows (``sdc.flows``), the
    rest on a sub-table, and only what remains by LPs over whole components. These steps only
    prove, they never suppress: a cell they settle is one the LPs over the whole component
    would have settled too.

    ``lower_bound``: how far down the attacker knows each cell cannot go (the audit's
    model); ``weak_bound`` (default: the same), lower or equal: what the last resort,
    ``sdc.fallback``, proves against where no direction meets ``lower_bound`` (counted in
    ``weak_fallbacks``), so that a pattern is always found.
    """
    start = primary | (already if already is not None else False)
    state = _State(
        rel,
        rank,
        candidate & ~start,
        values,
        level.astype(np.float64).copy(),
        start.copy(),
        abs(rel.matrix) @ start.astype(np.float64),
        lower_bound,
        candidate | start,
        primary,
        grid,
        np.zeros(len(values), dtype=bool),
        grid is not None and flows.complete(grid),
        None if grid is not None else LP_BUDGET,
        coords=coords,
        weak_bound=weak_bound,
    )
    targets = requirements(values, primary, state.suppressed, level, lower_bound)
    # Repair cost per unit of movement: the ranking spread over (0, 1], cheap cells first.
    weight = (1.0 + rank.astype(np.float64)) / max(1, len(rank))
    proven = np.zeros(len(values), dtype=bool)
    n_lps = 0
    exact = False  # per-cell LPs for every unproven cell (slow, but no false failures)
    rounds = 0
    for rounds in range(1, MAX_ROUNDS + 1):
        _resolve_capacity(state)
        targets = requirements(values, primary, state.suppressed, level, lower_bound)
        moved = None
        if grid is not None:
            moved = moves(grid, values, state.suppressed, targets, asked=~proven)
            proven |= state.suppressed & settled(targets.eps, *moved)
        failing, lps = _audit_changed(state, targets, proven, exact, moved)
        n_lps += lps
        if not failing:
            return _outcome(state, start, n_lps, rounds)
        if state.spent:  # no LP left: directions prove what the LPs did not (below)
            break
        released = False
        for cell, up in sorted(failing, key=lambda f: (rank[f[0]], f[1])):
            target = targets.hi[cell] if up else targets.lo[cell]
            if np.isnan(target):  # a secondary cell that must move by eps at all
                target = values[cell] + targets.eps[cell]
            n_lps += 1
            got = _release(state, cell, float(target), weight, exact)
            released |= got
            if not got and state.budget is not None:
                # Under a budget: a repair that releases nothing (the quick audit could
                # not prove a cell the repair LP reaches) hands the round to the audit, not
                # to one wide repair LP for every cell the quick audit listed.
                break
        if not released:
            if exact:  # no partner helps, or the LPs cannot settle it: prove without LPs
                _fall_back(state, [c for c, _ in failing], proven)
            # The quick audit may report cells it merely could not prove in few LPs:
            # settle them exactly before concluding anything.
            exact = not exact
        else:
            exact = False
    # Out of rounds or of LPs: whatever is still unproven gets the fallback, which proves it.
    if not state.spent:
        _resolve_capacity(state)
        targets = requirements(values, primary, state.suppressed, level, lower_bound)
        failing, lps = _audit_changed(state, targets, proven, exact=False)
        n_lps += lps
        _fall_back(state, [c for c, _ in failing], proven)
    # (cells the LPs never judged, once they are spent: proven by directions)
    _fall_back(state, list(np.flatnonzero(state.suppressed & ~proven)), proven)
    return _outcome(state, start, n_lps, rounds)


def _outcome(s: _State, start: np.ndarray, n_lps: int, rounds: int) -> Suppression:
    """The pattern ``suppress`` ends with (``start``: the cells suppressed before it)."""
    return Suppression(
        s.suppressed, s.suppressed & ~start, n_lps, rounds, s.fallbacks, s.weak_fallbacks
    )


def _fall_back(s: _State, cells: list[int], proven: np.ndarray) -> None:
    """Suppress a direction proving each of ``cells`` (``sdc.fallback``), counted in
    ``s.fallbacks``.

    Cell by cell in rank order, skipping cells an earlier direction proved: the cell's
    cheapest box (a table with no hierarchy), else its totals hypercube, else the part
    hypercube, else the scaling of what lies below it (no hierarchy), else of the whole
    table: the first that is movable and proves it (one that does not is suppressed all
    the same). Everything a direction proves is marked in ``proven``: cells it newly
    suppresses are secondaries whose requirement (movement by eps) it meets as well. What
    a direction proves depends on nothing the loop changes (its cells are all suppressed
    once it is), so the directions of ``FALL_BACK_CHUNK`` cells are found at once, and the
    loop only chooses; a box's cost is that of the cells it adds, as the chunk starts.
    Its work past the chunks' grows with the cells it is given, not with the table (a box
    reads the cost of its own cells only, ``sdc.fallback.Cost``).
    """
    order = np.unique(np.asarray(cells, dtype=np.int64))
    order = order[~proven[order]]
    order = order[np.argsort(s.rank[order])]
    if not len(order):
        return
    was = s.suppressed.copy()
    # each cell's requirement once suppressed (what a box must meet)
    everything = np.ones(len(s.values), dtype=bool)
    targets = requirements(s.values, s.primary, everything, s.level, s.lower_bound)
    for start in range(0, len(order), FALL_BACK_CHUNK):
        chunk = order[start : start + FALL_BACK_CHUNK]
        chunk = chunk[~proven[chunk]]
        left = _fall_back_chunk(s, chunk, proven, targets) if len(chunk) else []
        if left and s.weak_bound is not None:
            left = _fall_back_weakly(s, np.array(left, dtype=np.int64), proven)
        if left:
            raise AuditError("no direction of movement protects a suppressed cell")
    new = np.flatnonzero(s.suppressed & ~was)
    s.candidate[new] = False
    _, rows, _ = entries(s.rel.by_cell, new)  # the relations of the new cells (entries +-1)
    np.add.at(s.count, rows, 1.0)


_NONE = np.zeros(0, dtype=bool)


def _fall_back_weakly(s: _State, cells: np.ndarray, proven: np.ndarray) -> list[int]:
    """The fallback of ``cells`` against ``s.weak_bound`` (no direction met
    ``s.lower_bound``: a cell of exactly the bound blocks every direction that takes it
    down, and where hierarchies leave no box, every direction down may pass through one).
    The cells it leaves without a direction."""
    assert s.weak_bound is not None
    strong, before = s.lower_bound, s.fallbacks
    s.lower_bound = s.weak_bound
    try:
        everything = np.ones(len(s.values), dtype=bool)
        targets = requirements(s.values, s.primary, everything, s.level, s.lower_bound)
        return _fall_back_chunk(s, cells, proven, targets)
    finally:
        s.lower_bound = strong
        s.weak_fallbacks += s.fallbacks - before


def _fall_back_chunk(
    s: _State, order: np.ndarray, proven: np.ndarray, targets: Targets
) -> list[int]:
    """The directions of ``order``'s cells (see ``_fall_back``); the cells none proves."""
    tried = [] if _box_table(s) is None else [_boxes(s, order, targets)]
    # the hypercubes of the cells no box proves (with no box, of all)
    rest = np.arange(len(order))
    if tried:
        rest = np.array(
            [i for i, (m, ok) in enumerate(tried[0]) if m is None or not ok[m == order[i]].all()],
            dtype=np.int64,
        )
    for found in (
        _along(s, *totals_hypercubes(s.rel, order[rest])),
        _along(s, *part_hypercubes(s.rel, s.values, s.movable, order[rest])),
    ):
        spread: list[tuple[np.ndarray | None, np.ndarray]] = [(None, _NONE)] * len(order)
        for i, f in zip(rest.tolist(), found, strict=True):
            spread[i] = f
        tried.append(spread)
    left: list[int] = []
    for i, cell in enumerate(order.tolist()):
        if proven[cell]:
            continue
        done = False
        for members, ok in (t[i] for t in tried):
            if members is None:
                continue
            s.suppressed[members] = True
            proven[members[ok]] = True
            if proven[cell]:
                done = True
                break
        for make in (
            lambda c: (
                None if s.box_table is None else scaling_below(s.rel, s.box_table, s.values, c)
            ),
            lambda c: scaling(s.rel, s.values, s.movable, c),
        ):
            d = None if done else make(cell)
            if d is not None and s.movable[d.cells].all():
                done = _prove_along(s, d, proven, cell)
        if not done:
            left.append(cell)
            continue
        s.fallbacks += 1
    return left


def _boxes(
    s: _State, order: np.ndarray, targets: Targets
) -> list[tuple[np.ndarray | None, np.ndarray]]:
    """The cheapest box of each cell (``sdc.fallback.BoxTable``): a cell already suppressed
    costs nothing, the others their rank (cheap cells first)."""
    table = _box_table(s)
    assert table is not None
    if s.rank_cost is None:
        s.rank_cost = (1.0 + s.rank) / max(1, len(s.rank))
    cost = Cost(s.suppressed, s.rank_cost)
    found = table.cheapest(s.values, s.movable, cost, targets, order)
    has = found.corners >= 0
    owner = np.repeat(np.arange(len(order)), has.sum(axis=1))
    members, delta = found.corners[has], found.delta[has]
    ok = has.any(axis=1) & balanced(s.rel, owner, members, len(order), delta)
    return _along(s, owner, members, ok, delta)


def _box_table(s: _State) -> BoxTable | None:
    """The table's boxes (None: it has a hierarchy, or too many members for box keys)."""
    if s.box_table is None and s.coords is not None:
        try:
            s.box_table = BoxTable(s.coords)
        except ValueError:
            s.coords = None
    return s.box_table


def _along(
    s: _State, owner: np.ndarray, members: np.ndarray, ok: np.ndarray, delta=None
) -> list[tuple[np.ndarray | None, np.ndarray]]:
    """Per direction of ``sdc.fallback``'s many-at-once form: its cells (None when it does
    not hold or moves an empty cell) and which of them it proves once they are suppressed.
    ``delta``: their movement (default +1)."""
    k = members
    every = np.ones(len(k), dtype=bool)  # all suppressed once the direction is
    targets = requirements(s.values[k], s.primary[k], every, s.level[k], s.lower_bound[k])
    move = np.ones(len(k)) if delta is None else delta
    proves = proven_along(owner, move, s.values[k], targets)
    bounds = np.searchsorted(owner, np.arange(len(ok) + 1))
    movable = np.ones(len(ok), dtype=bool)
    movable[owner[~s.movable[k]]] = False
    out: list[tuple[np.ndarray | None, np.ndarray]] = []
    for i, (a, b) in enumerate(zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)):
        good = ok[i] and movable[i]
        out.append((k[a:b] if good else None, proves[a:b]))
    return out


def _prove_along(s: _State, d: Direction, proven, cell: int) -> bool:
    """Suppress the cells of ``d``; mark what it proves; True when ``cell`` is among them."""
    s.suppressed[d.cells] = True
    # the requirements of the direction's cells only (cell by cell: the same as the table's)
    k = d.cells
    targets = requirements(s.values[k], s.primary[k], s.suppressed[k], s.level[k], s.lower_bound[k])
    ok = proven_by(Direction(np.arange(len(k)), d.delta), s.values[k], targets)
    proven[k[ok]] = True
    return bool(proven[cell])


def requirements(values, primary, suppressed, level, lower_bound) -> Targets:
    """What the audit must prove of a pattern: primaries ``value ± level``, secondaries eps."""
    hi = np.where(primary, values + level, np.nan)
    lo = np.where(primary, np.maximum(values - level, lower_bound), np.nan)
    secondary = suppressed & ~primary
    eps = np.where(secondary, secondary_eps(values), np.nan)
    return Targets(hi, lo, eps, lower_bound)


def secondary_eps(values: np.ndarray) -> np.ndarray:
    """How far a secondary cell must be able to move: 1 unit, or 0.1 % of larger values."""
    return np.maximum(1e-3 * np.abs(values), np.minimum(1.0, np.abs(values) + 1e-6))


def _release(s: _State, cell: int, target: float, weight: np.ndarray, exact: bool) -> bool:
    """Suppress the cells the repair LP moves (growing the neighbourhood if needed).

    False when nothing was released: either the repair LP shows the target is reachable
    already (the quick audit could not prove it), or there is nothing left to release.
    """
    for depth in (2, 4):
        found = _flow_release(s, cell, target, weight) if depth == 2 else False
        cells: np.ndarray | Literal[False] | None = found
        if found is False:  # not a two-way table, or the flow gave up: the repair LP
            cells = cells_to_release(
                s.rel,
                s.values,
                s.suppressed,
                s.candidate,
                weight,
                s.lower_bound,
                cell,
                target,
                depth,
                s.spend,
            )
        if cells is False:  # wider than the LP budget left: the directions take over
            return False
        if cells is not None and len(cells):
            for c in cells:
                s.suppressed[c] = True
                s.candidate[c] = False
                s.count[s.rel.of_cell(c)] += 1
            return True
        if cells is not None and not exact:
            return False  # reachable without release: let the exact audit confirm it
    # The repair LP found no release in the neighbourhood: widen step by step.
    return _add_partner(s, cell, need=s.level[cell])


def _flow_release(
    s: _State, cell: int, target: float, weight: np.ndarray
) -> np.ndarray | Literal[False] | None:
    """The repair as a minimum-cost flow on a two-way table (``sdc.flows.release``), where
    two relations around a cell reach the whole table; False elsewhere."""
    if s.grid is None:
        return False
    s.flow_frame = flows.frame_of(s.flow_frame, s.grid, s.values, s.lower_bound)
    return flows.release(
        s.grid,
        s.values,
        s.suppressed,
        s.candidate,
        weight,
        s.lower_bound,
        cell,
        target,
        s.flow_frame,
    )


def _audit_changed(
    state: _State,
    targets: Targets,
    proven: np.ndarray,
    exact: bool,
    moved: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[list[tuple[int, bool]], int]:
    """Audit the components with unproven cells; cells found safe are marked in ``proven``.

    ``moved``: the movements (up, down per cell) rectangles proved on a two-way table; flows
    over a component with few unproven cells may prove the rest or, in the quick audit,
    show them to fail (``sdc.flows``), and the component needs no LP.
    Sound across rounds because rounds only ever add suppression: a cell proven under an
    earlier pattern stays proven (its feasibility interval can only widen).
    Once the LP budget is spent, the open cells of every component left get the fallback
    together, cheap cells first (``_fall_back``), not component by component: a 480,480-cell
    table of four items left 2,351 components (13 s at scale 0.1 one by one, 7 s together,
    and 1 % fewer cells suppressed: a cheap cell's box serves the cells after it).
    """
    failing: list[tuple[int, bool]] = []
    n_lps = 0
    comps = [c for c in components(state.rel, state.suppressed) if not proven[c].all()]
    deferred: list[np.ndarray] = []
    for cells, parts, width in _audited_together(state, comps):
        if state.lps_left(width) == 0:
            state.budget = 0  # not even one LP over the component fits
        if state.spent:
            deferred.append(cells[~proven[cells]])
            continue
        # Large components: first the sub-tables (each of their LPs spans a few lines; a
        # flow spans the component), then flows for the few cells they leave.
        ladder = state.grid is not None and len(cells) > SUB_TABLE_FROM
        if ladder and not state.beyond_sub_tables[cells[~proven[cells]]].all():
            n_lps += _audit_sub_table(state, targets, proven, cells, moved is not None)
            if proven[cells].all():
                continue
            judged = _flows_prove(state, targets, proven, cells, moved, exact)
            if judged is None:
                state.beyond_sub_tables[cells[~proven[cells]]] = True
        else:
            judged = _flows_prove(state, targets, proven, cells, moved, exact)
        if judged is not None:  # every open cell proven by flows or shown to fail
            failing += judged
            continue
        up, down, lps = audit_component(
            state.rel,
            state.values,
            state.suppressed,
            targets,
            cells,
            max_single=_single_lps(state, len(cells), exact, parts, width),
            known=proven,
            max_lps=state.lps_left(width),
        )
        n_lps += lps
        state.spend(width, lps)
        failing += [(c, True) for c in up] + [(c, False) for c in down]
        ok = np.ones(len(cells), dtype=bool)
        ok[np.isin(cells, up + down)] = False
        proven[cells[ok]] = True
    if deferred:
        _fall_back(state, np.concatenate(deferred).tolist(), proven)
    return failing, n_lps


def _single_lps(
    state: _State, cells: int, exact: bool, parts: int = 1, width: int | None = None
) -> int:
    """Per-cell LPs the audit of ``parts`` components (``cells`` cells, ``width`` as the
    budget counts them) may run: every cell both ways when ``exact``, else
    ``MAX_SINGLE_LPS`` per component; under a budget, no more than it has left."""
    most = 2 * cells if exact else MAX_SINGLE_LPS * parts
    left = state.lps_left(cells if width is None else width)
    return most if left is None else min(most, left)


def _audited_together(state: _State, comps: list[np.ndarray]) -> list[tuple[np.ndarray, int, int]]:
    """The components as the audit takes them: (cells, how many components, width for the
    budget). On a table without flows, tiny components on one grid unit are taken together
    (``BATCH_COMPONENT``), in the order of their first cells; the budget counts such a batch
    as its components (an LP's work grows with the square of its columns: a block-diagonal
    LP's with the sum of its blocks' squares)."""
    if state.grid is not None:
        return [(c, 1, len(c)) for c in comps]
    tiny = [c for c in comps if len(c) <= BATCH_COMPONENT]
    sizes = np.array([len(c) for c in tiny], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    cells = np.concatenate(tiny) if tiny else np.zeros(0, dtype=np.int64)
    units = grid_units(state.values[cells], starts) if tiny else np.zeros(0)
    out: list[tuple[np.ndarray, int, int]] = []
    batches: dict[float, list[np.ndarray]] = {}  # per grid unit: the components gathered
    size: dict[float, int] = {}  # and their cells

    def close(unit: float) -> None:
        batch = batches.pop(unit)
        del size[unit]
        width = int(np.ceil(np.sqrt(sum(len(c) ** 2 for c in batch))))
        out.append((np.sort(np.concatenate(batch)), len(batch), width))

    unit_of = iter(units.tolist())  # of each tiny component, in order
    for c in comps:
        if len(c) > BATCH_COMPONENT:
            out.append((c, 1, len(c)))
            continue
        unit = next(unit_of)
        if unit in batches and size[unit] + len(c) > BATCH_CELLS:
            close(unit)
        batches.setdefault(unit, []).append(c)
        size[unit] = size.get(unit, 0) + len(c)
    for unit in list(batches):
        close(unit)
    return out


def _flows_prove(
    state: _State, targets: Targets, proven, cells, moved, exact: bool
) -> list[tuple[int, bool]] | None:
    """Flows on a two-way table (``sdc.flows``): what they prove is marked in ``proven``.
    The failing cells (maybe none) when every open cell of ``cells`` was proven or shown to
    fail, else None. Only the quick audit takes a failure from flows; the exact one (after
    a repair found nothing to release) asks the LPs."""
    if state.grid is None or moved is None:
        return None
    up, down = moved
    judge = state.complete and not exact
    frame = state.flow_frame = flows.frame_of(
        state.flow_frame, state.grid, state.values, targets.lower_bound
    )
    n, failing = flows.moves(
        state.grid, state.rel, state.values, cells, targets, up, down, ~proven, judge, frame
    )
    if n:
        proven[cells] |= settled(targets.eps[cells], up[cells], down[cells])
    if proven[cells].all():
        return []
    return failing


def _audit_sub_table(
    state: _State, targets: Targets, proven: np.ndarray, cells, flowing: bool
) -> int:
    """Prove what sub-tables around the unproven cells prove, growing them step by step
    (with ``flowing``, until no more cells are open than flows try)."""
    assert state.grid is not None
    suppressed = np.zeros(len(state.values), dtype=bool)
    suppressed[cells] = True  # the component's cells, all suppressed
    n_lps = 0
    tried: list[int] = []  # cells of each sub-table audited so far (each left cells unproven)
    for lines, crossing in SUB_TABLE_LINES:
        # Recomputed each step: fewer unproven cells make a smaller sub-table, and a few
        # bring the lines crossing them (``sdc.rectangles.sub_table``).
        free = sub_table(state.grid, state.values, suppressed, ~proven, lines, crossing)
        sub = np.flatnonzero(free)
        if len(sub) == len(cells):  # the whole component: nothing to gain here
            continue
        if any(t / SUB_TABLE_GROWTH < len(sub) < SUB_TABLE_GROWTH * t for t in tried):
            continue  # about the size of a sub-table that failed
        tried.append(len(sub))
        up, down, lps = audit_component(
            state.rel, state.values, free, targets, sub, max_single=MAX_SINGLE_LPS, known=proven
        )
        n_lps += lps
        ok = np.ones(len(sub), dtype=bool)
        ok[np.isin(sub, up + down)] = False
        proven[sub[ok]] = True
        if (~proven[cells]).sum() <= (flows.open_limit(len(cells)) if flowing else 0):
            break  # the flows that follow prove the few cells left, or show they fail
    return n_lps


def _resolve_capacity(s: _State) -> None:
    """Make every relation able to absorb the protection level of its suppressed cells.

    Per relation (total = sum of parts), for a suppressed cell with level L: it needs another
    suppressed member at all (else it is recomputed exactly); a part moving up by L needs the
    total suppressed or other suppressed parts holding >= L; a total moving down by L needs
    suppressed parts holding >= L. Singletons are the special case of the first condition.
    """
    coo = s.rel.matrix.tocoo()
    while True:
        rows, cols, deficit = _shortfalls(s, coo.row, coo.col, coo.data < 0)
        if len(rows) == 0:
            return
        # One fix per relation (its first shortfall by the cell's rank), then re-measure.
        order = np.lexsort((rows, s.rank[cols]))
        order = order[np.sort(np.unique(rows[order], return_index=True)[1])]
        # Each relation's best partner as the pass starts; one taken by an earlier fix is
        # chosen again (a partner still free stays the best: the pool only shrinks).
        best = _best_in_relations(s, rows[order], deficit[order])
        added = []
        for i, p in zip(order.tolist(), best.tolist(), strict=True):
            if p >= 0 and not s.candidate[p]:
                p = _best_in_relation(s, int(rows[i]), float(deficit[i]))
            if p < 0:
                continue
            _take_partner(s, p, int(cols[i]))
            added.append(p)
        if not added:  # nothing left to add: the audit will judge what remains
            return
        s.count += abs(s.rel.matrix) @ np.bincount(added, minlength=len(s.values))


def _shortfalls(s: _State, rows, cols, is_part):
    """(relation, suppressed cell, missing capacity) for every shortfall."""
    sup = s.suppressed[cols]
    rows, cols, is_part = rows[sup], cols[sup], is_part[sup]
    capacity = _room(s)
    n_rel = s.rel.n
    part_sum = np.bincount(rows[is_part], weights=capacity[cols[is_part]], minlength=n_rel)
    total_sup = np.bincount(rows[~is_part], minlength=n_rel) > 0
    level = s.level[cols]
    tol = 1e-9 * np.maximum(1.0, np.abs(s.values[cols]))
    alone = s.count[rows] < 2
    others = np.where(is_part, part_sum[rows] - capacity[cols], part_sum[rows])
    short = ~alone & (level - others > tol) & ~(is_part & total_sup[rows])
    bad = alone | short
    deficit = np.where(alone, level, level - others)
    return rows[bad], cols[bad], np.maximum(deficit[bad], 0.0)


def _add_partner(s: _State, cell: int, need: float) -> bool:
    """Suppress the cheapest good partner of ``cell``: in its own relations first; if they
    hold no candidate (all suppressed or empty), in the relations of the suppressed cells
    linked to it, ring by ring."""
    best, seen, ring = -1, {cell}, [cell]
    while best < 0 and ring:
        rels = np.unique(np.concatenate([s.rel.of_cell(c) for c in ring]))
        best = _best_among(s, rels, need)
        linked = np.concatenate([s.rel.members(r) for r in rels] or [np.zeros(0, int)])
        ring = [int(c) for c in np.unique(linked) if s.suppressed[c] and int(c) not in seen]
        seen.update(ring)
    if best < 0:
        return False
    _take_partner(s, best, cell)
    s.count[s.rel.of_cell(best)] += 1
    return True


def _take_partner(s: _State, partner: int, cell: int) -> None:
    """Suppress ``partner`` for ``cell`` (the caller counts it in ``s.count``)."""
    s.suppressed[partner] = True
    s.candidate[partner] = False
    # The partner moves with the cell it protects, so it carries the cell's level onwards.
    s.level[partner] = max(s.level[partner], s.level[cell])


def _best_among(s: _State, relations, need: float) -> int:
    best = -1
    for r in relations:
        p = _best_in_relation(s, int(r), need)
        if p >= 0 and (best < 0 or _better(s, p, best, need)):
            best = p
    return best


def _best_in_relations(s: _State, rels: np.ndarray, needs: np.ndarray) -> np.ndarray:
    """``_best_in_relation`` of many relations at once (-1 where none has a candidate)."""
    which, members, signs = entries(s.rel.matrix, rels)
    ok = s.candidate[members]
    which, members, signs = which[ok], members[ok], signs[ok]
    able = (signs > 0) | (_room(s, members) >= needs[which])
    # per relation: the able candidates first, then by rank
    order = np.lexsort((s.rank[members], ~able, which))
    which, members = which[order], members[order]
    first = np.r_[True, which[1:] != which[:-1]] if len(which) else np.zeros(0, dtype=bool)
    best = np.full(len(rels), -1, dtype=np.int64)
    best[which[first]] = members[first]
    return best


def _best_in_relation(s: _State, r: int, need: float) -> int:
    m = s.rel.matrix
    lo, hi = m.indptr[r], m.indptr[r + 1]
    members, signs = m.indices[lo:hi], m.data[lo:hi]
    ok = s.candidate[members]
    if not ok.any():
        return -1
    members, signs = members[ok], signs[ok]
    # A part can absorb a movement of `need` only if it can go down that far; a total always
    # can (it goes up).
    able = (signs > 0) | (_room(s, members) >= need)
    pool = members[able] if able.any() else members
    return int(pool[np.argmin(s.rank[pool])])


def _room(s: _State, cells: np.ndarray | None = None) -> np.ndarray:
    """How far each cell (of ``cells``; default all) can go down: to its lower bound (what
    the attacker knows: 0, or a count's threshold), without limit for one that may be
    negative."""
    values = s.values if cells is None else s.values[cells]
    bound = s.lower_bound if cells is None else s.lower_bound[cells]
    return np.where(np.isinf(bound), np.inf, values - bound)


def _better(s: _State, p: int, q: int, need: float) -> bool:
    room = _room(s, np.array([p, q]))
    able_p, able_q = bool(room[0] >= need), bool(room[1] >= need)
    if able_p != able_q:
        return bool(able_p)
    return bool(s.rank[p] < s.rank[q])
