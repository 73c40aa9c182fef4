"""``sdc.table``: helpers on cell coordinates."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sdc.table import unique_rows


def _same_as_numpy(rows: np.ndarray) -> None:
    want, want_inverse = np.unique(rows, axis=0, return_inverse=True)
    got, inverse = unique_rows(rows)
    assert np.array_equal(got, want) and got.dtype == rows.dtype
    assert np.array_equal(inverse, want_inverse.reshape(-1)) and inverse.ndim == 1
    assert np.array_equal(got[inverse], rows)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 60).flatmap(lambda n: arrays(np.int64, (n, 3), elements=st.integers(-1, 6))))
def test_unique_rows_are_numpys_in_the_same_order(rows):
    """Packed into one integer per row: the same rows, order and inverse as numpy's."""
    _same_as_numpy(rows)


def test_rows_too_wide_to_pack_fall_back_to_numpy():
    """Columns whose spans multiply past 62 bits are sorted as rows."""
    big = 2**40
    rows = np.array([[big, 0, 5], [-big, 3, 5], [big, 0, 5], [0, -(2**30), 1]], dtype=np.int64)
    _same_as_numpy(rows)


def test_rows_without_columns_or_without_rows():
    _same_as_numpy(np.zeros((0, 2), dtype=np.int64))
    got, inverse = unique_rows(np.zeros((3, 0), dtype=np.int64))
    assert got.shape == (1, 0) and inverse.tolist() == [0, 0, 0]
