"""The driver: validate → plan → execute → protect → derive → assemble. One function, one
line per stage, each stage timed. Nothing leaves without ``protect``."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import numpy as np

from cube.assemble import assemble
from cube.backend import Backend
from cube.compose import compose, fold, node_grid
from cube.context import ReleaseContext, SqlCaches
from cube.derive import derive
from cube.errors import QueryTimeout
from cube.periods import is_over_years, summed, yearly
from cube.plan import Plan, cell_grid, make_plan
from cube.protect import ProtectedParts, protect_parts
from cube.query import Query
from cube.result import Answer
from cube.run import execute_parts


def answer(
    ctx: ReleaseContext, caches: SqlCaches, backend: Backend, timeout_s: float, query: Query
) -> Answer:
    """``query`` answered from the release ``ctx``, its SQL run on ``backend`` within
    ``timeout_s`` seconds."""
    with _gc_paused():
        return _answer(ctx, caches, backend, timeout_s, query)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while one answer is built: its many small objects (rows,
    values) are not garbage, yet each collection walks every object of the process (members,
    models); measured: assembling 41,700 rows took 140–190 ms with, 50–60 ms without. The
    collector runs again afterwards; another thread's pause never leaves it off for good."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _answer(
    ctx: ReleaseContext, caches: SqlCaches, backend: Backend, timeout_s: float, query: Query
) -> Answer:
    clock = _Clock(timeout_s)
    plan = clock("plan", make_plan, query, ctx.catalog, ctx.axes_for, ctx.store, ctx.max_cells)
    axes = ctx.axes_for(plan.cube)
    grid = clock("grid", cell_grid, list(plan.items), plan.grouping_sets, axes, plan.masks)
    comp = clock("compose", compose, plan, axes, ctx.max_cells)
    run = (ctx, caches, backend, timeout_s)
    if comp is None:
        protected, _ = _protected(clock, run, plan, grid)
    else:  # custom groups: protect their node cells, then sum them (cube/compose.py)
        runs, reports = [], dict[str, Any]()
        for tile in comp.tiles:
            nodes = clock("grid", node_grid, tile, axes)
            protected, cells = _protected(clock, run, tile.plan, nodes)
            runs.append((nodes, protected, cells))
            reports = _merged(reports, protected.reports)
        protected = _with_reports(clock("compose", fold, comp, grid, runs), reports)
    outputs = clock("derive", derive, plan, grid, protected)
    result = clock("assemble", assemble, ctx.release_id, axes, plan, grid, outputs, protected)
    return Answer(**result, timings=clock.timings)


def _protected(
    clock: _Clock, run: tuple, plan: Plan, grid: np.ndarray
) -> tuple[ProtectedParts, dict[tuple[str, int], np.ndarray]]:
    """Every part of ``plan`` executed and protected on the cells ``grid``; a stock over
    several years from its protected yearly cells (cube/periods.py). Also, per part, the part
    cell behind every cell of ``grid``."""
    axes = run[0].axes_for(plan.cube)
    over = [p for p in plan.parts if is_over_years(plan, p)]
    rest = replace(plan, parts=tuple(p for p in plan.parts if p not in over))
    stats = _execute(clock, run, rest, grid)
    protected = clock("protect", protect_parts, rest, grid, stats)
    cells = {key: res.inverse for key, res in stats.items()}
    for part in over:
        ys = clock("grid", yearly, plan, part, grid, axes)
        year_stats = _execute(clock, run, ys.plan, ys.grid)
        year_protected = clock("protect", protect_parts, ys.plan, ys.grid, year_stats)
        protected[part.key] = {
            name: summed(ys, pm) for name, pm in year_protected[part.key].items()
        }
        protected.reports.update(year_protected.reports)
        cells[part.key] = ys.inverse
    return protected, cells


def _execute(clock: _Clock, run: tuple, plan: Plan, grid: np.ndarray) -> Any:
    """``execute_parts`` within what is left of the answer's time limit: a custom group runs
    one plan per tile, a stock over years one more per part, and all share the one limit."""
    ctx, caches, backend, _ = run
    left = clock.deadline - time.monotonic()
    if left <= 0:
        raise QueryTimeout.after(clock.limit_s)
    try:
        return clock("execute", execute_parts, ctx, caches, backend, left, plan, grid)
    except QueryTimeout:
        raise QueryTimeout.after(clock.limit_s) from None


def _merged(a: dict, b: dict) -> dict:
    """Two tiles' protection reports as one: counts added, the smallest of smallest figures."""
    out = dict(a)
    for key, value in b.items():
        if key not in out:
            out[key] = value
        elif isinstance(value, dict) and isinstance(out[key], dict):
            out[key] = _merged(out[key], value)
        elif isinstance(value, int | float) and isinstance(out[key], int | float):
            out[key] = min(out[key], value) if key.startswith("smallest") else out[key] + value
        elif value is not None and out[key] is None:
            out[key] = value
    return out


def _with_reports(parts: dict, reports: dict) -> ProtectedParts:
    out = ProtectedParts(parts)
    out.reports = reports
    return out


class _Clock:
    """Times each stage, and holds the answer to its time limit: the SQL is interrupted when
    it runs past it (``cube.run``), and a stage that ends past it (protection of a large
    table, which nothing interrupts) ends the answer too, refused as the limit says."""

    def __init__(self, limit_s: float) -> None:
        self.timings: dict[str, float] = {}
        self.limit_s = limit_s
        self.deadline = time.monotonic() + limit_s

    def __call__(self, stage, fn, *args):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        try:
            out = fn(*args)
        finally:
            self.timings[stage] = round(
                self.timings.get(stage, 0.0) + (time.perf_counter() - start) * 1000, 3
            )
        if time.monotonic() > self.deadline:
            raise QueryTimeout.after(self.limit_s)
        return out
