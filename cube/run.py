"""Execute every part of a plan on this thread's cursor, with compiled-SQL caching and a time
limit (a query over its limit is interrupted and refused with ``query_timeout``)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from cube.backend import Interrupted
from cube.errors import Problem, QueryTimeout
from cube.execute import run_part
from cube.plan import Part, Plan
from cube.rollups import SCHEMA as ROLLUP_SCHEMA
from cube.sql import PartSql, Source, local_sets, part_sql, rollup_sql
from sdc.table import MeasureStats

if TYPE_CHECKING:
    from cube.engine import Engine


@dataclass(frozen=True, slots=True, eq=False)
class PartResult:
    """A part's cells (the answer's cells on the part's items) and their statistics;
    ``inverse`` maps every answer cell to its part cell (broadcast over the other items)."""

    grid: np.ndarray
    inverse: np.ndarray
    stats: dict[str, MeasureStats]


Results = dict[tuple[str, int], PartResult]


def compiled(engine: Engine, plan: Plan, part: Part) -> PartSql:
    """The part's SQL: cached per part, and compiled once per *shape* (the part with the keys
    of its cuts left open): another gemeente or year of the same dashboard query fills the
    shape's template with its keys instead of compiling again (Ibis: 3–10 ms a part)."""
    key = (part, plan.items, plan.grouping_sets)
    with engine.cache_lock:
        hit = engine.sql_cache.get(key)
    if hit is not None:
        return hit
    how = strategy(engine, plan, part)
    ps = None
    shape, fills = _shape(part)
    if shape is not None:
        tkey = (shape, plan.items, plan.grouping_sets, how)
        with engine.cache_lock:
            template = engine.template_cache.get(tkey)
        if template is None:
            template = _compile(engine, plan, shape, how)
            with engine.cache_lock:
                engine.template_cache[tkey] = template
        ps = _fill(template, fills)
    if ps is None:
        ps = _compile(engine, plan, part, how)
    with engine.cache_lock:
        engine.sql_cache[key] = ps
    return ps


_FACTS_ONLY = ("holding", "distinct")  # cells over several years: rollups hold years apart


def _compile(engine: Engine, plan: Plan, part: Part, how: str) -> PartSql:
    ps = _from_rollup(engine, plan, part, how == "bounds") if how not in _FACTS_ONLY else None
    if ps is None and how == "split" and _distinct_ok(part):
        how = "distinct"  # from the facts, one pass beats split's two (scale 1: 2.2 vs 3.6 ms)
    if ps is None:
        ps = part_sql(
            part,
            plan.items,
            plan.grouping_sets,
            engine.schemas[part.cube.fact],
            engine.axes_for(part.cube),
            how,
        )
    return ps


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


def _fill(template: PartSql, fills: list[tuple[str, str]]) -> PartSql | None:
    """The template with every placeholder replaced by its keys; ``None`` (compile the part
    itself) if Ibis did not render a placeholder as expected."""
    texts = [template.one_pass, template.holding, template.bounds]
    for hole, keys in fills:
        if not any(hole in t for t in texts):
            return None
        texts = [t.replace(hole, keys) for t in texts]
    return replace(template, one_pass=texts[0], holding=texts[1], bounds=texts[2])


def _from_rollup(engine: Engine, plan: Plan, part: Part, bounds: bool) -> PartSql | None:
    """The split strategy over the smallest rollup that has every column the part needs, if
    any (the caller checked that the cells lie within one year or holdings never repeat);
    with ``bounds`` (row counts only), bounds first and holdings only where they must be."""
    schema = engine.schemas[part.cube.fact]
    for rt in engine.rollups.get(part.cube.id, ()):
        ps = rollup_sql(
            part,
            plan.items,
            plan.grouping_sets,
            schema,
            engine.axes_for(part.cube),
            (
                Source(ROLLUP_SCHEMA, rt.singles, rt.columns, rt.sums, multis=False),
                Source(ROLLUP_SCHEMA, rt.multis, rt.columns, rt.sums, multis=True),
                Source(ROLLUP_SCHEMA, rt.bounds, rt.columns, rt.sums, multis=True, bounds=True),
            ),
            rt.multi_rows > 0,
            bounds,
        )
        if ps is not None:
            return ps
    return None


def _translate(engine: Engine, plan: Plan, part: Part, sub: np.ndarray) -> np.ndarray:
    """Member indexes of the answer's axes → the part cube's axes, through the codes (the
    years of two facts may differ). Codes the part lacks get fresh indexes: empty cells."""
    main, own = engine.axes_for(plan.cube), engine.axes_for(part.cube)
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
    engine: Engine, plan: Plan, grid: np.ndarray, part: Part
) -> tuple[np.ndarray, np.ndarray]:
    if part.cube is plan.cube and part.shift == 0:
        return grid, np.arange(len(grid))
    sub = _translate(engine, plan, part, grid[:, list(part.items)])
    if sub.shape[1] == 0:
        return np.full((1, 0), -1, dtype=grid.dtype), np.zeros(len(grid), dtype=np.int64)
    unique, inverse = np.unique(sub, axis=0, return_inverse=True)
    return unique, inverse.reshape(-1)


def strategy(engine: Engine, plan: Plan, part: Part) -> str:
    """How to get exact statistics cheaply (see cube.sql.part_sql)."""
    one_year = plan.single_year(part, local_sets(part, plan.grouping_sets))
    if engine.single_pass[part.cube.id] and (part.cube.period != "stock" or one_year):
        return "single"
    if not one_year:
        # counts only: count(DISTINCT holding) in one pass (measured at scale 1: 66 ms
        # against 85 ms for the holding pass, whose per-holding groups sums need, and row
        # counts too: their rows per holding are contributions for dominance and p %)
        return "distinct" if _distinct_ok(part) else "holding"
    if any(m.kind == "sum" or m.count == "holdings" for m in part.measures):
        # Bounds settle only the threshold of row counts: sums and distinct counts need exact
        # holdings in every cell where a holding repeats, which at scale is nearly every cell
        # (one pass + refinement 1.4 s against 0.26 s for the holding pass alone). Split
        # instead: a holding with one row in the year is exact row by row, so only the other
        # rows (19 % of the companies, 44 % of the dwellings) need the holding pass.
        return "split"
    return "bounds"


def _distinct_ok(part: Part) -> bool:
    """Distinct holdings in one pass suffice: counts of holdings only (no sums, no row counts,
    whose rows per holding dominance and p % need)."""
    return all(m.kind == "count" and m.count == "holdings" for m in part.measures)


def execute_parts(engine: Engine, plan: Plan, grid: np.ndarray) -> Results:
    cur = engine.backend()
    timer = threading.Timer(engine.query_timeout_s, cur.interrupt)
    timer.start()
    try:
        out = {}
        for part in plan.parts:
            pgrid, inverse = _part_grid(engine, plan, grid, part)
            stats = run_part(
                cur,
                compiled(engine, plan, part),
                part,
                plan.items,
                pgrid,
                engine.axes_for(part.cube),
            )
            out[part.key] = PartResult(pgrid, inverse, stats)
        return out
    except Interrupted:
        raise QueryTimeout(
            f"the query took longer than {engine.query_timeout_s:g} s and was stopped",
            [Problem("query", "narrow the query: fewer cells, a shorter period or a smaller area")],
        ) from None
    finally:
        timer.cancel()
