"""Execute every part of a plan on this thread's backend: each part's strategy chosen and its
SQL compiled (``cube.strategies``) and cached, with a time limit (a query over its limit is
interrupted and refused with ``query_timeout``)."""

from __future__ import annotations

import time
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

from cube.backend import Backend, Interrupted
from cube.context import ReleaseContext, SqlCaches
from cube.deadlines import WATCHER
from cube.errors import QueryTimeout
from cube.plan import Part, Plan, coarsest
from cube.sql import local_sets
from cube.strategies import Compiled, Situation, Target, choose, run_part
from sdc.table import MeasureStats, unique_rows


@dataclass(frozen=True, slots=True, eq=False)
class PartResult:
    """A part's cells (the answer's cells on the part's items) and their statistics;
    ``inverse`` maps every answer cell to its part cell (broadcast over the other items)."""

    grid: np.ndarray
    inverse: np.ndarray
    stats: dict[str, MeasureStats]


Results = dict[tuple[str, int], PartResult]


def compiled(ctx: ReleaseContext, caches: SqlCaches, plan: Plan, part: Part) -> Compiled:
    """The part's SQL: cached per part, and compiled once per *shape* (the part with the keys
    of its cuts left open): another gemeente or year of the same dashboard query fills the
    shape's template with its keys instead of compiling again (Ibis: 3–10 ms a part)."""
    key = (part, plan.items, plan.grouping_sets)
    with caches.lock:
        hit = caches.sql.get(key)
    if hit is not None:
        return hit
    part = coarsened(ctx, part)
    situation = situation_of(ctx, plan, part)
    ps = None
    shape, fills = _shape(part)
    if shape is not None:
        # the shape only: which members the items have (another gemeente's wijken, another
        # year range) changes the grid, never the SQL
        tkey = (shape, _item_shapes(plan), plan.grouping_sets, situation)
        with caches.lock:
            template = caches.templates.get(tkey)
        if template is None:
            template = _template(ctx, caches, plan, shape, tkey, situation, list(fills))
            with caches.lock:
                caches.templates[tkey] = template or _NO_TEMPLATE
        if template is not None and template is not _NO_TEMPLATE:
            ps = _fill(template, fills)
    if ps is None:
        ps = choose(target(ctx, plan, part), situation)
    with caches.lock:
        caches.sql[key] = ps
    return ps


def _template(
    ctx: ReleaseContext,
    caches: SqlCaches,
    plan: Plan,
    shape: Part,
    tkey: tuple[Any, ...],
    situation: Situation,
    names: list[str],
) -> Compiled | None:
    """The shape's template, its cuts as placeholders ``names``: from disk if another process
    compiled it, else compiled (and stored for the next process); ``None`` if the shape's
    SQL did not come out with a placeholder for each cut (the part is compiled itself)."""
    if caches.disk is None:
        return _open(choose(target(ctx, plan, shape), situation), names)
    # what the compilation reads beyond the key: the cube's rollups and fact schema
    dkey = (tkey, ctx.rollups.get(shape.cube.id, ()), ctx.schemas[shape.cube.fact])
    stored = caches.disk.get(dkey, shape)
    if stored is not None:
        return stored  # type: ignore[no-any-return]
    template = _open(choose(target(ctx, plan, shape), situation), names)
    if template is not None:
        caches.disk.put(dkey, template, shape)
    return template


def _item_shapes(plan: Plan) -> tuple[tuple[str, str], ...]:
    return tuple((it.role, it.level) for it in plan.items)


def coarsened(ctx: ReleaseContext, part: Part) -> Part:
    """``part`` with each region cut read through the fewest keys (``cube.plan.coarsest``):
    the same rows, so the same cells; for its SQL only (the plan keeps the cut as asked)."""
    axes = ctx.axes_for(part.cube)
    filters = []
    for f in part.filters:
        g = coarsest(f, axes[f.role])
        if g is not None:
            filters.append(g)
    return part if tuple(filters) == part.filters else replace(part, filters=tuple(filters))


def situation_of(ctx: ReleaseContext, plan: Plan, part: Part) -> Situation:
    """What decides the part's strategy (``cube.strategies``)."""
    one_year = plan.single_year(part, local_sets(part, plan.grouping_sets))
    stock = part.cube.period == "stock"
    return Situation.of(part, one_year, ctx.single_pass[part.cube.id], stock)


