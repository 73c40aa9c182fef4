"""``holding``: cells over several years where holdings repeat: every row goes through the
holding pass (rows summed per holding, then per cell), exact for every measure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from cube.backend import Backend
from cube.execute import Cells, Stats, all_stats
from cube.sql import Columns, columns_of, facts_tree, holding_pass, local_sets
from cube.strategies.base import Compiled, Situation, Strategy, Target

if TYPE_CHECKING:
    from cube.statement import Statement


@dataclass(frozen=True, slots=True)
class HoldingSql:
    strategy: ClassVar[str] = "holding"
    columns: Columns
    holding: Statement  # every row


def applies(s: Situation) -> bool:
    return not s.single_pass and not s.one_year


def compile(t: Target) -> HoldingSql:
    proj = facts_tree(t.part, t.items, t.schema, t.axes)
    sets = local_sets(t.part, t.sets)
    return HoldingSql(
        columns_of(t.part.measures),
        holding_pass(proj, t.part, len(t.part.items), sets).bind(where=None),
    )


def run(backend: Backend, sql: Compiled, cells: Cells) -> list[Stats]:
    assert isinstance(sql, HoldingSql)
    res = cells.result(backend, sql.holding)
    return all_stats(res, sql.columns, holding=True)


STRATEGY = Strategy(HoldingSql.strategy, applies, compile, run)
