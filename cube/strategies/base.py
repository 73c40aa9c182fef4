"""What every execution strategy gets and gives: the ``Situation`` that decides whether it
applies, the ``Target`` it compiles SQL for, its compiled SQL, and the ``Strategy`` record."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from cube.axes import RoleAxis
from cube.backend import Backend
from cube.execute import Cells, Stats
from cube.plan import Item, Part
from cube.rollups import RollupTable
from cube.sql import Columns, counted_rows, only_sets
from cube.statement import Statement


@dataclass(frozen=True, slots=True)
class Situation:
    """What the choice of a strategy depends on, decided once per part (``cube/run.py``).

    ``single_pass``: every holding has one row in each cell (the fact's holdings have one row a
    year and the cells lie within one year, or they have one row at all); ``one_year``: each
    cell lies within one year; ``holdings_only``: the part counts holdings and nothing else
    (no sums, no row counts, whose rows per holding dominance and p % need); ``needs_holdings``:
    some measure is a sum or a count of holdings (exact holdings in every repeated cell)."""

    single_pass: bool
    one_year: bool
    holdings_only: bool
    needs_holdings: bool

    @classmethod
    def of(cls, part: Part, one_year: bool, unique_holdings: bool, stock: bool) -> Situation:
        """``unique_holdings``: the fact has one row per holding and year (stocks) or per
        holding at all (events)."""
        measures = part.measures
        return cls(
            single_pass=unique_holdings and (not stock or one_year),
            one_year=one_year,
            holdings_only=all(m.kind == "count" and m.count == "holdings" for m in measures),
            needs_holdings=any(m.kind == "sum" or m.count == "holdings" for m in measures),
        )


@dataclass(frozen=True, slots=True, eq=False)
class Target:
    """What a strategy compiles SQL for: one part of a plan, the answer's items and grouping
    sets, the schema of the part's fact table, its cube's axes and the release's rollups of
    that cube (smallest first)."""

    part: Part
    items: tuple[Item, ...]
    sets: tuple[tuple[int, ...], ...]
    schema: Mapping[str, str]
    axes: Mapping[str, RoleAxis]
    rollups: tuple[RollupTable, ...] = ()


class Compiled(Protocol):
    """A strategy's SQL for one part: each strategy has its own frozen record of the SQL texts
    it runs (each ``Statement`` field a tree whose placeholders shape templates bind:
    ``cube/run.py``)."""

    @property
    def strategy(self) -> str: ...

    @property
    def columns(self) -> Columns: ...


@dataclass(frozen=True, slots=True)
class Strategy:
    """One way to get a part's exact statistics: ``applies`` to a situation, ``compile``s the
    part's SQL (``None`` when it cannot after all, e.g. no rollup covers the part) and ``run``s
    it, giving every measure's statistics for the cells."""

    name: str
    applies: Callable[[Situation], bool]
    compile: Callable[[Target], Compiled | None]
    run: Callable[[Backend, Compiled, Cells], list[Stats]]


# A strategy with two statements (bounds then the holding pass; split's singles beside the
# multis) may cost more than one exact statement, depending on the data. What a run of a
# shape shows (no timing: the same data give the same choice) decides its later runs (other
# members, this process): they run the exact statement once the run showed it pays. Kept in
# the exact statement's memo, which every filling of the shape shares; a template read from
# disk starts without it. Either way the published values are the same.
#
# Bounds (``bounds``, ``rollup_bounds``): once the holding pass took at least this share of
# the cells, or any cell of a part of fewer rows than ``SMALL_PART_ROWS``: there a second
# statement costs more than reading every row exactly (scale 0.1, Amsterdam's 110 wijken of
# 40,000 dwellings, 6 cells left: bounds 3.6 + holding pass 3.8 ms, one exact statement
# 5 ms; all 342 gemeenten, 810,000 dwellings, 80 cells left: 3.6 + 10 against 16 ms).
REFINED_SHARE = 0.25
SMALL_PART_ROWS = 250_000
# ``split``: once fewer than this share of the part's rows were singles (holdings with one
# row in their year): its singles pass then reads the rows to spare the holding pass almost
# none (suspicious transactions: 0.5 % singles; suspects 73 %, companies 84 %).
SINGLES_SHARE = 0.25
_EXACT = "use the exact statement"
_SMALL = "the part was small"


def use_exact(exact: Statement) -> bool:
    """Has a run of the shape whose exact statement is ``exact`` shown that it pays?"""
    return bool(exact.memo.get(_EXACT))