def target(ctx: ReleaseContext, plan: Plan, part: Part) -> Target:
    """What a strategy compiles ``part`` from."""
    return Target(
        part,
        plan.items,
        plan.grouping_sets,
        ctx.schemas[part.cube.fact],
        ctx.axes_for(part.cube),
        ctx.rollups.get(part.cube.id, ()),
    )


_NO_TEMPLATE: Any = object()  # the shape's sentinels did not become placeholders
_INT_HOLE = -(2**40)  # no member key is near: region ids, years, codes are small or text


def _shape(part: Part) -> tuple[Part | None, dict[str, tuple[Any, ...]]]:
    """The part with one sentinel key per cut, and each cut's keys by placeholder name (a part
    without cuts is its own shape); no shape when a cut's keys are not all ints or all strings,
    or none at all (Ibis compiles an empty list to FALSE)."""
    holes, fills = [], {}
    for i, kf in enumerate(part.filters):
        keys = kf.keys
        if keys and all(isinstance(k, int | np.integer) and not isinstance(k, bool) for k in keys):
            sentinel: Any = _INT_HOLE - i
        elif keys and all(isinstance(k, str) for k in keys):
            sentinel = f"\u00a7zicht{i}\u00a7"
        else:
            return None, {}
        holes.append(replace(kf, keys=(sentinel,)))
        fills[f"cut{i}"] = tuple(keys)
    return replace(part, filters=tuple(holes)), fills


def _sentinel(name: str) -> Any:
    i = int(name.removeprefix("cut"))
    return (_INT_HOLE - i, f"\u00a7zicht{i}\u00a7")


def _open(template: Compiled, names: list[str]) -> Compiled | None:
    """The template compiled from the shape with each cut's sentinel key turned into a
    placeholder node (``x IN (:cutN)``); ``None`` if Ibis did not compile a sentinel into an
    ``IN`` list of its own (then the part is compiled itself)."""
    from sqlglot import exp

    from cube.dialects import hole
    from cube.statement import Statement

    wanted = {}
    for name in names:
        number, text = _sentinel(name)
        wanted[(False, str(number))] = name
        wanted[(True, text)] = name

    def open_node(node: exp.Expr, found: set[str]) -> exp.Expr:
        if isinstance(node, exp.In) and len(node.expressions) == 1:
            lit = node.expressions[0]
            if isinstance(lit, exp.Neg):  # -n may be a negation node around the number
                lit = lit.this if isinstance(lit.this, exp.Literal) else lit
                key = (False, f"-{lit.this}") if isinstance(lit, exp.Literal) else None
            else:
                key = (lit.is_string, str(lit.this)) if isinstance(lit, exp.Literal) else None
            name = wanted.get(key) if key else None
            if name is not None:
                found.add(name)
                return exp.In(this=node.this.copy(), expressions=[hole(name)])
        return node

    opened = {}
    seen: set[str] = set()
    for f in fields(template):  # type: ignore[arg-type]
        value = getattr(template, f.name)
        if isinstance(value, Statement):
            found: set[str] = set()
            tree = value.tree.transform(lambda n, found=found: open_node(n, found))
            seen |= found
            if not found:
                continue
            opened[f.name] = value.with_tree(tree)  # the same result columns
    if seen != set(names):
        return None
    return replace(template, **opened)  # type: ignore[type-var]


def _fill(template: Compiled, fills: dict[str, tuple[Any, ...]]) -> Compiled:
    """The template with every cut placeholder bound to its keys (literal nodes)."""
    from cube.statement import Statement

    bound = {
        f.name: getattr(template, f.name).bind(**fills)
        for f in fields(template)  # type: ignore[arg-type]
        if isinstance(getattr(template, f.name), Statement)
    }
    return replace(template, **bound)  # type: ignore[type-var]


