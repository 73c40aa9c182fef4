"""``rollup_bounds``: row counts only, cells within one year, from a rollup whose multis have
rows: singles exact; multis first as bounds, read without their holdings from the rollup's
bounds table (counts and keys add; Σ 1/rows and the holdings of the largest group are lower
bounds on their holdings; the groups' most rows of one holding, added up, bound one holding's
rows in the cell), then through the holding pass only for the cells whose threshold,
dominance or p % status the bounds cannot settle — and, where only filtered measures left
cells (doorsluis dwellings beside all dwellings), through their rows only
(``cube.strategies.base.refine_only``).

The bounds pay where they settle most cells (large cells: a provincie, the country); where
they leave many cells to the holding pass (a wijk or buurt of dwellings, whose owners hold
many of them: dominance needs their exact rows), the two statements cost more than
``rollup``'s one, which is exact everywhere (measured: 1.1-4x). So once a run of the shape
left at least ``REFINED_SHARE`` of its cells to the holding pass (``cube.strategies.base``),
later runs of the same shape (other members, in this process) run ``rollup``'s statement
instead (``exact``). The
published values are the same either way: the bounds only settle cells whose status they
decide exactly (``tests/cube/test_cube_strategies.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from cube.backend import Backend
from cube.execute import (
    Cells,
    Stats,
    bounded_top2,
    concentrated,
    merge_top2,
    ones_top2,
    row_count,
    stats,
    unsettled,
)
from cube.sql import (
    KEY_MOD,
    Columns,
    columns_of,
    facts_tree,
    holding_pass,
    local_sets,
    one_pass,
    together,
)
from cube.strategies import split
from cube.strategies.base import (
    Compiled,
    Situation,
    Strategy,
    Target,
    refinement,
    use_exact,
)
from cube.strategies.rollup import covering, sources

if TYPE_CHECKING:
    from cube.statement import Statement


@dataclass(frozen=True, slots=True)
class RollupBoundsSql:
    strategy: ClassVar[str] = "rollup_bounds"
    columns: Columns
    # one statement (``together``): the singles, and the multis without holdings (counts,
    # keys, Σ 1/rows, most rows) from the bounds table
    statement: Statement
    holding: Statement  # the multis per holding, ``where`` placeholder: the uncleared cells
    # ``rollup``'s statement: the singles and the multis per holding, exact for every cell;
    # its memo (shared by every filling of the shape) says whether the bounds left many cells
    exact: Statement


def applies(s: Situation) -> bool:
    return s.one_year and not s.needs_holdings and not s.single_pass


def compile(t: Target) -> RollupBoundsSql | None:
    """``None`` when the covering rollup has no multis (then ``rollup`` reads it)."""
    from ibis.common.exceptions import IbisTypeError

    found = covering(t)
    if found is None or found[0].multi_rows == 0:
        return None
    rt, one, many = found
    try:
        few = facts_tree(t.part, t.items, t.schema, t.axes, sources(rt)[2])
    except (IbisTypeError, KeyError, AttributeError):
        return None
    n, sets = len(t.part.items), local_sets(t.part, t.sets)
    singles = one_pass(one, t.part, n, sets, False, pre=True)
    bounds = one_pass(few, t.part, n, sets, True, pre=True)
    multis = holding_pass(many, t.part, n, sets, pre=True)
    return RollupBoundsSql(
        columns_of(t.part.measures),
        together(singles, bounds),
        multis,
        together(singles, multis.bind(where=None)),
    )


def run(backend: Backend, sql: Compiled, cells: Cells) -> list[Stats]:
    assert isinstance(sql, RollupBoundsSql)
    cols = sql.columns
    if use_exact(sql.exact):
        singles, multis = cells.results(backend, sql.exact)
        return split.merge(singles, multis, cols)
    singles, bound = cells.results(backend, sql.statement)
    policy = cells.part.cube.policy
    per, todo, single_n, singles_top = [], [], [], []
    for j, m in enumerate(cols.measures):
        a = cols.alias[j]
        s = stats(singles, cols, j, holding=False)
        # Holdings of the multis: at least Σ 1/rows-in-year and at least the largest group's.
        lb = s["n"] + np.maximum(bound.col(f"lb{a}"), bound.col(f"hc{a}"))
        repeated = bound.col(f"mr{a}") > 1
        c = np.where(repeated, np.ceil(lb - 1e-9).astype(np.int64), s["n"])
        key = (s["key"] + bound.col(f"key{a}", np.int64)) % KEY_MOD
        n = s["n"] + bound.col(f"n{a}", np.int64)
        out = {"n": n, "c": c, "key": key}
        mp = policy.for_measure(m.id)
        undecided = unsettled(lb, n, mp)
        if row_count(m):
            # One holding's rows in the cell: at most its rows in the year, and at most the
            # most rows one holding has in each of the cell's groups, added up (a landlord
            # with thousands of dwellings in the country and three in this wijk: 3).
            most = np.minimum(bound.col(f"mr{a}"), bound.col(f"mh{a}"))
            out["x1"], out["x2"] = ones_top2(n)
            bounded_top2(out, most)
            undecided = undecided | concentrated(n, most, mp)
        per.append(out)
        todo.append(repeated & undecided)
        zeros = np.zeros(len(s["n"]))
        singles_top.append((s.get("x1", zeros), s.get("x2", zeros)))
        single_n.append(s["n"])
    todo_cells = np.nonzero(np.any(todo, axis=0))[0] if todo else np.zeros(0, dtype=np.int64)
    if len(todo_cells) == 0:
        return per
    # filtered measures: only the rows they count; the next run: one statement?
    only, refined = refinement(sql.exact, sql.holding, cells, cols, per, todo, todo_cells)
    exact = cells.result(backend, refined)
    for j in only:
        s = per[j]
        fixed = stats(exact, cols, j, holding=True)
        s["c"][todo_cells] = single_n[j][todo_cells] + fixed["c"][todo_cells]
        if "x1" in s:  # the singles' ones and the multis' exact rows per holding
            x1, x2 = merge_top2(singles_top[j], (fixed["x1"], fixed["x2"]))
            s["x1"][todo_cells], s["x2"][todo_cells] = x1[todo_cells], x2[todo_cells]
    return per


STRATEGY = Strategy(RollupBoundsSql.strategy, applies, compile, run)
