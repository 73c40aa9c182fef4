"""``split``: cells within one year with sums or counts of holdings. Holdings with one row in
their year (``hr = 1``) are exact row by row in one pass; only the other rows (19 % of the
companies, 44 % of the dwellings) go through the holding pass. Bounds would settle only the
threshold of row counts, while sums and distinct counts need exact holdings wherever one
repeats, which at scale is nearly every cell (one pass + refinement 1.4 s against 0.26 s for
the holding pass alone). Where singles are rare (suspicious transactions: 0.5 % of the rows),
the singles pass only reads the rows twice: once a run of the shape showed fewer than
``SINGLES_SHARE`` singles, its later runs run ``holding``'s one statement (every row per
holding: the same statistics, bit for bit)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from cube.backend import Backend
from cube.execute import Cells, Result, Stats, add_units, all_stats, merge_top2, stats
from cube.sql import (
    KEY_MOD,
    Columns,
    columns_of,
    facts_tree,
    holding_pass,
    local_sets,
    one_pass,
    rows_of_holding,
    together,
)
from cube.strategies.base import (
    Compiled,
    Situation,
    Strategy,
    Target,
    note_singles,
    use_exact,
)

if TYPE_CHECKING:
    from cube.statement import Statement


@dataclass(frozen=True, slots=True)
class SplitSql:
    strategy: ClassVar[str] = "split"
    columns: Columns
    # one statement (``together``): the rows of holdings with one row in their year in one
    # pass, the other rows (``hr > 1``) per holding
    statement: Statement
    exact: Statement  # every row per holding (``holding``'s statement)


def applies(s: Situation) -> bool:
    return s.one_year and s.needs_holdings and not s.single_pass


def compile(t: Target) -> SplitSql:
    proj = facts_tree(t.part, t.items, t.schema, t.axes)
    n, sets = len(t.part.items), local_sets(t.part, t.sets)
    singles = one_pass(proj, t.part, n, sets, False, rows_of_holding("="))
    every = holding_pass(proj, t.part, n, sets)
    multis = every.bind(where=rows_of_holding(">"))
    return SplitSql(columns_of(t.part.measures), together(singles, multis), every.bind(where=None))


def run(backend: Backend, sql: Compiled, cells: Cells) -> list[Stats]:
    assert isinstance(sql, SplitSql)
    if use_exact(sql.exact):
        return all_stats(cells.result(backend, sql.exact), sql.columns, holding=True)
    singles, multis = cells.results(backend, sql.statement)
    few = _rows(singles)
    note_singles(sql.exact, few, few + _rows(multis))  # the next run: one statement?
    return merge(singles, multis, sql.columns)


def _rows(res: Result) -> int:
    """Rows counted by the first measure, over every grouping set (a share, not a total)."""
    return int(np.ma.filled(res.cols["n0"], 0).sum()) if len(res.cols["n0"]) else 0


def merge(singles: Result, multis: Result, cols: Columns) -> list[Stats]:
    """Single-row holdings (exact per row) and the others (per holding): the two sets of
    holdings are disjoint (cells lie within one year), so counts, keys and sums add, and the
    two largest contributions are the two largest of both."""
    per = []
    for j in range(len(cols.measures)):
        a, b = stats(singles, cols, j, holding=False), stats(multis, cols, j, holding=True)
        out: Stats = {"n": a["n"] + b["n"], "c": a["c"] + b["c"]}
        out["key"] = (a["key"] + b["key"]) % KEY_MOD
        if "s" in a:
            out["s"] = add_units(a["s"], b["s"])
        if "x1" in a:
            out["x1"], out["x2"] = merge_top2((a["x1"], a["x2"]), (b["x1"], b["x2"]))
        per.append(out)
    return per


STRATEGY = Strategy(SplitSql.strategy, applies, compile, run)
