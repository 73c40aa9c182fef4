"""Stocks over several years: the sum of the yearly stocks (person-years).

A stock (inhabitants, dwellings on 1 January) used by another cube's measure (the
denominator of a rate, the reference population of an index) may meet a cell that spans
several years: the total over the years of a drill-down by ``period@year`` with margins, a
pooled window (``cube.compose.POOLED_YEARS``), or no period cut at all. Such a cell's stock is
the **sum of the stocks of its years** (person-years: an inhabitant present on 1 January of
three years counts three times), never the distinct units seen over the years.

Each yearly stock is the cell of that region (and other items) and year, protected as it is
in every other answer (a hierarchy member: docs/disclosure-control.md), and then summed like
a custom group (``cube.compose``): the published sum is the sum of the published years, a
suppressed year suppresses the sum (reason ``derived``). No population over several years is
ever protected or published as one of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from cube.axes import RoleAxis
from cube.compose import fold_cells
from cube.model import Cube
from cube.plan import Item, Part, Plan, other_role
from cube.sql import local_sets
from sdc.protect import ProtectedMeasure
from sdc.table import unique_rows


@dataclass(frozen=True, slots=True, eq=False)
class YearlyStock:
    """How one stock part is answered year by year: ``plan`` runs ``part`` (the stock part with
    the year item) on ``grid`` (its cells, one per year, in the answer's coordinates);
    the pair (``cell_of[k]``, ``row_of[k]``) says that row ``row_of[k]`` adds to part cell
    ``cell_of[k]``; ``inverse`` maps every answer cell to its part cell."""

    part: Part
    plan: Plan
    grid: np.ndarray
    cell_of: np.ndarray
    row_of: np.ndarray
    n_cells: int
    inverse: np.ndarray


def is_over_years(plan: Plan, part: Part) -> bool:
    """Is ``part`` a stock of another cube with a cell spanning several years?"""
    if part.cube.period != "stock" or part.cube is plan.cube:
        return False
    if not any(r.dimension.id == "period" and "year" in r.levels for r in plan.cube.roles):
        return False
    return not plan.single_year(part, local_sets(part, plan.grouping_sets))


def yearly(plan: Plan, part: Part, grid: np.ndarray, axes: dict[str, RoleAxis]) -> YearlyStock:
    """The yearly cells of ``part`` behind the answer cells ``grid`` (see the module doc)."""
    period = _period_role(plan.cube)
    year_axis = axes[period].levels["year"]
    years = np.unique(year_axis.base_index[plan.masks[period]]).astype(np.int64)
    items = list(plan.items)
    y = next((i for i, it in enumerate(items) if it.role == period and it.level == "year"), None)
    if y is None:
        y = len(items)
        items.append(Item(f"{period}@year", period, "year", "period", tuple(years.tolist())))
    stock_role = _stock_period_role(plan.cube, part.cube, period)
    own = part
    if y not in part.items:
        own = replace(part, items=(*part.items, y), roles=(*part.roles, stock_role))
    sets = tuple(dict.fromkeys(tuple(sorted({*gs, y})) for gs in plan.grouping_sets))
    year_plan = replace(plan, items=tuple(items), grouping_sets=sets, parts=(own,))

    cols = [i for i in part.items if i != y]
    full = np.full((len(grid), len(items)), -1, dtype=np.int64)
    full[:, : grid.shape[1]] = grid
    cells, inverse = unique_rows(full[:, [*cols, y]])
    spans = cells[:, -1] < 0  # the cell's year is every year of the cut
    n_rows = np.where(spans, len(years), 1)
    cell_of = np.repeat(np.arange(len(cells)), n_rows)
    rows = cells[cell_of]
    rows[spans[cell_of], -1] = np.tile(years, int(spans.sum()))
    rows, row_of = unique_rows(rows)  # a year may be a cell too
    year_grid = np.full((len(rows), len(items)), -1, dtype=np.int64)
    year_grid[:, [*cols, y]] = rows
    return YearlyStock(own, year_plan, year_grid, cell_of, row_of, len(cells), inverse)


def summed(ys: YearlyStock, pm: ProtectedMeasure) -> ProtectedMeasure:
    """The protected yearly values ``pm`` (one per row of ``ys.grid``) summed into the part's
    cells and broadcast to the answer's cells."""
    per_cell = fold_cells(pm, ys.cell_of, ys.row_of, ys.n_cells)
    return ProtectedMeasure(
        per_cell.published[ys.inverse],
        per_cell.status[ys.inverse],
        per_cell.reason[ys.inverse],
        per_cell.facts,
    )


def _period_role(cube: Cube) -> str:
    return next(r.id for r in cube.roles if r.dimension.id == "period" and "year" in r.levels)


def _stock_period_role(main: Cube, stock: Cube, period: str) -> str:
    role = other_role(main, stock, period)
    if role is None:  # the planner maps every role a stock part is asked by
        raise ValueError(f"{stock.id} has no period role for {main.id}.{period}")
    return role.id
