"""Cell coordinates and parts of the plan (``cube/plan.py``)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cube.axes import LevelAxis, RoleAxis
from cube.plan import KeyFilter, _role_tuples, coarsest
from cube.query import Cut, Query


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


@st.composite
def _regions_and_filter(draw):
    """A small region hierarchy (buurten in wijken in gemeenten, the land as a constant) and a
    filter on one of its levels."""
    n_buurten = draw(st.integers(1, 24))
    wijk_of = draw(st.lists(st.integers(0, 7), min_size=n_buurten, max_size=n_buurten))
    gemeente_of_wijk = draw(st.lists(st.integers(0, 3), min_size=8, max_size=8))
    parents = {
        "land": [0] * n_buurten,
        "gemeente": [gemeente_of_wijk[w] for w in wijk_of],
        "wijk": wijk_of,
        "buurt": list(range(n_buurten)),
    }
    levels = {}
    for level, index in parents.items():
        n = max(index) + 1
        levels[level] = LevelAxis(
            level, tuple(f"{level}{i}" for i in range(n)), (), tuple(range(1, n + 1)),
            np.asarray(index, dtype=np.int64), lambda t: t,
        )  # fmt: skip
    role = SimpleNamespace(dimension=SimpleNamespace(id="region"))
    axis = RoleAxis(role, n_buurten, levels)  # type: ignore[arg-type]
    level = draw(st.sampled_from(["gemeente", "wijk", "buurt"]))
    keys = draw(st.lists(st.sampled_from(levels[level].keys), min_size=1, unique=True))
    return axis, KeyFilter("region", level, tuple(keys), draw(st.booleans()))


def _kept(axis: RoleAxis, f: KeyFilter) -> np.ndarray:
    lax = axis.levels[f.level]
    inside = np.isin(np.asarray(lax.keys)[lax.base_index], f.keys)
    return ~inside if f.exclude else inside


@given(_regions_and_filter())
def test_a_region_filter_is_read_through_the_fewest_keys_keeping_the_same_base_items(case):
    """``coarsest`` keeps exactly the base items (so the fact rows) the filter keeps, through
    no more keys, and no level keeps them with fewer; None only for a filter keeping all."""
    axis, f = case
    g = coarsest(f, axis)
    if g is None:
        assert _kept(axis, f).all() and not f.exclude
        return
    assert np.array_equal(_kept(axis, g), _kept(axis, f))
    assert g.exclude == f.exclude and len(g.keys) <= len(f.keys) and g.level != "land"
    for level, lax in axis.levels.items():
        if level == "land":
            continue
        named = np.unique(lax.base_index[_kept(axis, f) != f.exclude])
        other = KeyFilter("region", level, tuple(lax.keys[i] for i in named), f.exclude)
        if len(named) and np.array_equal(_kept(axis, other), _kept(axis, f)):
            assert len(g.keys) <= len(other.keys), (level, g)


YEAR = Cut("period", "year", members=("2023",))
LIVES = Cut("residence", "gemeente", members=("GM0014",))
OFFENDS = Cut("offence", "gemeente", members=("GM0363",))


def _values(engine, query: Query) -> dict[tuple, tuple]:
    return {r.members: tuple(v.value for v in r.values) for r in engine.answer(query).rows}


def _inhabitants(engine, gemeente: str) -> float:
    query = Query(
        "population",
        ("inhabitants",),
        (),
        (Cut("region", "gemeente", members=(gemeente,)), YEAR),
    )
    ((value,),) = _values(engine, query).values()
    return value


@pytest.mark.parametrize("cuts", [(LIVES, OFFENDS, YEAR), (OFFENDS, YEAR, LIVES)])
def test_a_population_follows_the_residence_whatever_order_the_cuts_come_in(engine, cuts):
    """Suspects living in one gemeente who offended in another: the population beside them is
    the residence's, however the query orders its cuts."""
    query = Query("drug_suspects", ("suspects", "population.inhabitants"), (), cuts)
    ((_, inhabitants),) = _values(engine, query).values()
    assert inhabitants == _inhabitants(engine, "GM0014")


@pytest.mark.parametrize(
    "drilldown",
    [("residence@gemeente", "offence@gemeente"), ("offence@gemeente", "residence@gemeente")],
)
def test_a_population_follows_the_residence_whatever_order_the_drilldown_names(engine, drilldown):
    query = Query("drug_suspects", ("population.inhabitants",), drilldown, (YEAR,))
    got = _values(engine, query)
    at = drilldown.index("residence@gemeente")
    assert got and all(value == (_inhabitants(engine, key[at]),) for key, value in got.items())


@pytest.mark.parametrize("first", ["residence", "offence"])
def test_a_population_follows_the_residence_beside_an_offence_group(engine, first):
    """An offence group (the country but a wijk) is tiled by its members; the population stays
    the residence's, counted once."""
    group = Cut("offence", "wijk", members=("WK001400",), exclude=True)
    cuts = (LIVES, group, YEAR) if first == "residence" else (group, LIVES, YEAR)
    query = Query("drug_suspects", ("suspects", "population.inhabitants"), (), cuts)
    ((_, inhabitants),) = _values(engine, query).values()
    assert inhabitants == _inhabitants(engine, "GM0014")


def test_a_population_is_the_residence_s_when_the_answer_only_cuts_the_residence(engine):
    """Residents of one gemeente by offence gemeente: each row's population is that of the
    residence (the people the suspects are drawn from), not that of the offence gemeente;
    without the residence, it is the offence gemeente's."""
    by_offence = ("offence@gemeente",)
    got = _values(
        engine, Query("drug_suspects", ("population.inhabitants",), by_offence, (LIVES, YEAR))
    )
    assert len(got) == 3 and set(got.values()) == {(_inhabitants(engine, "GM0014"),)}
    alone = _values(
        engine, Query("drug_suspects", ("population.inhabitants",), by_offence, (YEAR,))
    )
    assert alone == {key: (_inhabitants(engine, key[0]),) for key in alone}