def _translate(ctx: ReleaseContext, plan: Plan, part: Part, sub: np.ndarray) -> np.ndarray:
    """Member indexes of the answer's axes → the part cube's axes, through the codes (the
    years of two facts may differ). Codes the part lacks get fresh indexes: empty cells."""
    main, own = ctx.axes_for(plan.cube), ctx.axes_for(part.cube)
    out = sub.copy()
    for col, (item_idx, role) in enumerate(zip(part.items, part.roles, strict=True)):
        item = plan.items[item_idx]
        src, dst = main[item.role].levels[item.level], own[role].levels[item.level]
        if src.codes == dst.codes:
            continue
        index = {c: i for i, c in enumerate(dst.codes)}
        lut = np.array([index.get(c, len(dst.codes) + i) for i, c in enumerate(src.codes)])
        column = sub[:, col]
        out[:, col] = np.where(column < 0, column, lut[np.maximum(column, 0)])
    return out


def _part_grid(
    ctx: ReleaseContext, plan: Plan, grid: np.ndarray, part: Part
) -> tuple[np.ndarray, np.ndarray]:
    """The part's cells (the answer's cells on its items, plus its hidden members) and, per
    answer cell, the part cell behind it."""
    if part.cube is plan.cube and part.shift == 0:
        if len(part.items) == grid.shape[1]:
            return grid, np.arange(len(grid))
        # a tile of a custom group (cube/compose.py) groups by some items only; the others
        # are a total in each of its cells
        return grid[:, list(part.items)], np.arange(len(grid))
    sub = _translate(ctx, plan, part, grid[:, list(part.items)])
    if sub.shape[1] == 0:
        return np.full((1, 0), -1, dtype=grid.dtype), np.zeros(len(grid), dtype=np.int64)
    every = _with_hidden(ctx, plan, part, sub)
    unique, inverse = unique_rows(every)
    return unique, inverse[: len(sub)]


def _with_hidden(ctx: ReleaseContext, plan: Plan, part: Part, sub: np.ndarray) -> np.ndarray:
    """``sub`` (part cells, translated) and the cells of the members the part's level has
    and the answer's lacks (plantations' residents of unknown sex beside drug suspects, who
    have none), with every other coordinate of a cell on that item: the part's total over
    an item counts their rows, so only with them is it the sum of its parts, as secondary
    suppression takes it to be (without them it may find no pattern at all). They are
    protected with the rest and never published. Members a cut on the item's level leaves
    out are not added: the part reads none of their rows."""
    main, own = ctx.axes_for(plan.cube), ctx.axes_for(part.cube)
    out = sub
    for col, (item_idx, role) in enumerate(zip(part.items, part.roles, strict=True)):
        item = plan.items[item_idx]
        src, dst = main[item.role].levels[item.level], own[role].levels[item.level]
        if src.codes == dst.codes:
            continue
        known = set(src.codes)
        hidden = [i for i, c in enumerate(dst.codes) if c not in known]
        for f in part.filters:  # a cut's rows only: members it leaves out hold none
            if f.role == role and f.level == item.level:
                keys = set(f.keys)
                hidden = [i for i in hidden if (dst.keys[i] in keys) != f.exclude]
        if not hidden:
            continue
        on = unique_rows(out[out[:, col] >= 0])[0]  # cells with a member on the item
        extra = np.repeat(on, len(hidden), axis=0)
        extra[:, col] = np.tile(np.asarray(hidden, dtype=out.dtype), len(on))
        out = np.concatenate([out, extra])
    return out


def execute_parts(
    ctx: ReleaseContext,
    caches: SqlCaches,
    backend: Backend,
    timeout_s: float,
    plan: Plan,
    grid: np.ndarray,
) -> Results:
    """Every part's statistics on its cells, run on ``backend`` within ``timeout_s``. The timer
    interrupts a statement in flight; one that fires while a part is compiled finds none, so the
    deadline is also checked before each part's statements start."""
    deadline = time.monotonic() + timeout_s
    timer = WATCHER.call_at(deadline, backend.interrupt)  # one watcher thread, not one per answer
    try:
        out = {}
        for part in plan.parts:
            pgrid, inverse = _part_grid(ctx, plan, grid, part)
            sql = compiled(ctx, caches, plan, part)
            if time.monotonic() >= deadline:
                raise Interrupted
            stats = run_part(
                backend,
                sql,
                part,
                plan.items,
                pgrid,
                ctx.axes_for(part.cube),
            )
            out[part.key] = PartResult(pgrid, inverse, stats)
        return out
    except Interrupted:
        raise QueryTimeout.after(timeout_s) from None
    finally:
        WATCHER.cancel(timer)
