"""``distinct``: a part that counts holdings and nothing else counts them directly, in one pass
over the facts (``count(DISTINCT holding)``): exact whatever the cells, without the holding
pass (measured at scale 1: 66 ms against 85 ms for the holding pass; from the facts within one
year, 2.2 ms against 3.6 ms for ``split``'s two queries)."""

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
class DistinctSql:
    strategy: ClassVar[str] = "distinct"
    columns: Columns
    one_pass: Statement


def applies(s: Situation) -> bool:
    return s.holdings_only and not s.single_pass


def compile(t: Target) -> DistinctSql:
    proj = facts_tree(t.part, t.items, t.schema, t.axes)
    sets = local_sets(t.part, t.sets)
    return DistinctSql(
        columns_of(t.part.measures),
        one_pass(proj, t.part, len(t.part.items), sets, False, distinct=True),
    )


def run(backend: Backend, sql: Compiled, cells: Cells) -> list[Stats]:
    assert isinstance(sql, DistinctSql)
    return all_stats(cells.result(backend, sql.one_pass), sql.columns, holding=True)


STRATEGY = Strategy(DistinctSql.strategy, applies, compile, run)
