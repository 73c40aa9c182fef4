"""``rollup``: the split strategy over the smallest rollup of the release (``cube/rollups.py``)
that has every column the part needs: its singles (holdings with one row in their year, summed
per group) in one pass, its multis (per holding and group) through the holding pass. Applies
where the facts' split or single pass would: cells within one year, or holdings that never
repeat (rollups hold years apart)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from cube.backend import Backend
from cube.execute import Cells, Stats, all_stats
from cube.rollups import SCHEMA, RollupTable
from cube.sql import (
    Columns,
    Source,
    columns_of,
    facts_tree,
    holding_pass,
    local_sets,
    one_pass,
    together,
)
from cube.strategies import split
from cube.strategies.base import Compiled, Situation, Strategy, Target

if TYPE_CHECKING:
    from sqlglot import exp

    from cube.statement import Statement


@dataclass(frozen=True, slots=True)
class RollupSql:
    strategy: ClassVar[str] = "rollup"
    columns: Columns
    # the singles in one pass and, where the rollup has multis, with them (``together``) the
    # multis per holding
    statement: Statement
    multis: bool


def sources(rt: RollupTable) -> tuple[Source, Source, Source]:
    """The rollup's singles, multis and bounds tables."""
    return (
        Source(SCHEMA, rt.singles, rt.columns, rt.sums, multis=False),
        Source(SCHEMA, rt.multis, rt.columns, rt.sums, multis=True, alone=rt.alone),
        Source(SCHEMA, rt.bounds, rt.columns, rt.sums, multis=True, bounds=True),
    )


def covering(t: Target) -> tuple[RollupTable, exp.Expr, exp.Expr] | None:
    """The smallest rollup with every column the part needs (levels, cuts, measure filters,
    summed columns), with its singles' and multis' rows as trees; ``None`` when none has."""
    from ibis.common.exceptions import IbisTypeError

    for rt in t.rollups:
        singles, multis, _ = sources(rt)
        if any(m.kind == "sum" and m.column not in singles.sums for m in t.part.measures):
            continue
        try:
            one = facts_tree(t.part, t.items, t.schema, t.axes, singles)
            many = facts_tree(t.part, t.items, t.schema, t.axes, multis)
        except (IbisTypeError, KeyError, AttributeError):  # a column the rollup lacks
            continue
        return rt, one, many
    return None


def applies(s: Situation) -> bool:
    return s.single_pass or s.one_year


def compile(t: Target) -> RollupSql | None:
    found = covering(t)
    if found is None:
        return None
    rt, one, many = found
    n, sets = len(t.part.items), local_sets(t.part, t.sets)
    singles = one_pass(one, t.part, n, sets, False, pre=True)
    if rt.multi_rows == 0:
        return RollupSql(columns_of(t.part.measures), singles, multis=False)
    multis = holding_pass(many, t.part, n, sets, pre=True).bind(where=None)
    return RollupSql(columns_of(t.part.measures), together(singles, multis), multis=True)


def run(backend: Backend, sql: Compiled, cells: Cells) -> list[Stats]:
    assert isinstance(sql, RollupSql)
    if not sql.multis:  # every holding has one row in its year
        return all_stats(cells.result(backend, sql.statement), sql.columns, holding=False)
    singles, multis = cells.results(backend, sql.statement)  # a rollup's multis: years apart
    return split.merge(singles, multis, sql.columns)


STRATEGY = Strategy(RollupSql.strategy, applies, compile, run)
