"""Custom groups as sums of fixed cells: every published population is a node of a hierarchy.

A cut can make a cell's population a *custom group*: a range of months, a set of gemeenten, a
complement, the neighbours of a gemeente. Were such a group aggregated as a population of its
own, it would get its own noise (the cell key method perturbs each distinct set of contributors
once), and every new group would be one more independent equation on the same small groups:
intersecting many such answers pins them (docs/disclosure-control.md, "Threat model").

So the engine never publishes a custom group as a population of its own. A cell whose
population, on some role, is not one member of one level (or the whole role) is answered from
the *node cells* that make it up — the whole members of the coarsest level that tile the
group — each protected as it is everywhere else, and then summed:

- the published value is the sum of the published node values (consistent: asking the same
  group in another way gives the same number, and a new group adds no equation the nodes did
  not already give);
- if any node is suppressed, so is the group (reason ``derived``): its value would be an
  equation on the hidden node;
- a part that does not break down by that role (a denominator cube without the role) is
  counted once, not once per node.

Periods are tiled at one level. A group of any other role's members is tiled by the whole
members of several levels, coarsest first (``tiling``): the country but one wijk is the
other provincies, the rest of its provincie by politie-eenheid, veiligheidsregio or
gemeente, and the other wijken of its gemeente; ages 12 to 29 are the broad group 15-24, the
band 25-29 and the years 12, 13 and 14. Each level's nodes run as a *tile*: an ordinary plan
whose mask keeps only those members, protected as a table of its own; the answer sums over
every tile.

A count of units over a custom group is therefore the sum of the nodes' counts: a person in two
months of a range counts in both (person-months), like a stock over a range of years counts
person-years. The last 3 and the last 5 years of the release are fixed pooled periods, each a
population of its own (``POOLED_YEARS``): pooling is how a small area gets a figure. Nodes
are found from the base arrays in ``cube.axes`` (numpy, no SQL); the decision depends only on
the query and the hierarchy, never on the data.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import product

import numpy as np

from cube.axes import PerAxis, RoleAxis
from cube.errors import Problem, TooManyCells
from cube.model import Role
from cube.plan import Item, KeyFilter, Part, Plan, cell_grid, other_role
from sdc.protect import ProtectedMeasure
from sdc.status import DERIVED, PERTURBED, SAFE, SUPPRESSED
from sdc.table import unique_rows


@dataclass(frozen=True, slots=True, eq=False)
class Tile:
    """One node plan: ``plan`` is what runs (its extra items break custom groups into nodes,
    its masks keep only those nodes' base items); ``source`` gives, per answer grouping set,
    the set of ``plan`` whose cells are summed into it."""

    plan: Plan
    source: tuple[tuple[tuple[int, ...], tuple[int, ...]], ...]  # (answer set, node set)
    # per group tiled at several levels: (role, level, node member indexes) of this tile
    nodes: tuple[tuple[str, str, tuple[int, ...]], ...] = ()


@dataclass(frozen=True, slots=True, eq=False)
class Composition:
    """How the answer's cells are made of node cells: one tile per set of masks (a group tiled
    at several levels runs one tile per level: each is an ordinary table of whole members,
    protected as such)."""

    tiles: tuple[Tile, ...]


# one level of a group's tiling in a tile: (role, level, node member indexes)
_Override = tuple[str, str, tuple[int, ...]]


def compose(plan: Plan, axes: dict[str, RoleAxis], max_cells: int) -> Composition | None:
    """The node plans of ``plan``, or ``None`` when every cell already is a node."""
    items = list(plan.items)
    extra: dict[tuple[str, int, str], int] = {}
    by_tile: dict[tuple[_Override, ...], list[tuple[tuple[int, ...], tuple[int, ...]]]] = {}
    # margins repeat a role's levels: each decided once
    nodes: dict[tuple[str, tuple[str, ...]], bool] = {}
    tilings: dict[tuple[str, tuple[str, ...]], list[tuple[str, tuple[int, ...]]]] = {}
    for gs in plan.grouping_sets:
        choices: list[list[tuple[int, _Override | None]]] = []
        for role, axis in axes.items():
            mask = plan.masks[role]
            if mask.all():
                continue
            mine = [i for i in gs if items[i].role == role]
            levels = tuple(items[i].level for i in mine)
            if (role, levels) not in nodes:
                nodes[(role, levels)] = _all_nodes(axis, mask, list(levels))
            if nodes[(role, levels)]:
                continue
            if (role, levels) not in tilings:
                tilings[(role, levels)] = _mixed_tiling(plan, axis, mask, list(levels))
            tiling = tilings[(role, levels)]
            if len(tiling) > 1:
                choices.append(
                    [
                        (_node_item(items, extra, axis, role, lv, members), (role, lv, members))
                        for lv, members in tiling
                    ]
                )
                continue
            level = _tiling_level(axis, mask, [items[i].level for i in mine])
            choices.append([(_item_for(items, extra, axis, mask, role, level), None)])
        for combo in product(*choices):
            key = tuple(o for _, o in combo if o is not None)
            node_set = tuple(sorted(set(gs) | {i for i, _ in combo}))
            by_tile.setdefault(key, []).append((gs, node_set))
    if all(a == b for src in by_tile.values() for a, b in src):
        return None
    tiles = tuple(_tile(plan, items, axes, key, src) for key, src in by_tile.items())
    n_cells = sum(t.plan.n_cells for t in tiles)
    if n_cells > max_cells:
        raise TooManyCells(
            f"this custom group is answered from its {n_cells:,} member cells; the "
            f"maximum is {max_cells:,}: choose fewer members, a coarser level or fewer breakdowns",
            [Problem("cuts", "too many member cells")],
        )
    return Composition(tiles)


def _tile(
    plan: Plan,
    items: list[Item],
    axes: dict[str, RoleAxis],
    overrides: tuple[_Override, ...],
    source: list[tuple[tuple[int, ...], tuple[int, ...]]],
) -> Tile:
    """The node plan of one tile: the node sets of ``source``, each overridden role's mask
    cut down to its nodes at their level, and every part reading only those nodes' rows."""
    masks = dict(plan.masks)
    for role, level, members in overrides:
        masks[role] = masks[role] & np.isin(axes[role].levels[level].base_index, members)
    sets = tuple(dict.fromkeys(node for _, node in source))
    used = {i for gs in sets for i in gs}
    parts = []
    for p in plan.parts:
        part = _with_items(plan, p, items)
        keep = [k for k, i in enumerate(part.items) if i in used]  # a tile's sets only
        part = replace(
            part,
            items=tuple(part.items[k] for k in keep),
            roles=tuple(part.roles[k] for k in keep),
        )
        filters = list(part.filters)
        for role, level, members in overrides:
            mapped = _mapped(plan, p, role)
            node_rows = np.isin(axes[role].levels[level].base_index, members)
            # a cut every node row passes says nothing more: without it a part of whole
            # provincies reads a rollup by provincie, not one by wijk for the cut's wijken
            filters = [
                f for f in filters if not (f.role == mapped and _passes(axes[role], node_rows, f))
            ]
            keys = axes[role].levels[level].keys
            filters.append(KeyFilter(mapped, level, tuple(keys[m] for m in members)))
        parts.append(replace(part, filters=tuple(filters)))
    node_plan = replace(
        plan,
        items=tuple(items),
        grouping_sets=sets,
        parts=tuple(parts),
        n_cells=_n_cells(items, sets, axes, masks),
        masks=masks,
    )
    return Tile(node_plan, tuple(source), overrides)


