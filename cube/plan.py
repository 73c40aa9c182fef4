"""Planning: a ``Query`` → a validated ``Plan`` (items, members, grouping sets, cube parts).

Resolution collects **every** problem before refusing (``InvalidQuery``). Measures of other
cubes (``population.inhabitants``) and previous-period components (``change``) become extra
*parts*: each part is aggregated on its own cube at the answer's grain, then joined by cell
(never joining facts).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from itertools import combinations
from typing import Any

import numpy as np

from cube.axes import LevelAxis, RoleAxis
from cube.errors import InvalidQuery, Problem, TooManyCells
from cube.members import REGION_LEVELS, MemberStore
from cube.model import Catalog, Cube, Role
from cube.query import Cut, Query
from cube.suggest import did_you_mean, member_hint
from measures.model import Measure

MAX_ITEMS = 6
# Period levels whose every member lies within one year (a quarter or month of a year).
WITHIN_A_YEAR = ("year", "quarter", "month")


@dataclass(frozen=True, slots=True)
class Item:
    """A drill-down item ``role@level`` of the main cube, with its members in the answer."""

    text: str
    role: str
    level: str
    dimension: str
    members: tuple[int, ...]  # member indexes into the level axis, in code order


@dataclass(frozen=True, slots=True)
class KeyFilter:
    """Restrict the fact to rows whose key at ``role@level`` is (not) in ``keys``."""

    role: str
    level: str
    keys: tuple[Any, ...]
    exclude: bool = False


def coarsest(f: KeyFilter, axis: RoleAxis) -> KeyFilter | None:
    """``f`` on a region as the fewest keys of one level that keep exactly the same base items
    (so the same fact rows: every row's region columns come from its buurt): every buurt of a
    gemeente is that gemeente, 1 key where there were hundreds (a list DuckDB tests row by
    row: 3.9 against 1.5 ms for a gemeente's buurten at scale 0.1), and a rollup without the
    buurt column covers it (and a member with no buurt drops out of a list). None when ``f``
    keeps every base item (no filter at all); ``f`` itself when no level does with fewer keys.
    Depends on the keys only, never on the data."""
    if axis.role.dimension.id != "region" or f.level not in axis.levels:
        return f
    lax = axis.levels[f.level]
    positions = lax.key_positions()
    chosen_members = np.zeros(len(lax.keys), dtype=bool)
    chosen_members[[positions[k] for k in f.keys if k in positions]] = True
    rows = chosen_members[lax.base_index]  # base items the filter names
    if not rows.any():
        return f
    if rows.all() and not f.exclude:
        return None
    best = f
    for other in axis.levels.values():
        if len(other.keys) <= 1:  # a constant (land) reads no column
            continue
        held = np.zeros(len(other.keys), dtype=bool)
        held[other.base_index[rows]] = True
        if held.sum() < len(best.keys) and np.array_equal(held[other.base_index], rows):
            keys = tuple(other.keys[i] for i in np.flatnonzero(held).tolist())
            best = KeyFilter(f.role, other.level, keys, f.exclude)
    return best


@dataclass(frozen=True, slots=True)
class Part:
    """One aggregate over one cube's facts: base measures at the answer's grain."""

    cube: Cube
    shift: int  # period shift in years: -1 reads the previous year (change measures)
    items: tuple[int, ...]  # the answer items this part breaks down by (others: broadcast)
    roles: tuple[str, ...]  # this cube's role for each of those items
    measures: tuple[Measure, ...]
    filters: tuple[KeyFilter, ...]
    # this cube's role -> the answer's role it follows, for every role the answer reads
    # through it (drilled or cut); another answer role mapping onto it is broadcast
    follows: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> tuple[str, int]:
        return (self.cube.id, self.shift)


@dataclass(frozen=True, slots=True)
class OrderKey:
    """One ``order`` entry resolved: a drill-down item (its index) or an output of the answer
    (its index among the query's measures, then its derived measures, then its ranking)."""

    item: int | None
    output: int | None
    desc: bool


@dataclass(frozen=True, slots=True, eq=False)
class Plan:
    query: Query
    cube: Cube
    items: tuple[Item, ...]
    grouping_sets: tuple[tuple[int, ...], ...]  # item indexes grouped in each set
    parts: tuple[Part, ...]
    n_cells: int
    masks: dict[str, np.ndarray]  # per role: base items that pass every cut
    year_index: dict[str, np.ndarray]  # period role: base item -> year index
    order: tuple[OrderKey, ...] = ()

    def single_year(self, part: Part, local_sets: tuple[tuple[int, ...], ...]) -> bool:
        """Does every cell of ``part`` lie within one year (a cut year, or a year, quarter or
        month item in each set: members of the finer levels lie within their year)?"""
        period = [r.id for r in self.cube.roles if r.dimension.id == "period"]
        if period:
            years = self.masks[period[0]]
            lax_year = self._year_index(period[0])
            if lax_year is not None and len(np.unique(lax_year[years])) == 1:
                return True
        local = [
            i
            for i, idx in enumerate(part.items)
            if self.items[idx].dimension == "period" and self.items[idx].level in WITHIN_A_YEAR
        ]
        return bool(local) and all(local[0] in gs for gs in local_sets)

    def _year_index(self, role: str) -> np.ndarray | None:
        return self.year_index.get(role)


class _Resolver:
    def __init__(
        self, query: Query, catalog: Catalog, axes: Any, store: MemberStore, max_cells: int
    ):
        self.q, self.catalog, self.axes, self.store = query, catalog, axes, store
        self.max_cells = max_cells
        self.problems: list[Problem] = []

    def fail(self, location: str, message: str) -> None:
        self.problems.append(Problem(location, message))

    # -- measures -------------------------------------------------------------------------
    def find_measure(self, ref: str, cube: Cube, where: str) -> tuple[Cube, Measure] | None:
        other, _, mid = ref.rpartition(".")
        target = self.catalog.cubes.get(other) if other else cube
        if target is None and other in self.catalog.absent:
            self.fail(where, f"cube {other!r} is not in this release: {self.catalog.absent[other]}")
            return None
        if target is None:
            self.fail(where, f"unknown cube {other!r}" + did_you_mean(other, self.catalog.cubes))
            return None
        try:
            return target, target.measure(mid)
        except KeyError:
            hint = did_you_mean(mid, [m.id for m in target.measures])
            self.fail(where, f"cube {target.id!r} has no measure {mid!r}{hint}")
            return None

    def collect(
        self,
        cube: Cube,
        m: Measure,
        shift: int,
        need: dict[tuple[str, int], dict],
        where: str,
        depth: int = 0,
    ) -> None:
        if depth > 8:
            self.fail(where, "measure definitions nest too deeply")
            return
        if m.is_base:
            need.setdefault((cube.id, shift), {})[m.id] = m
            return
        for comp in m.components():
            found = self.find_measure(comp, cube, where)
            if not found:
                continue
            # a change needs its base in this period and in the previous one
            for sub_shift in (shift, shift - 1) if m.kind == "change" else (shift,):
                self.collect(found[0], found[1], sub_shift, need, where, depth + 1)

    # -- drill-down and cuts -------------------------------------------------------------
    def parse_item(self, text: str, cube: Cube, where: str) -> tuple[Role, str] | None:
        role_id, _, level = text.partition("@")
        try:
            role = cube.role(role_id)
        except KeyError:
            self.fail(
                where,
                f"cube {cube.id!r} has no dimension role {role_id!r}; "
                f"roles: {', '.join(r.id for r in cube.roles)}"
                + did_you_mean(role_id, [r.id for r in cube.roles]),
            )
            return None
        level = level or role.levels[-1]
        if level not in role.levels:
            levels = ", ".join(role.levels)
            hint = did_you_mean(level, role.levels)
            self.fail(where, f"{role_id!r} has no level {level!r}; levels: {levels}{hint}")
            return None
        return role, level

    def cut_mask(self, cut: Cut, axis: RoleAxis, where: str) -> np.ndarray | None:
        lax = axis.levels.get(cut.level)
        if lax is None:
            levels = ", ".join(axis.levels)
            hint = did_you_mean(cut.level, axis.levels)
            text = f"{cut.role!r} has no level {cut.level!r}; levels: {levels}{hint}"
            self.fail(where, text)
            return None
        forms = sum(
            [
                bool(cut.members),
                cut.from_ is not None or cut.to is not None,
                cut.relation is not None,
            ]
        )
        if forms != 1:
            self.fail(where, "a cut needs exactly one of: members, from/to, relation")
            return None
        if cut.relation:
            chosen = self.relation_members(cut, axis, lax, where)
        elif cut.members:
            chosen = self.codes_to_index(cut.members, lax, where)
        else:
            chosen = self.range_members(cut, lax, where)
        if chosen is None:
            return None
        mask = np.isin(lax.base_index, np.fromiter(chosen, dtype=np.int64, count=len(chosen)))
        return ~mask if cut.exclude else mask

    def codes_to_index(self, codes: tuple[str, ...], lax: LevelAxis, where: str) -> set[int] | None:
        index = lax.positions()
        unknown = [c for c in codes if c not in index]
        if unknown:
            shown = ", ".join(repr(c[:40]) for c in unknown[:5])
            more = f" (and {len(unknown) - 5} more)" if len(unknown) > 5 else ""
            hints = "".join(member_hint(c[:40], lax, self.store) for c in unknown[:3])
            self.fail(where, f"unknown {lax.level} member(s): {shown}{more}{hints}")
            return None
        return {index[c] for c in codes}

    def range_members(self, cut: Cut, lax: LevelAxis, where: str) -> set[int] | None:
        lo = 0 if cut.from_ is None else lax.index_of(cut.from_)
        hi = len(lax.codes) - 1 if cut.to is None else lax.index_of(cut.to)
        if lo is None or hi is None:
            self.fail(where, f"range bounds must be {lax.level} members")
            return None
        if lo > hi:
            self.fail(where, "range 'from' comes after 'to'")
            return None
        if lax.level in REGION_LEVELS:
            self.fail(where, "ranges are not defined on regions; list members instead")
            return None
        return set(range(lo, hi + 1))

    def relation_members(
        self, cut: Cut, axis: RoleAxis, lax: LevelAxis, where: str
    ) -> set[int] | None:
        if axis.role.dimension.id != "region" or not cut.of:
            self.fail(where, "relations (neighbours, descendants, peers) need a region 'of'")
            return None
        of_level = self.store.region_level_of(cut.of)
        if of_level is None:
            self.fail(where, f"unknown region {cut.of[:40]!r}")
            return None
        if cut.relation == "descendants":
            of_axis = axis.levels.get(of_level)
            if of_axis is None:
                self.fail(where, f"level {of_level!r} is not available here")
                return None
            inside = of_axis.base_index == of_axis.index_of(cut.of)
            return set(np.unique(lax.base_index[inside]).tolist())
        if of_level != "gemeente" or lax.level != "gemeente":
            self.fail(where, f"{cut.relation} are defined for gemeenten (level gemeente)")
            return None
        codes = (
            self.store.neighbours.get(cut.of, ())
            if cut.relation == "neighbours"
            else self.store.peers(cut.of)
        )
        chosen = set(codes) | ({cut.of} if cut.include_self else set())
        if cut.relation == "peers" and not cut.include_self:
            chosen.discard(cut.of)
        return {lax.index_of(c) for c in chosen} - {None}  # type: ignore[return-value]


OPTIONS = {"rounding": ("5", "10")}  # options may only strengthen protection


def _check_options(r: _Resolver, query: Query) -> None:
    for key, value in query.options:
        allowed = OPTIONS.get(key)
        if allowed is None:
            r.fail(f"options.{key[:40]}", f"unknown option; options: {', '.join(OPTIONS)}")
        elif value not in allowed:
            r.fail(f"options.{key}", f"must be one of {', '.join(allowed)}")


def _grouping_sets(items: list[Item], cube: Cube, totals: str) -> tuple[tuple[int, ...], ...]:
    n = len(items)
    full = tuple(range(n))
    if totals == "none" or n == 0:
        return (full,)
    if totals == "grand":
        return (full, ())
    sets = []
    for k in range(n, -1, -1):
        for combo in combinations(full, k):
            if _consistent(combo, items, cube):
                sets.append(combo)
    return tuple(sets)


def _keep_years(
    sets: tuple[tuple[int, ...], ...], items: list[Item], cube: Cube
) -> tuple[tuple[int, ...], ...]:
    """A stock (inhabitants on 1 January) has no total over years: every set keeps the year."""
    year = [i for i, it in enumerate(items) if it.dimension == "period" and it.level == "year"]
    if cube.period != "stock" or not year:
        return sets
    out: list[tuple[int, ...]] = []
    for gs in sets:
        kept = tuple(sorted(set(gs) | {year[0]}))
        if kept not in out:
            out.append(kept)
    return tuple(out)


def _consistent(combo: tuple[int, ...], items: list[Item], cube: Cube) -> bool:
    """A set grouping a fine level must also group the coarser levels of the same role that
    are drilled (a gemeente determines its provincie; the extra sets would only repeat cells)."""
    for i in combo:
        parents = cube.role(items[i].role).dimension.parents_of(items[i].level)
        for j, other in enumerate(items):
            if j not in combo and other.role == items[i].role and other.level in parents:
                return False
    return True


def _members_within(axes: dict[str, RoleAxis], it: Item, masks: dict[str, np.ndarray]) -> tuple:
    """The members of ``it``'s level with a base item inside the role's mask, ascending: counted
    per member, not sorted (a level of 14,000 buurten: 0.1 against 1.4 ms), as Python ints."""
    lax = axes[it.role].levels[it.level]
    present = np.bincount(lax.base_index[masks[it.role]], minlength=len(lax.codes))
    return tuple(np.flatnonzero(present).tolist())


def _role_tuples(
    items: list[Item], idx: tuple[int, ...], axis: RoleAxis, mask: np.ndarray
) -> np.ndarray:
    """Distinct member tuples of the items ``idx`` (all of one role) over the filtered base."""
    levels = [axis.levels[items[i].level] for i in idx]
    if not mask.any():
        return np.zeros((0, len(idx)), dtype=np.int64)
    # one integer per tuple (mixed radix), so a 1-D unique does the work: fast on 14k buurten
    sizes = tuple(len(lv.codes) for lv in levels)
    flat = np.ravel_multi_index(tuple(lv.base_index[mask] for lv in levels), sizes)
    span = int(np.prod(sizes, dtype=np.float64))
    if span <= 4 * len(flat) + 65536:  # few possible tuples: count them, no hash or sort
        distinct = np.flatnonzero(np.bincount(flat, minlength=span))
    else:
        distinct = np.unique(flat)
    return np.stack(np.unravel_index(distinct, sizes), axis=1).astype(np.int64)


def cell_grid(
    items: list[Item],
    sets: tuple[tuple[int, ...], ...],
    axes: dict[str, RoleAxis],
    masks: dict[str, np.ndarray],
) -> np.ndarray:
    """Coordinates of every cell of the answer (-1 = total), empty cells included."""
    blocks = []
    for gs in sets:
        block = np.full((1, len(items)), -1, dtype=np.int64)
        by_role: dict[str, list[int]] = {}
        for i in gs:
            by_role.setdefault(items[i].role, []).append(i)
        for role, idx in by_role.items():
            tuples = _role_tuples(items, tuple(idx), axes[role], masks[role])
            reps = np.repeat(block, len(tuples), axis=0)
            tiled = np.tile(tuples, (len(block), 1))
            reps[:, idx] = tiled
            block = reps
        blocks.append(block)
    return np.concatenate(blocks) if blocks else np.zeros((0, len(items)), dtype=np.int64)


def other_role(main: Cube, other: Cube, role_id: str) -> Role | None:
    """The role of ``other`` that ``role_id`` of the main cube maps onto: the one of the same
    name and dimension, else its only role of that dimension unless the dimension maps by
    name only (a yes/no flag: transactions paid in cash are not doorsluis dwellings); None
    when there is none or several (the answer's role is then broadcast over that cube's
    part: each member of it gets the other cube's figure for all of them)."""
    dim = main.role(role_id).dimension
    try:
        same = other.role(role_id)
        if same.dimension.id == dim.id:
            return same
    except KeyError:
        pass
    if dim.by_name_only:
        return None
    candidates = other.roles_of(dim.id)
    return candidates[0] if len(candidates) == 1 else None


def _stock_single_year(
    r: _Resolver,
    cube: Cube,
    items: list[Item],
    masks: dict[str, np.ndarray],
    axes: dict[str, RoleAxis],
    where: str,
) -> None:
    """Stocks (inhabitants on 1 January) cannot be added over years: each cell is one year."""
    period = [role for role in cube.roles if role.dimension.id == "period"]
    if (
        cube.period != "stock"
        or not period
        or any(it.role == period[0].id and it.level == "year" for it in items)
    ):
        return
    years = axes[period[0].id].levels["year"].base_index[masks[period[0].id]]
    if len(np.unique(years)) != 1:
        r.fail(
            where,
            f"{cube.id} is a stock on 1 January: drill down by period@year or cut a single year",
        )


def _build_parts(
    r: _Resolver,
    cube: Cube,
    items: list[Item],
    need: dict[tuple[str, int], dict],
    cut_filters: list[tuple[Cut, tuple]],
) -> list[Part]:
    parts = []
    for (cid, shift), measures in sorted(need.items(), key=lambda kv: (kv[0][0] != cube.id, kv[0])):
        other = r.catalog.cubes[cid]
        where = f"measures ({cid})"
        roles: list[str] = []
        used: list[int] = []
        mapped = partial(_role_in, cube, other)
        taken = _owners(cube, [it.role for it in items] + [c.role for c, _ in cut_filters], mapped)
        for i, it in enumerate(items):
            role = mapped(it.role)
            if role is None or taken.get(role) != it.role:
                continue  # e.g. the offence role for a population denominator: broadcast
            if it.level not in other.role(role).levels:
                r.fail(where, f"cube {cid!r} has no level {it.level!r} for {role!r}")
            roles.append(role)
            used.append(i)
        filters = []
        for cut, keys in cut_filters:
            role = mapped(cut.role)
            if role is None or taken.get(role) != cut.role:
                continue  # another role of the answer has it: the offence role's cut for a
                # population denominator by residence leaves the residents alone
            if cut.level in other.role(role).levels:
                filters.append(KeyFilter(role, cut.level, keys, False))
        if shift:
            filters += _within_years(r, cube, other, filters, where)
        parts.append(
            Part(
                other,
                shift,
                tuple(used),
                tuple(roles),
                tuple(measures.values()),
                tuple(filters),
                tuple(sorted(taken.items())),
            )
        )
    return parts


def _role_in(cube: Cube, other: Cube, role_id: str) -> str | None:
    """The role of ``other`` that the main cube's ``role_id`` is read through, if any (the
    same role when ``other`` is the main cube)."""
    return getattr(other_role(cube, other, role_id), "id", None)


def _owners(cube: Cube, read: list[str], mapped: Callable[[str], str | None]) -> dict[str, str]:
    """Which answer role each role of a part's cube follows, where several map onto one (the
    population's region for drug suspects' residence and offence): the one the main cube
    declares first among those the answer reads, drilled or cut, never the order the query
    names them in. So a population is the residence's whenever the answer reads the
    residence (the people the suspects are drawn from), else the offence area's."""
    order = {role.id: i for i, role in enumerate(cube.roles)}
    owners: dict[str, str] = {}
    for role_id in sorted(set(read), key=lambda role_id: order[role_id]):
        role = mapped(role_id)
        if role is not None:
            owners.setdefault(role, role_id)
    return owners


def _within_years(
    r: _Resolver, cube: Cube, other: Cube, filters: list[KeyFilter], where: str
) -> list[KeyFilter]:
    """A shifted part (a change's previous period) reads each row as of a later year, so
    rows of the last years land past the answer's periods. Where no cut restricts its
    periods, its rows are kept to the release's years (after the shift): a total over
    periods then sums the periods it totals, as in every other table."""
    period = [role for role in cube.roles if role.dimension.id == "period"]
    if not period:
        return []
    mapped = period[0] if other is cube else other_role(cube, other, period[0].id)
    if mapped is None or any(f.role == mapped.id for f in filters):
        return []
    years = r.axes(cube)[period[0].id].levels["year"].keys
    return [KeyFilter(mapped.id, "year", tuple(years), False)]


def make_plan(
    query: Query, catalog: Catalog, axes_for: Any, store: MemberStore, max_cells: int
) -> Plan:
    """Resolve and validate ``query``; raise ``InvalidQuery`` listing every problem."""
    r = _Resolver(query, catalog, axes_for, store, max_cells)
    cube = catalog.cubes.get(query.cube)
    if cube is None:
        raise InvalidQuery(
            "unknown cube",
            [
                Problem(
                    "cube",
                    f"unknown cube {query.cube[:60]!r}; cubes: {', '.join(catalog.cubes)}"
                    + did_you_mean(query.cube[:60], catalog.cubes),
                )
            ],
        )
    axes: dict[str, RoleAxis] = axes_for(cube)
    need: dict[tuple[str, int], dict] = {}
    if not query.measures:
        r.fail("measures", "name at least one measure")
    named = set(query.measures)
    refs = [(f"measures[{i}]", ref) for i, ref in enumerate(query.measures)]
    for i, d in enumerate(query.derived):
        # Derived measures are computed in order: one may use an earlier one, not itself or a
        # later one (those would be looked up as measures of the cube, and fail here).
        earlier = {x.name for x in query.derived[:i]}
        refs += [
            (f"derived[{i}].{k}", ref)
            for k, ref in (("numerator", d.numerator), ("denominator", d.denominator))
            if ref not in named and ref not in earlier
        ]
    if query.ranking:
        refs += [
            (f"ranking.measures[{i}]", ref)
            for i, ref in enumerate(query.ranking.measures)
            if ref not in named and ref not in {x.name for x in query.derived}
        ]
    for where, ref in refs:
        found = r.find_measure(ref, cube, where)
        if found:
            r.collect(found[0], found[1], 0, need, where)
    items: list[Item] = []
    if len(query.drilldown) > MAX_ITEMS:
        r.fail("drilldown", f"at most {MAX_ITEMS} drill-down items")
    for i, text in enumerate(query.drilldown[:MAX_ITEMS]):
        parsed = r.parse_item(text, cube, f"drilldown[{i}]")
        if parsed:
            role, level = parsed
            if any(it.role == role.id and it.level == level for it in items):
                r.fail(f"drilldown[{i}]", f"{text!r} is listed twice")
                continue
            items.append(Item(f"{role.id}@{level}", role.id, level, role.dimension.id, ()))
    masks = {rid: np.ones(ax.base_size, dtype=bool) for rid, ax in axes.items()}
    cut_filters: list[tuple[Cut, tuple]] = []
    for i, cut in enumerate(query.cuts):
        where = f"cuts[{i}]"
        if cut.role not in axes:
            r.fail(where, f"cube {cube.id!r} has no dimension role {cut.role[:40]!r}")
            continue
        mask = r.cut_mask(cut, axes[cut.role], where)
        if mask is not None:
            masks[cut.role] &= mask
            lax = axes[cut.role].levels[cut.level]
            keep = np.unique(lax.base_index[mask])
            cut_filters.append((cut, tuple(lax.keys[k] for k in keep)))
    _check_options(r, query)
    order = _order(r, query, items)
    _stock_single_year(r, cube, items, masks, axes, "cuts")
    parts = _build_parts(r, cube, items, need, cut_filters)
    if r.problems:
        raise InvalidQuery("the query has problems", r.problems)
    items = [
        Item(it.text, it.role, it.level, it.dimension, _members_within(axes, it, masks))
        for it in items
    ]
    sets = _keep_years(_grouping_sets(items, cube, query.totals), items, cube)
    n_cells = sum(_set_size(items, gs) for gs in sets)
    if n_cells > max_cells:
        raise TooManyCells(
            f"the answer would have about {n_cells:,} cells; the maximum is "
            f"{max_cells:,}: cut or drill less deeply",
            [Problem("drilldown", "too many cells")],
        )
    year_index = {
        rid: ax.levels["year"].base_index for rid, ax in axes.items() if "year" in ax.levels
    }
    return Plan(query, cube, tuple(items), sets, tuple(parts), n_cells, masks, year_index, order)


def _order(r: _Resolver, query: Query, items: list[Item]) -> tuple[OrderKey, ...]:
    """``order`` resolved against the drill-down items and the answer's outputs, and the page
    checked, with the query's other problems (before any SQL runs)."""
    outputs = [*query.measures, *(d.name for d in query.derived)]
    outputs += [query.ranking.name] if query.ranking else []
    keys = []
    for i, order in enumerate(query.order):
        item = next((j for j, it in enumerate(items) if order.by in (it.text, it.role)), None)
        output = outputs.index(order.by) if item is None and order.by in outputs else None
        if item is None and output is None:
            r.fail(
                f"order[{i}]",
                f"cannot order by {order.by[:60]!r}: not a measure or drill-down item of the query",
            )
            continue
        keys.append(OrderKey(item, output, order.desc))
    if query.limit is not None and query.limit < 0:
        r.fail("limit", "must be 0 or more")
    if query.offset < 0:
        r.fail("offset", "must be 0 or more")
    return tuple(keys)


def _set_size(items: list[Item], gs: tuple[int, ...]) -> int:
    """Upper bound on the cells of one grouping set (product of member counts)."""
    size = 1
    for i in gs:
        size *= max(1, len(items[i].members))
    return size
