"""Vectorised alignment of SQL results with the cell grid (cube/execute.py)."""

from __future__ import annotations

import numpy as np

from cube.execute import KeyIndex, Result, _grid_positions, fetch_columns


class _RowsOnly:
    """A backend without a columnar fetch (as another engine may be)."""

    name = "rows"

    def rows(self, sql):
        return ["k0", "g", "n0", "top0"], [(7, 0, 3, [5.0, 2.0]), (None, 1, 9, None)]

    def interrupt(self):
        pass


def test_key_index_ints_and_strings_and_missing():
    ints = KeyIndex((30, 10, 20, -1))
    col = np.ma.masked_array(np.array([20, 10, 99, -1, 0]), mask=[0, 0, 0, 0, 1])
    assert ints.lookup(col).tolist() == [2, 1, -2, 3, -2]
    strs = KeyIndex(("K", "A", "unknown"))
    got = strs.lookup(np.array(["A", "unknown", "Z", "K"], dtype=object))
    assert got.tolist() == [1, 2, -2, 0]


def test_key_index_empty_level():
    assert KeyIndex(()).lookup(np.array([1, 2])).tolist() == [-2, -2]


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
    class _R(Result):
        def __init__(self):  # the columns of a result already matched to 3 cells
            self.cols = {"top0": np.ma.masked_array(np.empty(3, dtype=object), [0, 1, 0])}
            self.cols["top0"][0], self.cols["top0"][2] = [9.0, 4.0], [3.0]
            self.n, self.hit, self.pos = 3, np.arange(3), np.array([2, 0, 1])

    x1, x2 = _R().top2("top0")
    assert x1.tolist() == [0.0, 3.0, 9.0] and x2.tolist() == [0.0, 0.0, 4.0]
