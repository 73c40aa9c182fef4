"""Level axes (``cube/axes.py``): member positions by code."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from cube.axes import LevelAxis


def _axis(codes: tuple[str, ...]) -> LevelAxis:
    return LevelAxis("buurt", codes, (), codes, np.zeros(0, dtype=np.int64), lambda t: t)


@given(st.lists(st.sampled_from(["BU1", "BU2", "BU3", "WK1", "2023", ""]), max_size=8))
def test_a_code_is_found_where_a_search_finds_it_first(codes):
    axis = _axis(tuple(codes))
    for code in ["BU1", "BU2", "BU3", "WK1", "2023", "", "GM0363"]:
        want = codes.index(code) if code in codes else None
        assert axis.index_of(code) == want
        assert axis.positions().get(code) == want


def test_positions_are_built_once_per_axis():
    axis = _axis(tuple(f"BU{i:08d}" for i in range(14_000)))
    assert axis.positions() is axis.positions()
    assert axis.index_of("BU00013999") == 13_999
    other = _axis(("BU00013999",))
    assert other.index_of("BU00013999") == 0  # another axis, its own positions
