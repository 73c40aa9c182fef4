"""``bounds``: row counts only, cells within one year, holdings that repeat. One pass gives the
row counts with, per cell, Σ 1/rows-of-holding-in-year (a lower bound on distinct holdings)
and the most rows of one holding (which says whether the row counts are exact). Only the cells
whose threshold, dominance or p % status the bounds cannot settle are recomputed by the
holding pass, restricted to their rows. Where that pass took many cells (dwellings by wijk or
buurt: owners hold many), the shape's later runs run ``split``'s one exact statement instead
(``exact``; as ``rollup_bounds`` does, ``cube.strategies.base.REFINED_SHARE``) — or, where the
part was small, ``holding``'s (``every``): one branch, less for DuckDB to plan than the
singles and multis apart, the same statistics bit for bit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from cube.backend import Backend
from cube.execute import Cells, Stats, all_stats, bounded_top2, row_count, stats, uncleared
from cube.sql import (
    Columns,
    columns_of,
    facts_tree,
    holding_pass,
    local_sets,
    one_pass,
    rows_of_holding,
    together,
)
from cube.strategies import split
from cube.strategies.base import (
    Compiled,
    Situation,
    Strategy,
    Target,
    refinement,
    small_part,
    use_exact,
)

if TYPE_CHECKING:
    from cube.statement import Statement


@dataclass(frozen=True, slots=True)
class BoundsSql:
    strategy: ClassVar[str] = "bounds"
    columns: Columns
    one_pass: Statement  # counts, keys and the bounds
    holding: Statement  # with a ``where`` placeholder: the uncleared cells' rows
    exact: Statement  # ``split``'s statement: exact for every cell
    every: Statement  # ``holding``'s: every row per holding, exact too (for a small part)


def applies(s: Situation) -> bool:
    return s.one_year and not s.needs_holdings and not s.single_pass


def compile(t: Target) -> BoundsSql:
    proj = facts_tree(t.part, t.items, t.schema, t.axes)
    n, sets = len(t.part.items), local_sets(t.part, t.sets)
    holding = holding_pass(proj, t.part, n, sets)
    singles = one_pass(proj, t.part, n, sets, False, rows_of_holding("="))
    return BoundsSql(
        columns_of(t.part.measures),
        one_pass(proj, t.part, n, sets, True),
        holding,
        together(singles, holding.bind(where=rows_of_holding(">"))),
        holding.bind(where=None),
    )


def run(backend: Backend, sql: Compiled, cells: Cells) -> list[Stats]:
    assert isinstance(sql, BoundsSql)
    cols = sql.columns
    if use_exact(sql.exact):
        if small_part(sql.exact):  # one statement of one branch: less to plan
            return all_stats(cells.result(backend, sql.every), cols, holding=True)
        singles, multis = cells.results(backend, sql.exact)
        return split.merge(singles, multis, cols)
    res = cells.result(backend, sql.one_pass)
    per = all_stats(res, cols, holding=False)
    policy = cells.part.cube.policy
    todo = [
        uncleared(res, cols.alias[j], m, policy.for_measure(m.id))
        for j, m in enumerate(cols.measures)
    ]
    cells_todo = np.nonzero(np.any(todo, axis=0))[0] if todo else np.zeros(0, dtype=np.int64)
    for j, s in enumerate(per):  # cleared cells: Σ 1/rows is a lower bound on holdings
        a = cols.alias[j]
        lb = np.ceil(res.col(f"lb{a}") - 1e-9).astype(np.int64)
        s["c"] = np.where(res.col(f"mr{a}") > 1, lb, s["c"])
        if "x1" in s and row_count(cols.measures[j]):
            bounded_top2(s, res.col(f"mr{a}"))
    if len(cells_todo) == 0:
        return per
    # filtered measures: only the rows they count; the next run: one statement?
    only, refined = refinement(sql.exact, sql.holding, cells, cols, per, todo, cells_todo)
    exact = cells.result(backend, refined)
    for j in only:
        s = per[j]
        fixed = stats(exact, cols, j, holding=True)
        for name, arr in fixed.items():
            s[name][cells_todo] = arr[cells_todo]
    return per


STRATEGY = Strategy(BoundsSql.strategy, applies, compile, run)