def _passes(axis: RoleAxis, rows: np.ndarray, f: KeyFilter) -> bool:
    """Does every base item of ``rows`` pass the filter ``f`` (a filter on ``axis``'s role)?"""
    if f.level not in axis.levels:
        return False
    lax = axis.levels[f.level]
    held = {lax.keys[m] for m in np.unique(lax.base_index[rows]).tolist()}
    return held.isdisjoint(f.keys) if f.exclude else held <= set(f.keys)


def _part_role(plan: Plan, part: Part, role: str) -> Role | None:
    """The role of ``part``'s cube that the answer's ``role`` is read through (the main
    cube's own role for the main cube's parts)."""
    return other_role(plan.cube, part.cube, role)


def _mapped(plan: Plan, part: Part, role: str) -> str:
    mapped = _part_role(plan, part, role)
    assert mapped is not None  # _mixed_tiling tiles only roles every part breaks down by
    return mapped.id


def _mixed_tiling(
    plan: Plan, axis: RoleAxis, mask: np.ndarray, levels: list[str]
) -> list[tuple[str, tuple[int, ...]]]:
    """A group tiled by whole members of several levels (``tiling``), where every part breaks
    down by the role at each of its levels; ``[]`` otherwise (the single-level tiling of
    ``_tiling_level`` answers those: a part broadcast over the role is counted once). Never
    for periods: a person in two months of a range counts in both, so a range stays a sum of
    like periods (person-months), not months beside a year that counts the person once."""
    role = axis.role
    if role.dimension.id == "period":
        return []
    for p in plan.parts:
        mapped = _part_role(plan, p, role.id)
        if mapped is None or any(lv not in mapped.levels for lv in role.levels):
            return []
        if dict(p.follows).get(mapped.id, role.id) != role.id:  # another answer role has it
            return []
    return tiling(axis, mask, levels)


