"""Vectorised alignment of SQL results with the cell grid (cube/execute.py)."""

from __future__ import annotations

import duckdb
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from cube import execute
from cube.backend import DuckDbBackend
from cube.dialects import parse_duckdb
from cube.execute import KeyIndex, Result, _grid_positions, fetch_columns
from cube.sql import list_columns
from cube.statement import Statement


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


@given(
    st.lists(st.integers(-5, 60), max_size=30),
    st.lists(st.integers(-8, 70), max_size=30),
    st.sampled_from([1, 10**9]),
)
def test_key_index_table_and_search_agree(keys, column, spread):
    # Keys close together use a direct table, far apart a binary search: the same indexes,
    # the first of equal keys, -2 for a key the level lacks or a NULL.
    scaled = tuple(k * spread for k in keys)
    index = KeyIndex(scaled)
    assert (index.table is not None) == (bool(keys) and (spread == 1 or len(set(keys)) == 1))
    col = np.ma.masked_array(
        np.array(column or [0]) * spread, mask=[i % 7 == 3 for i in range(len(column or [0]))]
    )
    expected = [
        -2 if m else next((i for i, k in enumerate(scaled) if k == v), -2)
        for v, m in zip(np.ma.getdata(col).tolist(), np.ma.getmaskarray(col).tolist(), strict=True)
    ]
    assert index.lookup(col).tolist() == expected


def test_key_index_empty_level():
    assert KeyIndex(()).lookup(np.array([1, 2])).tolist() == [-2, -2]


def test_grid_positions_match_cells_totals_and_strangers():
    grid = np.array([[0, 0], [0, 1], [1, -1], [-1, -1], [2, 1]])
    coords = np.array([[2, 1], [-1, -1], [0, 1], [1, 0], [-2, 0], [1, -1]])
    assert _grid_positions(grid, coords).tolist() == [4, 3, 1, -1, -1, 2]


@st.composite
def _grid_and_rows(draw):
    """Distinct cells (members or -1 totals, some far apart), and result rows: cells of the
    grid, cells it lacks and keys no level knows (-2), in any order."""
    n_items = draw(st.integers(1, 3))
    member = st.one_of(st.integers(-1, 6), st.sampled_from([-1, 40, 9_000, 250_000]))
    cells = draw(st.lists(st.tuples(*[member] * n_items), min_size=1, max_size=40, unique=True))
    grid = np.array(cells, dtype=np.int64).reshape(-1, n_items)
    row = st.one_of(st.sampled_from(cells), st.tuples(*[st.integers(-2, 8)] * n_items))
    coords = np.array(draw(st.lists(row, max_size=40)), dtype=np.int64).reshape(-1, n_items)
    return grid, coords


@given(_grid_and_rows())
def test_table_and_search_find_the_same_cells(case):
    grid, coords = case
    index = {tuple(c): i for i, c in enumerate(grid.tolist())}
    expected = [index.get(tuple(r), -1) for r in coords.tolist()]
    assert execute._searched_positions(grid, coords).tolist() == expected
    table = execute._table_positions(grid, coords)
    if table is not None:  # refused only when members lie far apart
        assert table.tolist() == expected
    assert _grid_positions(grid, coords).tolist() == expected


def test_a_dense_grid_is_looked_up_in_a_table_and_a_sparse_one_searched():
    dense = np.array([[i, j] for i in range(-1, 30) for j in range(-1, 5)])
    assert execute._table_positions(dense, dense[::-1]).tolist() == list(range(len(dense)))[::-1]
    nested = np.array([[w, 1_000_000 + 100 * w] for w in range(50)])  # wijk x its one buurt
    assert execute._table_positions(nested, nested) is None
    assert _grid_positions(nested, nested).tolist() == list(range(50))


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


GROUPS = st.lists(  # per cell: its rollup groups' (largest, second largest or None) values
    st.lists(
        st.tuples(st.integers(-50, 50), st.one_of(st.none(), st.integers(0, 60))).map(
            lambda t: (t[0], None if t[1] is None else t[0] - t[1])
        ),
        max_size=5,
    ),
    min_size=1,
    max_size=6,
)


@given(GROUPS)
def test_top2_with_a_second_column_is_the_two_largest_of_every_group_value(cells):
    """A rollup's singles give the two largest firsts as a list and the largest second apart:
    together the two largest of all the groups' values (0 where fewer), negatives included."""
    n = len(cells)
    firsts = np.ma.masked_array(np.empty(n, dtype=object), [not c for c in cells])
    for i, c in enumerate(cells):
        firsts[i] = sorted((f for f, _ in c), reverse=True)[:2] if c else None
    seconds = np.ma.masked_array(
        [max((s for _, s in c if s is not None), default=0) for c in cells],
        [all(s is None for _, s in c) for c in cells],  # NULL: no group has a second value
    )

    # the same lists as DuckDbBackend splits them: their elements, NULL where short
    split = {
        f"top0[{k}]": np.ma.masked_array(
            [t[k - 1] if t is not None and len(t) >= k else 0 for t in np.ma.getdata(firsts)],
            [t is None or len(t) < k for t in np.ma.getdata(firsts)],
        )
        for k in (1, 2)
    }
    for tops in ({"top0": firsts}, split):

        class _R(Result):
            def __init__(self, tops=tops):
                self.cols = {**tops, "sec0": seconds}
                self.n, self.hit, self.pos = n, np.arange(n), np.arange(n)

        x1, x2 = _R().top2("top0", "sec0")
        for i, c in enumerate(cells):
            every = sorted([f for f, _ in c] + [s for _, s in c if s is not None], reverse=True)
            assert (x1[i], x2[i]) == tuple([*every, 0, 0][:2])


def test_duckdb_splits_a_list_column_once_a_run_of_the_template_showed_it():
    """A list column comes as its two elements from the second run of a statement's template
    on: the same two largest contributions, 0 where fewer contributed."""
    backend = DuckDbBackend(duckdb.connect().cursor())
    sql = Statement(
        parse_duckdb(
            "SELECT k, MAX(x, 2) AS top0, COUNT(*) AS n0 FROM (VALUES (1, 5.0), (1, 2.0), "
            "(1, 9.0), (2, 3.0), (3, NULL)) AS t(k, x) GROUP BY k ORDER BY k"
        )
    )
    first, again = backend.columns(sql), backend.columns(sql.bind())
    assert set(first) == {"k", "top0", "n0"} and set(again) == {"k", "n0", "top0[1]", "top0[2]"}
    # a compiled statement knows its list columns before it runs (cube.sql.list_columns)
    assert list_columns(sql.tree) == ("top0",)
    known = Statement(sql.tree, memo={"list_columns": list_columns(sql.tree)})
    assert backend.columns(known).keys() == again.keys()
    for cols in (first, again):

        class _R(Result):
            def __init__(self, cols=cols):
                self.cols, self.n, self.hit, self.pos = cols, 3, np.arange(3), np.arange(3)

        r = _R()
        assert r.has("top0") and not r.has("top1")
        x1, x2 = r.top2("top0")
        assert x1.tolist() == [9.0, 3.0, 0.0] and x2.tolist() == [5.0, 0.0, 0.0]
