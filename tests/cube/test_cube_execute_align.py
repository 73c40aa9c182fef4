"""Vectorised alignment of SQL results with the cell grid (cube/execute.py)."""

from __future__ import annotations

import numpy as np
import pytest

from cube.execute import _grid_positions, _KeyIndex, _Result, fetch_columns, run_part
from cube.plan import cell_grid, make_plan
from cube.query import Cut, Query
from cube.run import strategy
from cube.sql import part_sql
from tests.cube.test_cube_differential import compare


class _RowsOnly:
    """A backend without a columnar fetch (as another engine may be)."""

    name = "rows"

    def rows(self, sql):
        return ["k0", "g", "n0", "top0"], [(7, 0, 3, [5.0, 2.0]), (None, 1, 9, None)]

    def interrupt(self):
        pass


def test_key_index_ints_and_strings_and_missing():
    ints = _KeyIndex((30, 10, 20, -1))
    col = np.ma.masked_array(np.array([20, 10, 99, -1, 0]), mask=[0, 0, 0, 0, 1])
    assert ints.lookup(col).tolist() == [2, 1, -2, 3, -2]
    strs = _KeyIndex(("K", "A", "unknown"))
    got = strs.lookup(np.array(["A", "unknown", "Z", "K"], dtype=object))
    assert got.tolist() == [1, 2, -2, 0]


def test_key_index_empty_level():
    assert _KeyIndex(()).lookup(np.array([1, 2])).tolist() == [-2, -2]


def test_grid_positions_match_cells_totals_and_strangers():
    grid = np.array([[0, 0], [0, 1], [1, -1], [-1, -1], [2, 1]])
    coords = np.array([[2, 1], [-1, -1], [0, 1], [1, 0], [-2, 0], [1, -1]])
    assert _grid_positions(grid, coords).tolist() == [4, 3, 1, -1, -1, 2]


def test_grid_positions_without_items():
    grid = np.full((1, 0), -1)
    assert _grid_positions(grid, np.zeros((2, 0), dtype=np.int64)).tolist() == [0, 0]


def test_fetch_columns_from_rows_masks_nulls_and_keeps_lists():
    cols = fetch_columns(_RowsOnly(), "SELECT 1")  # type: ignore[arg-type]
    assert np.ma.getmaskarray(cols["k0"]).tolist() == [False, True]
    assert cols["n0"].tolist() == [3, 9]
    assert list(cols["top0"][0]) == [5.0, 2.0]
    assert np.ma.getmaskarray(cols["top0"]).tolist() == [False, True]


def test_top2_reads_lists_and_nulls():
    class _R(_Result):
        def __init__(self):  # the columns of a result already matched to 3 cells
            self.cols = {"top0": np.ma.masked_array(np.empty(3, dtype=object), [0, 1, 0])}
            self.cols["top0"][0], self.cols["top0"][2] = [9.0, 4.0], [3.0]
            self.n, self.hit, self.pos = 3, np.arange(3), np.array([2, 0, 1])

    x1, x2 = _R().top2("top0")
    assert x1.tolist() == [0.0, 3.0, 9.0] and x2.tolist() == [0.0, 0.0, 4.0]


BOUNDS_QUERIES = [
    # row counts only on a cube whose holdings repeat (a corporation owns 30 % of the
    # dwellings): the bounds pass, then the exact holding pass for the cells it cannot clear
    Query(
        "dwellings",
        ("dwellings", "doorsluis_dwellings"),
        ("region@buurt",),
        (Cut("period", "year", ("2023",)),),
        totals="margins",
    ),
    Query(
        "dwellings",
        ("dwellings", "foundation_dwellings"),
        ("region@buurt", "owner_type"),
        (Cut("region", "gemeente", ("GM0363",)), Cut("period", "year", ("2022",))),
    ),
]


@pytest.mark.parametrize("query", BOUNDS_QUERIES, ids=lambda q: "+".join(q.drilldown))
def test_bounds_and_refinement_match_the_oracle(engine, query):
    plan = make_plan(query, engine.catalog, engine.axes_for, engine.store, engine.max_cells)
    assert [strategy(engine, plan, p) for p in plan.parts] == ["bounds"]
    compare(engine, query)


SPLIT_QUERIES = [
    # sums and distinct counts within one year: single-row holdings per row, the rest per
    # holding, merged (counts, keys and sums add; top-2 of both)
    Query(
        "dwellings",
        ("dwellings", "woz_total", "owners"),
        ("region@wijk",),
        (Cut("period", "year", ("2023",)),),
        totals="margins",
    ),
    Query(
        "drug_suspects",
        ("suspects", "registrations"),
        ("residence@gemeente", "offence@gemeente"),
        (Cut("period", "year", ("2022",)),),
        totals="margins",
    ),
]


@pytest.mark.parametrize("query", SPLIT_QUERIES, ids=lambda q: q.cube)
def test_split_strategy_matches_the_oracle(engine, query):
    plan = make_plan(query, engine.catalog, engine.axes_for, engine.store, engine.max_cells)
    assert [strategy(engine, plan, p) for p in plan.parts] == ["split"]
    compare(engine, query)


def test_split_gives_the_holding_pass_values_bit_for_bit(engine):
    """Perturbation keys on the exact value: a cell must not differ by strategy."""
    query = SPLIT_QUERIES[0]
    plan = make_plan(query, engine.catalog, engine.axes_for, engine.store, engine.max_cells)
    grid = cell_grid(list(plan.items), plan.grouping_sets, engine.axes_for(plan.cube), plan.masks)
    part = plan.parts[0]
    axes = engine.axes_for(part.cube)
    out = {}
    for name in ("split", "holding"):
        ps = part_sql(
            part, plan.items, plan.grouping_sets, engine.schemas[part.cube.fact], axes, name
        )
        out[name] = run_part(engine.backend(), ps, part, plan.items, grid, axes)
    for mid, stats in out["split"].items():
        other = out["holding"][mid]
        for field in ("value", "contributors", "x1", "x2", "cell_key"):
            assert np.array_equal(getattr(stats, field), getattr(other, field)), (mid, field)