def tiling(
    axis: RoleAxis, mask: np.ndarray, levels: list[str]
) -> list[tuple[str, tuple[int, ...]]]:
    """``mask`` tiled by whole members of several levels, coarsest first: at each level of the
    role, the members that lie wholly in the part of ``mask`` not yet tiled and within one
    cell (their members at ``levels``), as (level, member indexes); ``[]`` if the levels
    leave some of ``mask`` untiled. "The Netherlands but one wijk" is the other provincies,
    the rest of its provincie by politie-eenheid, veiligheidsregio or gemeente, and the other
    wijken of its gemeente: some tens of nodes instead of thousands of wijken, so that fewer
    of them are suppressed and hide the sum. Every node is still one member of one level,
    protected and perturbed as it is everywhere else."""
    cell_key = _level_key(axis, levels)
    left = mask.copy()
    out: list[tuple[str, tuple[int, ...]]] = []
    for name in axis.role.levels:
        if not left.any():
            break
        lax = axis.levels[name]
        n_left = np.bincount(lax.base_index[left], minlength=len(lax.codes))
        whole = (n_left > 0) & (n_left == _member_sizes(axis, name))
        if not whole.any():
            continue
        inside = whole[lax.base_index]
        pairs = np.unique(np.stack([lax.base_index[inside], cell_key[inside]]), axis=1)
        per_member = np.bincount(pairs[0], minlength=len(lax.codes))
        chosen = np.flatnonzero(whole & (per_member == 1))
        if len(chosen):
            out.append((name, tuple(chosen.tolist())))
            left &= ~np.isin(lax.base_index, chosen)
    return out if not left.any() else []


# What depends only on the base (a region role has some 14,000 buurten), never on a cut.
_BASE = PerAxis(512)


def _whole_key(axis: RoleAxis, levels: list[str]) -> tuple[np.ndarray, np.ndarray | None]:
    """``_level_key`` over the whole base, and how many base items each key holds (None when
    the keys are too sparse to count in an array: several levels multiply their sizes)."""

    def make() -> tuple[np.ndarray, np.ndarray | None]:
        key = _level_key(axis, levels)
        key.setflags(write=False)
        span = int(key.max()) + 1 if len(key) else 0
        if span > 4 * len(key) + 1024:
            return key, None
        n_all = np.bincount(key, minlength=span)
        n_all.setflags(write=False)
        return key, n_all

    return _BASE.get(axis, ("key", *levels), make)  # type: ignore[no-any-return]


def _member_sizes(axis: RoleAxis, level: str) -> np.ndarray:
    """Base items per member of ``level``."""

    def make() -> np.ndarray:
        lax = axis.levels[level]
        sizes = np.bincount(lax.base_index, minlength=len(lax.codes))
        sizes.setflags(write=False)
        return sizes

    return _BASE.get(axis, ("sizes", level), make)  # type: ignore[no-any-return]


def _level_key(axis: RoleAxis, levels: list[str], mask: np.ndarray | None = None) -> np.ndarray:
    """One integer per base item (within ``mask``): its member tuple at ``levels``."""
    n = axis.base_size if mask is None else int(mask.sum())
    if not levels:
        return np.zeros(n, dtype=np.int64)
    lax = [axis.levels[lv] for lv in levels]
    idx = tuple(lv.base_index if mask is None else lv.base_index[mask] for lv in lax)
    return np.ravel_multi_index(idx, tuple(len(lv.codes) + 1 for lv in lax)).astype(np.int64)


