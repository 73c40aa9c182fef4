"""Execute every part of a plan on this thread's backend: each part's strategy chosen and its
SQL compiled (``cube.strategies``) and cached, with a time limit (a query over its limit is
interrupted and refused with ``query_timeout``)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

from cube.backend import Backend, Interrupted
from cube.context import ReleaseContext, SqlCaches
from cube.errors import QueryTimeout
from cube.plan import Part, Plan
from cube.sql import local_sets
from cube.strategies import Compiled, Situation, Target, choose, run_part
from sdc.table import MeasureStats


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
            template = _template(ctx, caches, plan, shape, tkey, situation)
            with caches.lock:
                caches.templates[tkey] = template
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
) -> Compiled:
    """The shape's template: from disk if another process compiled it, else compiled (and
    stored for the next process)."""
    if caches.disk is None:
        return choose(target(ctx, plan, shape), situation)
    # what the compilation reads beyond the key: the cube's rollups and fact schema
    dkey = (tkey, ctx.rollups.get(shape.cube.id, ()), ctx.schemas[shape.cube.fact])
    stored = caches.disk.get(dkey, shape)
    if stored is not None:
        return stored  # type: ignore[no-any-return]
    template = choose(target(ctx, plan, shape), situation)
    caches.disk.put(dkey, template, shape)
    return template


def _item_shapes(plan: Plan) -> tuple[tuple[str, str], ...]:
    return tuple((it.role, it.level) for it in plan.items)


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


_INT_HOLE = -(2**40)  # no member key is near: region ids, years, codes are small or text


def _shape(part: Part) -> tuple[Part | None, list[tuple[str, str]]]:
    """The part with one placeholder key per cut, and (placeholder, keys) as SQL list items
    (a part without cuts is its own shape); no shape when a cut's keys are not all plain ints
    or plain strings, or none at all (Ibis compiles an empty list to FALSE)."""
    holes, fills = [], []
    for i, kf in enumerate(part.filters):
        keys = kf.keys
        if keys and all(isinstance(k, int | np.integer) and not isinstance(k, bool) for k in keys):
            hole: Any = _INT_HOLE - i
            sql = ", ".join(str(int(k)) for k in keys)
            hole_sql = str(hole)
        elif keys and all(isinstance(k, str) and k.isprintable() and "\\" not in k for k in keys):
            hole = f"\u00a7zicht{i}\u00a7"
            sql = ", ".join("'" + k.replace("'", "''") + "'" for k in keys)
            hole_sql = f"'{hole}'"
        else:
            return None, []
        holes.append(replace(kf, keys=(hole,)))
        fills.append((f"IN ({hole_sql})", f"IN ({sql})"))
    return replace(part, filters=tuple(holes)), fills


def _fill(template: Compiled, fills: list[tuple[str, str]]) -> Compiled | None:
    """The template with every placeholder replaced by its keys in each of its SQL texts;
    ``None`` (compile the part itself) if Ibis did not render a placeholder as expected."""
    texts = {
        f.name: getattr(template, f.name)
        for f in fields(template)  # type: ignore[arg-type]
        if isinstance(getattr(template, f.name), str)
    }
    for hole, keys in fills:
        if not any(hole in t for t in texts.values()):
            return None
        texts = {name: t.replace(hole, keys) for name, t in texts.items()}
    return replace(template, **texts)  # type: ignore[type-var]


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
    if part.cube is plan.cube and part.shift == 0:
        return grid, np.arange(len(grid))
    sub = _translate(ctx, plan, part, grid[:, list(part.items)])
    if sub.shape[1] == 0:
        return np.full((1, 0), -1, dtype=grid.dtype), np.zeros(len(grid), dtype=np.int64)
    unique, inverse = np.unique(sub, axis=0, return_inverse=True)
    return unique, inverse.reshape(-1)


def execute_parts(
    ctx: ReleaseContext,
    caches: SqlCaches,
    backend: Backend,
    timeout_s: float,
    plan: Plan,
    grid: np.ndarray,
) -> Results:
    """Every part's statistics on its cells, run on ``backend`` within ``timeout_s``."""
    timer = threading.Timer(timeout_s, backend.interrupt)
    timer.start()
    try:
        out = {}
        for part in plan.parts:
            pgrid, inverse = _part_grid(ctx, plan, grid, part)
            stats = run_part(
                backend,
                compiled(ctx, caches, plan, part),
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
        timer.cancel()