def note_refined(
    exact: Statement,
    refined: int,
    cells: Cells,
    rows: int | None = None,
    counted: int | None = None,
) -> None:
    """Bounds: ``refined`` of the cells went through the holding pass; ``rows``: the part's
    rows, if known; ``counted``: where the pass read only the rows of filtered measures
    (``refine_only``), how many of the refined cells' rows they count — then that share of
    the part's rows, not the share of cells, says what the pass cost. Never where a policy
    costs suppressions by contributors: the bounds leave a settled cell its lower bound, the
    exact statement its count, and the pattern of one query must not depend on which ran
    before it."""
    if by_contributors(cells):
        return
    small = rows is not None and rows < SMALL_PART_ROWS
    if counted is None:
        many = refined >= REFINED_SHARE * len(cells.grid)
    else:
        many = rows is not None and counted >= REFINED_SHARE * rows
    if many or (refined > 0 and small):
        exact.memo[_EXACT] = True
        exact.memo[_SMALL] = small


def small_part(exact: Statement) -> bool:
    """Did the run that turned the shape exact (``note_refined``) read a small part? There
    one holding pass over every row costs less than the singles and multis apart."""
    return bool(exact.memo.get(_SMALL))


def by_contributors(cells: Cells) -> bool:
    """Does a measure of the part cost its suppressions by contributor counts?"""
    policy = cells.part.cube.policy
    return any(
        policy.for_measure(m.id).secondary_cost == "contributors" for m in cells.part.measures
    )


def refine_only(cells: Cells, cols: Columns, todo: list[np.ndarray]) -> tuple[int, ...]:
    """The measures the holding pass refines (``todo[j]``: measure j's unsettled cells):
    those with an unsettled cell, when all of them are filtered (``cube.sql.counted_rows``):
    the pass then reads only their rows — a few thousand doorsluis dwellings instead of every
    dwelling of the gemeenten — and the others keep their bounds, which settled them. Every
    measure otherwise, and where suppressions cost contributor counts (their exact counts in
    every refined cell then shape the pattern)."""
    every = tuple(range(len(cols.measures)))
    refined = tuple(j for j, t in enumerate(todo) if t.any())
    if by_contributors(cells) or counted_rows(cols, refined) is None:
        return every
    return refined


def refinement(
    exact: Statement,
    holding: Statement,
    cells: Cells,
    cols: Columns,
    per: list[Stats],
    todo: list[np.ndarray],
    todo_cells: np.ndarray,
) -> tuple[tuple[int, ...], Statement]:
    """What the bounds' holding pass refines, ``todo_cells`` of the cells (``todo[j]``:
    measure j's unsettled cells; ``per``: every measure's bounds): the measures it refines
    (``refine_only``) and the statement: ``holding`` over the rows of those cells, in their
    grouping sets only (its other cells are not read). Notes in ``exact``'s memo whether the
    shape's next run should read one exact statement instead (``note_refined``)."""
    rows = part_rows(cells, [p["n"] for p in per])
    only = refine_only(cells, cols, todo)
    restrict = counted_rows(cols, only)
    # rows the restricted pass may read: those the refined measures count in its cells
    counted = None if restrict is None else sum(int(per[j]["n"][todo_cells].sum()) for j in only)
    note_refined(exact, len(todo_cells), cells, rows, counted)
    grouped = np.unique(cells.grid[todo_cells] >= 0, axis=0)  # per set: the items not totals
    sets = {tuple(np.flatnonzero(row).tolist()) for row in grouped}
    where = cells.refine_where(todo_cells, restrict)
    return only, only_sets(holding, sets).bind(where=where)


def part_rows(cells: Cells, rows_per_cell: list[np.ndarray]) -> int:
    """The rows of a part, from any of its measures' row counts per cell: every grouping set
    of the grid sums to them (the largest sum over the measures, which filters make smaller)."""
    if not rows_per_cell or len(cells.grid) == 0:
        return 0
    n_sets = len(np.unique(cells.grid < 0, axis=0))
    return int(max(int(n.sum()) for n in rows_per_cell) // max(1, n_sets))


def note_singles(exact: Statement, singles: int, rows: int) -> None:
    """Split: ``singles`` of the part's ``rows`` rows were singles."""
    if rows > 0 and singles < SINGLES_SHARE * rows:
        exact.memo[_EXACT] = True