# Pooled periods that are populations of their own: the last 3 and the last 5 years of the
# release (distinct contributors over the window, one noise each), so that small areas can
# pool years into a publishable figure. Any other range of years is the sum of its years.
POOLED_YEARS = (3, 5)


def pooled_window(axis: RoleAxis, mask: np.ndarray) -> bool:
    """Is ``mask`` the last 3 or 5 years of the period role?"""
    if axis.role.dimension.id != "period" or "year" not in axis.levels:
        return False
    year = axis.levels["year"].base_index
    n_years = len(axis.levels["year"].codes)
    return any(k < n_years and np.array_equal(mask, year >= n_years - k) for k in POOLED_YEARS)


def _all_nodes(axis: RoleAxis, mask: np.ndarray, levels: list[str]) -> bool:
    """Is every cell's population on this role (its members at ``levels``, within ``mask``)
    one member of one level, a pooled window, or the whole role?"""
    if not levels and pooled_window(axis, mask):
        return True
    key, n_all = _whole_key(axis, levels)
    partial = _partial_cells(key, mask, n_all)
    if len(partial) == 0:
        return True  # every cell keeps its whole member: the cut only chooses cells
    # each partial cell's base items within the mask, by the cell's index in ``partial``: no
    # sort of the base (a region role has some 14,000 buurten), searches in the few cells
    at = np.minimum(np.searchsorted(partial, key), len(partial) - 1)
    inside = mask & (partial[at] == key)
    cell = at[inside]
    per_cell = np.bincount(cell, minlength=len(partial))
    for name, lax in axis.levels.items():
        member = lax.base_index[inside]
        first = np.zeros(len(partial), dtype=member.dtype)
        first[cell] = member  # every partial cell has an item inside: one member of each
        if not np.array_equal(first[cell], member):
            continue  # some cell spans several members of this level
        if np.array_equal(_member_sizes(axis, name)[first], per_cell):
            return True  # each cell is all of its one member
    return False


def _partial_cells(key: np.ndarray, mask: np.ndarray, n_all: np.ndarray | None) -> np.ndarray:
    """The cell keys (sorted) that ``mask`` covers only in part (``n_all``: base items per
    key, when the keys are dense enough to count them by bincount)."""
    if n_all is not None:  # no sort
        n_in = np.bincount(key[mask], minlength=len(n_all))
        return np.flatnonzero((n_in > 0) & (n_in != n_all))
    cells, n_in = np.unique(key[mask], return_counts=True)
    n_all = np.bincount(np.searchsorted(cells, key[np.isin(key, cells)]), minlength=len(cells))
    return cells[n_in != n_all]


def _tiling_level(axis: RoleAxis, mask: np.ndarray, levels: list[str]) -> str:
    """The coarsest level whose whole members tile ``mask`` and lie within one cell each."""
    cell_key = _level_key(axis, levels)
    for name in axis.role.levels:
        lax = axis.levels[name]
        chosen = np.unique(lax.base_index[mask])
        whole = np.isin(lax.base_index, chosen)
        if not np.array_equal(whole, mask):
            continue
        pairs = np.unique(np.stack([lax.base_index[mask], cell_key[mask]]), axis=1)
        if pairs.shape[1] == len(chosen):
            return name
    return axis.role.levels[-1]  # the base level always tiles (never reached in practice)


def _item_for(
    items: list[Item],
    extra: dict[tuple[str, int, str], int],
    axis: RoleAxis,
    mask: np.ndarray,
    role: str,
    level: str,
) -> int:
    for i, it in enumerate(items):
        if it.role == role and it.level == level:
            return i
    key = (role, 0, level)
    if key not in extra:
        members = tuple(np.unique(axis.levels[level].base_index[mask]).tolist())
        extra[key] = len(items)
        items.append(Item(f"{role}@{level}", role, level, axis.role.dimension.id, members))
    return extra[key]


