"""``holding``: cells over several years where holdings repeat: every row goes through the
holding pass (rows summed per holding, then per cell), exact for every measure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from cube.backend import Backend
from cube.execute import Cells, Stats, all_stats
from cube.sql import Columns, columns_of, facts_sql, holding_pass, local_sets
from cube.strategies.base import Compiled, Situation, Strategy, Target


@dataclass(frozen=True, slots=True)
class HoldingSql:
    strategy: ClassVar[str] = "holding"
    columns: Columns
    holding: str  # with a ``{where}`` placeholder (empty here)


def applies(s: Situation) -> bool:
    return not s.single_pass and not s.one_year


def compile(t: Target) -> HoldingSql:
    proj = facts_sql(t.part, t.items, t.schema, t.axes)
    sets = local_sets(t.part, t.sets)
    return HoldingSql(
        columns_of(t.part.measures), holding_pass(proj, t.part, len(t.part.items), sets)
    )


def run(backend: Backend, sql: Compiled, cells: Cells) -> list[Stats]:
    assert isinstance(sql, HoldingSql)
    res = cells.result(backend, sql.holding.format(where=""))
    return all_stats(res, sql.columns, holding=True)


STRATEGY = Strategy(HoldingSql.strategy, applies, compile, run)
