"""Execution strategies: how one part of a plan gets its exact statistics cheaply.

Each module is one strategy with ``applies(situation)``, ``compile(target)`` and
``run(backend, sql, cells)``; ``STRATEGIES`` tries them in order and the first that applies
and compiles is the part's (as ``sdc/rules`` runs its rules in order). A new strategy is one
module and one line here. ``docs/cube-engine.md`` says when each one applies and why.
"""

from __future__ import annotations

import numpy as np

from cube.axes import RoleAxis
from cube.backend import Backend
from cube.execute import Cells, measure_stats
from cube.plan import Item, Part
from cube.strategies import bounds, distinct, holding, rollup, rollup_bounds, single, split
from cube.strategies.base import Compiled, Situation, Strategy, Target
from sdc.table import MeasureStats

# Rollups first (smaller tables), then the facts: one pass where it is exact, distinct
# holdings counted directly, the holding pass over several years, split or bounds within one.
STRATEGIES: tuple[Strategy, ...] = (
    rollup_bounds.STRATEGY,
    rollup.STRATEGY,
    single.STRATEGY,
    distinct.STRATEGY,
    holding.STRATEGY,
    split.STRATEGY,
    bounds.STRATEGY,
)
BY_NAME = {s.name: s for s in STRATEGIES}


def choose(target: Target, situation: Situation) -> Compiled:
    """The SQL of the first strategy that applies and compiles."""
    for strategy in STRATEGIES:
        if strategy.applies(situation):
            compiled = strategy.compile(target)
            if compiled is not None:
                return compiled
    raise AssertionError(f"no strategy for {situation}")  # holding, split, bounds cover all


def run_part(
    backend: Backend,
    sql: Compiled,
    part: Part,
    items: tuple[Item, ...],
    grid: np.ndarray,
    axes: dict[str, RoleAxis],
) -> dict[str, MeasureStats]:
    """Run ``sql`` by its strategy: per base measure, its statistics for every cell of
    ``grid`` (the part's own grid: the answer's cells on the part's items)."""
    per = BY_NAME[sql.strategy].run(backend, sql, Cells.of(part, items, grid, axes))
    return {m.id: measure_stats(m, s) for m, s in zip(sql.columns.measures, per, strict=True)}


__all__ = ["BY_NAME", "STRATEGIES", "Compiled", "Situation", "Strategy", "Target", "choose"]