def _node_item(
    items: list[Item],
    extra: dict[tuple[str, int, str], int],
    axis: RoleAxis,
    role: str,
    level: str,
    members: tuple[int, ...],
) -> int:
    """The item of ``role@level`` (one of the answer's, or one added for nodes; a tile's mask
    keeps only its own nodes of that level)."""
    mask = np.isin(axis.levels[level].base_index, members)
    return _item_for(items, extra, axis, mask, role, level)


def _with_items(plan: Plan, part: Part, items: list[Item]) -> Part:
    """``part`` also broken down by the node items it can take (others are broadcast)."""
    used, roles = list(part.items), list(part.roles)
    for j in range(len(plan.items), len(items)):
        it = items[j]
        mapped = _part_role(plan, part, it.role)
        role = mapped.id if mapped is not None else None
        if role is None or it.level not in part.cube.role(role).levels:
            continue
        if dict(part.follows).get(role, it.role) != it.role:
            continue  # another role of the answer has it (the residence's population)
        used.append(j)
        roles.append(role)
    return replace(part, items=tuple(used), roles=tuple(roles))


def _n_cells(
    items: list[Item],
    sets: tuple[tuple[int, ...], ...],
    axes: dict[str, RoleAxis],
    masks: dict[str, np.ndarray],
) -> int:
    """At most this many cells: per set, the product of its items' members within the masks."""
    sizes: dict[int, int] = {}
    total = 0
    for gs in sets:
        size = 1
        for i in gs:
            if i not in sizes:
                lax = axes[items[i].role].levels[items[i].level]
                sizes[i] = len(np.unique(lax.base_index[masks[items[i].role]]))
            size *= max(1, sizes[i])
        total += size
    return total


def node_grid(tile: Tile, axes: dict[str, RoleAxis]) -> np.ndarray:
    p = tile.plan
    return cell_grid(list(p.items), p.grouping_sets, axes, p.masks)


# One tile run: its node grid, its protected parts and, per part, the part cell behind each
# node cell.
_Parts = dict[tuple[str, int], dict[str, ProtectedMeasure]]
TileRun = tuple[np.ndarray, _Parts, dict[tuple[str, int], np.ndarray]]


def fold(
    comp: Composition, answer_grid: np.ndarray, runs: list[TileRun]
) -> dict[tuple[str, int], dict[str, ProtectedMeasure]]:
    """Each answer cell from the protected node cells of every tile that make it up (see the
    module doc).

    ``part_cells[key][c]`` is the part's own cell behind node cell ``c`` of a tile: node cells
    that a part does not tell apart (it is broadcast over the role) are counted once. Tiles
    hold disjoint rows of every part (a tiled role is one every part breaks down by), so their
    part cells are told apart.
    """
    n_items = answer_grid.shape[1]
    answers, nodes = [], []
    cells: dict[tuple[str, int], list[np.ndarray]] = {}
    joined: dict[tuple[str, int], dict[str, list[ProtectedMeasure]]] = {}
    node_offset = 0
    cell_offset: dict[tuple[str, int], int] = {}
    for tile, (grid, parts, part_cells) in zip(comp.tiles, runs, strict=True):
        pairs_answer, pairs_node = _pairs(tile, answer_grid, grid[:, :n_items], grid)
        answers.append(pairs_answer)
        nodes.append(pairs_node + node_offset)
        node_offset += len(grid)
        for key, protected in parts.items():
            own = part_cells[key]
            at = cell_offset.get(key, 0)
            cells.setdefault(key, []).append(own[pairs_node] + at)
            cell_offset[key] = at + (int(own.max()) + 1 if len(own) else 0)
            for name, pm in protected.items():
                joined.setdefault(key, {}).setdefault(name, []).append(pm)
    pairs_answer = np.concatenate(answers)
    pairs_node = np.concatenate(nodes)
    out: dict[tuple[str, int], dict[str, ProtectedMeasure]] = {}
    for key, by_name in joined.items():
        part = np.concatenate(cells[key])
        uniq = unique_rows(np.stack([pairs_answer, part], axis=1))[0].T
        first = _first_node(pairs_answer, part, pairs_node, uniq)
        out[key] = {
            name: fold_cells(_joined(pms), uniq[0], first, len(answer_grid))
            for name, pms in by_name.items()
        }
    return out


