"""``single``: every holding has one row in each cell, so one pass over the facts is exact (row
counts are the contributor counts). Population, a person one row a year, is the usual case."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from cube.backend import Backend
from cube.execute import Cells, Stats, all_stats
from cube.sql import Columns, columns_of, facts_tree, local_sets, one_pass
from cube.strategies.base import Compiled, Situation, Strategy, Target

if TYPE_CHECKING:
    from cube.statement import Statement


@dataclass(frozen=True, slots=True)
class SingleSql:
    strategy: ClassVar[str] = "single"
    columns: Columns
    one_pass: Statement


def applies(s: Situation) -> bool:
    return s.single_pass


def compile(t: Target) -> SingleSql:
    proj = facts_tree(t.part, t.items, t.schema, t.axes)
    sets = local_sets(t.part, t.sets)
    return SingleSql(
        columns_of(t.part.measures),
        one_pass(proj, t.part, len(t.part.items), sets, False),
    )


def run(backend: Backend, sql: Compiled, cells: Cells) -> list[Stats]:
    assert isinstance(sql, SingleSql)
    return all_stats(cells.result(backend, sql.one_pass), sql.columns, holding=False)


STRATEGY = Strategy(SingleSql.strategy, applies, compile, run)
