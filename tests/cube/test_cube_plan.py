"""Cell coordinates of the plan (``cube/plan.py``)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from cube.plan import _role_tuples


@st.composite
def _levels_and_mask(draw):
    size = draw(st.integers(1, 40))
    # a few members (counted) or very many possible tuples (found by sorting)
    n_members = draw(st.lists(st.sampled_from([1, 3, 7, 300, 70_000]), min_size=1, max_size=3))
    levels = {}
    for i, n in enumerate(n_members):
        index = draw(st.lists(st.integers(0, n - 1), min_size=size, max_size=size))
        levels[f"l{i}"] = SimpleNamespace(
            codes=tuple(range(n)), base_index=np.asarray(index, dtype=np.int64)
        )
    mask = np.asarray(draw(st.lists(st.booleans(), min_size=size, max_size=size)))
    return levels, mask


@given(_levels_and_mask())
def test_role_tuples_are_the_distinct_member_tuples_in_order(case):
    """Counted or sorted, the rows are the distinct tuples of members of the masked base
    items, in ascending order."""
    levels, mask = case
    items = [SimpleNamespace(level=name) for name in levels]
    axis = SimpleNamespace(levels=levels)
    got = _role_tuples(items, tuple(range(len(items))), axis, mask)  # type: ignore[arg-type]
    want = sorted(
        {tuple(int(lv.base_index[b]) for lv in levels.values()) for b in np.flatnonzero(mask)}
    )
    assert got.tolist() == [list(t) for t in want]
    assert got.shape == (len(want), len(levels))