def _joined(pms: list[ProtectedMeasure]) -> ProtectedMeasure:
    if len(pms) == 1:
        return pms[0]
    return ProtectedMeasure(
        np.concatenate([p.published for p in pms]),
        np.concatenate([p.status for p in pms]),
        np.concatenate([p.reason for p in pms]),
        pms[0].facts,
    )


def _pairs(
    tile: Tile, answer_grid: np.ndarray, node_coords: np.ndarray, node_grid: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(answer cell, node cell) for every node cell of ``tile`` that makes up an answer cell."""
    a_pattern = _patterns(answer_grid)
    n_pattern = _patterns(node_grid)
    out_a, out_n = [], []
    for gs, node_set in tile.source:
        a_rows = np.flatnonzero(a_pattern == _pattern_of(gs))
        n_rows = np.flatnonzero(n_pattern == _pattern_of(node_set))
        if not len(a_rows) or not len(n_rows):
            continue
        cols = np.asarray(gs, dtype=np.int64)
        # answer and node keys numbered together: a node cell meets the answer cell of its key
        keys = np.concatenate(
            [answer_grid[np.ix_(a_rows, cols)], node_coords[np.ix_(n_rows, cols)]]
        )
        ids = unique_rows(keys)[1]
        answer_of = np.full(int(ids.max()) + 1, -1, dtype=np.int64)
        answer_of[ids[: len(a_rows)]] = a_rows
        found = answer_of[ids[len(a_rows) :]]
        out_a.append(found[found >= 0])
        out_n.append(n_rows[found >= 0])
    if not out_a:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(out_a), np.concatenate(out_n)


def _patterns(grid: np.ndarray) -> np.ndarray:
    """The grouping set of every row, as a bit pattern of its non-total items."""
    if grid.shape[1] == 0:
        return np.zeros(len(grid), dtype=np.int64)
    bits = (1 << np.arange(grid.shape[1], dtype=np.int64))[None, :]
    return ((grid >= 0) * bits).sum(axis=1)


def _pattern_of(gs: tuple[int, ...]) -> int:
    return sum(1 << i for i in gs)


def _first_node(
    pairs_answer: np.ndarray, cells: np.ndarray, pairs_node: np.ndarray, uniq: np.ndarray
) -> np.ndarray:
    """For every unique (answer cell, part cell) pair, one node cell standing for it."""
    order = np.lexsort((cells, pairs_answer))
    a, c, n = pairs_answer[order], cells[order], pairs_node[order]
    keep = np.ones(len(a), dtype=bool)
    keep[1:] = (a[1:] != a[:-1]) | (c[1:] != c[:-1])
    assert keep.sum() == uniq.shape[1]
    return n[keep]


def fold_cells(
    pm: ProtectedMeasure, answer_of: np.ndarray, node: np.ndarray, n: int
) -> ProtectedMeasure:
    """The protected cells ``node`` summed into ``n`` cells (``answer_of`` for each): a hidden
    node hides the sum (reason ``derived``); one node alone keeps its status and reason."""
    published = pm.published[node]
    suppressed = pm.status[node] == SUPPRESSED
    count = np.bincount(answer_of, minlength=n)
    weights = np.where(suppressed, 0.0, published)
    # float even when no node makes up a cell: NumPy's bincount of nothing is int64
    value = np.bincount(answer_of, weights=weights, minlength=n).astype(np.float64)
    hidden = np.bincount(answer_of, weights=suppressed.astype(np.float64), minlength=n) > 0
    inexact = np.bincount(answer_of, weights=(pm.status[node] != SAFE).astype(float), minlength=n)
    status = np.where(inexact > 0, PERTURBED, SAFE).astype(np.int8)
    reason = np.zeros(n, dtype=np.int8)
    # one node behind the cell: it *is* that node, with its own status and reason
    single = count == 1
    idx = np.zeros(n, dtype=np.int64)
    idx[answer_of] = node
    status[single] = pm.status[idx[single]]
    reason[single] = pm.reason[idx[single]]
    value[hidden] = np.nan
    status[hidden] = SUPPRESSED
    reason[hidden & ~single] = DERIVED
    return ProtectedMeasure(value, status, reason, pm.facts)
