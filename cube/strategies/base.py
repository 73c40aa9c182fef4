"""What every execution strategy gets and gives: the ``Situation`` that decides whether it
applies, the ``Target`` it compiles SQL for, its compiled SQL, and the ``Strategy`` record."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from cube.axes import RoleAxis
from cube.backend import Backend
from cube.execute import Cells, Stats
from cube.plan import Item, Part
from cube.rollups import RollupTable
from cube.sql import Columns
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


# Bounds (``bounds``, ``rollup_bounds``) settle large cells in one statement, but where they
# leave many cells to the holding pass, their two statements cost more than one exact one.
# Once a run of a shape left at least this share of its cells to the holding pass, the
# shape's later runs (other members, this process) run the exact statement instead. The bench
# queries at scales 0.1 and 1 left either no cell or half to all of them.
REFINED_SHARE = 0.25
_REFINES = "bounds: refines"


def refines(exact: Statement) -> bool:
    """Did a run of the shape whose exact statement is ``exact`` leave ``REFINED_SHARE`` of
    its cells to the holding pass? (Kept in the statement's memo, which every filling of the
    shape shares; a template read from disk starts without it.)"""
    return bool(exact.memo.get(_REFINES))


def note_refined(exact: Statement, refined: int, cells: int) -> None:
    if refined >= REFINED_SHARE * cells:
        exact.memo[_REFINES] = True
