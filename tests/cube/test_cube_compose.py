"""Custom groups (ranges, member sets, complements, relations) are sums of node cells.

The property that matters for confidentiality across answers: whatever custom group a query
asks for, its published value is the sum of the published values of the hierarchy members
that make it up, so a new group adds no equation those members did not already give, and a
group with a hidden member is hidden.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cube.compose import compose
from cube.plan import make_plan
from cube.query import Cut, Query

GM = ("GM0014", "GM0363", "GM0362")  # the whole test release: all three are the country


def cells(engine, query: Query) -> dict[tuple, tuple]:
    answer = engine.answer(query)
    return {r.members: tuple((v.value, v.status, v.reason) for v in r.values) for r in answer.rows}


def one(engine, query: Query) -> tuple:
    (only,) = cells(engine, query).values()
    return only[0]


def node_plan(engine, query: Query):
    plan = make_plan(query, engine.catalog, engine.axes_for, engine.store, engine.max_cells)
    return compose(plan, engine.axes_for(plan.cube), engine.max_cells)


def year_cut(year: str) -> Cut:
    return Cut("period", "year", members=(year,))


@pytest.mark.parametrize(
    "cuts, drilldown",
    [
        ((Cut("residence", "gemeente", members=("GM0363",)),), ()),
        ((Cut("residence", "provincie", members=("PV27",)),), ("residence@gemeente",)),
        ((year_cut("2023"),), ("residence@gemeente",)),
        ((Cut("residence", "gemeente", members=GM[:2]),), ("residence@gemeente",)),
        ((), ("residence@wijk", "period@year")),
    ],
)
def test_cells_that_are_hierarchy_members_need_no_composition(engine, cuts, drilldown):
    query = Query("drug_suspects", ("suspects",), drilldown, cuts)
    assert node_plan(engine, query) is None


@pytest.mark.parametrize(
    "cuts, drilldown, level",
    [
        ((Cut("period", "year", from_="2022", to="2023"),), ("residence@gemeente",), "year"),
        ((Cut("residence", "buurt", members=("BU00140001", "BU0363AA01")),), (), "buurt"),
        ((Cut("residence", "wijk", members=("WK001400", "WK0363AB")),), (), "wijk"),
    ],
)
def test_custom_groups_are_tiled_by_the_coarsest_whole_members(engine, cuts, drilldown, level):
    query = Query("drug_suspects", ("suspects",), drilldown, cuts)
    comp = node_plan(engine, query)
    assert comp is not None and len(comp.tiles) == 1
    assert any(it.level == level for it in comp.tiles[0].plan.items[len(drilldown) :])


def tiles(engine, comp) -> dict[str, list[str]]:
    """Per level of a group tiled at several levels, the codes of its nodes."""
    out: dict[str, list[str]] = {}
    for tile in comp.tiles:
        for role, level, members in tile.nodes:
            codes = engine.axes_for(tile.plan.cube)[role].levels[level].codes
            out.setdefault(level, []).extend(codes[m] for m in members)
    return out


@pytest.mark.parametrize(
    "cut, drilldown, expected",
    [
        # the country but a wijk: the other provincie whole, the other wijk of its gemeente
        (
            Cut("residence", "wijk", members=("WK001400",), exclude=True),
            (),
            {"provincie": ["PV27"], "wijk": ["WK001401"]},
        ),
        # a member set that holds a whole provincie
        (
            Cut("residence", "gemeente", members=GM[:2]),
            (),
            {"provincie": ["PV20"], "gemeente": ["GM0363"]},
        ),
        # by gemeente, every node lies within one cell: Noord-Holland is not taken whole
        # (Groningen is: the test release holds one gemeente of it)
        (
            Cut("residence", "buurt", members=("BU0363AA01",), exclude=True),
            ("residence@gemeente",),
            {
                "provincie": ["PV20"],
                "gemeente": ["GM0362"],
                "wijk": ["WK0363AB"],
                "buurt": ["BU0363AA02"],
            },
        ),
        # ages: a broad group whole (coarsest first), then a five-year band, then years
        (
            Cut("age", "single", from_="12", to="29"),
            (),
            {"broad": ["15-24"], "band5": ["25-29"], "single": ["12", "13", "14"]},
        ),
    ],
)
def test_a_group_is_tiled_by_whole_members_of_several_levels(engine, cut, drilldown, expected):
    query = Query("drug_suspects", ("suspects",), drilldown, (cut, year_cut("2023")))
    comp = node_plan(engine, query)
    assert comp is not None
    assert {lv: sorted(codes) for lv, codes in tiles(engine, comp).items()} == expected


@pytest.mark.parametrize(
    "group, nodes, published",
    [
        (
            Cut("region", "wijk", members=("WK001400",), exclude=True),
            [Cut("region", "provincie", ("PV27",)), Cut("region", "wijk", ("WK001401",))],
            True,  # the test release's inhabitants of both are published
        ),
        (
            Cut("age", "single", from_="12", to="29"),
            [
                Cut("age", "broad", ("15-24",)),
                Cut("age", "band5", ("25-29",)),
                Cut("age", "single", ("12", "13", "14")),
            ],
            False,  # a few single years hold too few inhabitants: the group is hidden
        ),
    ],
)
def test_a_group_is_the_sum_of_the_members_that_tile_it(engine, group, nodes, published):
    """Asked as a group, the figure is its nodes' published values added (no noise of its
    own); a hidden node hides it."""
    period = year_cut("2023")
    measures = ("inhabitants", "inhabitants_single_parent")

    def ask(cut: Cut) -> tuple:
        return cells(engine, Query("population", measures, (), (cut, period)))[()]

    whole = ask(group)
    parts = [ask(cut) for cut in nodes]
    for k in range(len(measures)):
        if any(n[k][1] == "suppressed" for n in parts):
            assert whole[k] == (None, "suppressed", "derived")
        else:
            assert whole[k][0] == pytest.approx(sum(n[k][0] for n in parts))
    assert (whole[0][1] != "suppressed") is published


def test_a_tiled_rate_takes_its_denominator_from_the_same_nodes(engine):
    period = year_cut("2023")
    complement = Cut("residence", "wijk", members=("WK001400",), exclude=True)
    rate = Query("drug_suspects", ("suspects", "population.inhabitants"), (), (complement, period))
    comp = node_plan(engine, rate)
    assert comp is not None and len(comp.tiles) == 2
    got = cells(engine, rate)[()]
    nodes = [
        cells(engine, Query("drug_suspects", rate.measures, (), (cut, period)))[()]
        for cut in (
            Cut("residence", "provincie", members=("PV27",)),
            Cut("residence", "wijk", members=("WK001401",)),
        )
    ]
    for k in range(2):
        if all(n[k][1] != "suppressed" for n in nodes):
            assert got[k][0] == pytest.approx(sum(n[k][0] for n in nodes))
        else:
            assert got[k][1] == "suppressed"


def test_a_role_a_part_does_not_break_down_by_is_tiled_at_one_level(engine):
    """The population has one region, here the residence's: an offence group is tiled at one
    level, so that the denominator, the same for every node, is counted once."""
    offence = Cut("offence", "wijk", members=("WK001400",), exclude=True)
    query = Query(
        "drug_suspects",
        ("population.inhabitants",),
        ("residence@gemeente",),
        (offence, year_cut("2023")),
    )
    comp = node_plan(engine, query)
    assert comp is not None and len(comp.tiles) == 1 and comp.tiles[0].nodes == ()
    alone = Query("drug_suspects", query.measures, query.drilldown, (year_cut("2023"),))
    assert cells(engine, query) == cells(engine, alone)
    # without the residence, the population is that of the offence region's nodes
    by_offence = Query("drug_suspects", query.measures, (), (offence, year_cut("2023")))
    assert len(node_plan(engine, by_offence).tiles) == 2


def test_a_member_set_is_the_sum_of_its_members(engine):
    period = year_cut("2023")
    for measure in ("registrations", "suspects", "amount"):
        cube = "transactions" if measure == "amount" else "drug_suspects"
        role = "region" if cube == "transactions" else "residence"
        union = one(
            engine, Query(cube, (measure,), (), (Cut(role, "gemeente", members=GM[:2]), period))
        )
        parts = [
            one(engine, Query(cube, (measure,), (), (Cut(role, "gemeente", members=(g,)), period)))
            for g in GM[:2]
        ]
        if any(p[1] == "suppressed" for p in parts):
            assert union == (None, "suppressed", "derived")
        else:
            assert union[0] == pytest.approx(sum(p[0] for p in parts))
            assert union[1] == ("safe" if all(p[1] == "safe" for p in parts) else "perturbed")


def test_overlapping_groups_differ_by_exactly_the_published_member(engine):
    """{G, H} minus {H} is G's own published value: no new noise, no new equation."""
    period = year_cut("2023")

    def value(members):
        q = Query(
            "drug_suspects",
            ("registrations",),
            (),
            (Cut("residence", "gemeente", members=members), period),
        )
        return one(engine, q)

    gh, h, g = value(GM[:2]), value(GM[1:2]), value(GM[:1])
    if g[1] == "suppressed" or h[1] == "suppressed":
        assert gh[1] == "suppressed"
    else:
        assert gh[0] - h[0] == g[0]


def test_a_range_is_the_sum_of_its_years_and_margins_add_up(engine):
    query = Query(
        "drug_suspects",
        ("registrations",),
        ("residence@gemeente", "period@year"),
        (Cut("period", "year", from_="2022", to="2023"),),
        totals="margins",
    )
    got = cells(engine, query)
    for gm in GM:
        years = [got[(gm, y)][0] for y in ("2022", "2023")]
        total = got[(gm, None)][0]
        if any(v[1] == "suppressed" for v in (got[(gm, "2022")][0], got[(gm, "2023")][0])):
            assert total[1] == "suppressed"
        else:
            assert total[0] == sum(v[0] for v in years)


def test_a_denominator_broadcast_over_a_role_is_counted_once(engine):
    """A rate over an offence-region group: the population cube has no offence role, so its
    denominator is the same for every member and must not be summed once per member."""
    period = year_cut("2023")
    measures = ("population.inhabitants",)
    group = Cut("offence", "gemeente", members=GM)
    got = cells(engine, Query("drug_suspects", measures, ("residence@gemeente",), (group, period)))
    alone = cells(engine, Query("drug_suspects", measures, ("residence@gemeente",), (period,)))
    assert got and got == {key: alone[key] for key in got}


def test_a_group_with_a_hidden_member_is_hidden(engine):
    """Every gemeente but one, by buurt: if any buurt is suppressed the group is too."""
    query = Query(
        "drug_suspects",
        ("suspects",),
        (),
        (
            Cut("residence", "buurt", members=("BU00140001", "BU0363AA01", "BU03620101")),
            year_cut("2023"),
        ),
    )
    value, status, reason = one(engine, query)
    parts = [
        one(
            engine,
            Query(
                "drug_suspects",
                ("suspects",),
                (),
                (Cut("residence", "buurt", members=(b,)), year_cut("2023")),
            ),
        )
        for b in ("BU00140001", "BU0363AA01", "BU03620101")
    ]
    if any(p[1] == "suppressed" for p in parts):
        assert (value, status, reason) == (None, "suppressed", "derived")
    else:
        assert math.isclose(value, sum(p[0] for p in parts))


def test_the_last_years_of_the_release_are_a_pooled_population(engine):
    """The last 3 years pool into one population (distinct contributors, own noise); the
    test release has 2022-2023 only, so a window is checked on the axis directly."""
    from cube.compose import pooled_window

    both = Cut("period", "year", from_="2022", to="2023")
    query = Query("drug_suspects", ("suspects",), (), (both,))
    plan = make_plan(query, engine.catalog, engine.axes_for, engine.store, engine.max_cells)
    axis = engine.axes_for(plan.cube)["period"]
    years = axis.levels["year"].base_index
    n = len(axis.levels["year"].codes)
    assert not pooled_window(axis, plan.masks["period"])  # all years: the whole role
    if n > 3:
        assert pooled_window(axis, years >= n - 3)
        assert not pooled_window(axis, (years >= n - 4) & (years < n - 1))


@given(
    st.lists(st.integers(0, 40), min_size=1, max_size=60),
    st.data(),
    st.sampled_from([1, 10**7]),
)
def test_partial_cells_are_the_cells_a_mask_covers_in_part(keys, data, scale):
    """Both ways of counting (bincount for small keys, sorting for large ones) find exactly the
    cells some but not all of whose base items the mask keeps."""
    from cube.compose import _partial_cells

    key = np.asarray(keys, dtype=np.int64) * scale
    mask = np.asarray(data.draw(st.lists(st.booleans(), min_size=len(keys), max_size=len(keys))))
    expected = sorted({int(k) for k in key if mask[key == k].any() and not mask[key == k].all()})
    dense = scale == 1  # counted by bincount, with the counts of the whole base given
    n_all = np.bincount(key) if dense else None
    assert _partial_cells(key, mask, n_all).tolist() == expected


@st.composite
def _axis_mask_levels(draw):
    """A small role: a base of items, a few levels (any map of the base to members, nested or
    not), a mask over the base and the levels a grouping set keeps."""
    from types import SimpleNamespace

    size = draw(st.integers(1, 30))
    n_levels = draw(st.integers(1, 3))
    levels = {}
    for i in range(n_levels):
        n_members = draw(st.integers(1, 6))
        index = draw(st.lists(st.integers(0, n_members - 1), min_size=size, max_size=size))
        codes = tuple(f"m{j}" for j in range(n_members))
        levels[f"l{i}"] = SimpleNamespace(base_index=np.asarray(index, np.int64), codes=codes)
    role = SimpleNamespace(dimension=SimpleNamespace(id="attribute"), levels=tuple(levels))
    axis = SimpleNamespace(role=role, base_size=size, levels=levels)
    mask = np.asarray(draw(st.lists(st.booleans(), min_size=size, max_size=size)))
    kept = draw(st.lists(st.sampled_from(sorted(levels)), max_size=2, unique=True))
    return axis, mask, kept


@given(_axis_mask_levels())
def test_all_nodes_is_every_partial_cell_one_whole_member_of_one_level(case):
    """Said directly with sets: every cell the mask covers in part keeps, within the mask,
    exactly the base items of one member of one level (the same level for all of them)."""
    from cube.compose import _all_nodes

    axis, mask, kept = case
    cell_of = [
        tuple(int(axis.levels[lv].base_index[b]) for lv in kept) for b in range(axis.base_size)
    ]
    cells = {}
    for b, c in enumerate(cell_of):
        cells.setdefault(c, set()).add(b)
    inside = {c: {b for b in items if mask[b]} for c, items in cells.items()}
    partial = [c for c in cells if inside[c] and inside[c] != cells[c]]

    def members(lv):
        out = {}
        for b, m in enumerate(axis.levels[lv].base_index.tolist()):
            out.setdefault(m, set()).add(b)
        return list(out.values())

    expected = not partial or any(
        all(inside[c] in members(lv) for c in partial) for lv in axis.levels
    )
    assert _all_nodes(axis, mask, kept) is expected


@pytest.mark.parametrize("drilldown", ["region@gemeente", "region@politie_eenheid"])
def test_a_group_of_no_cells_is_an_empty_answer(engine, drilldown):
    """The wijken of a gemeente the release has none of, with a member set on another role
    (a custom group there too): nothing to fold, an answer without rows, not an error."""
    query = Query(
        "population",
        ("inhabitants",),
        (drilldown,),
        (
            Cut("region", "wijk", relation="descendants", of="GM0109"),
            year_cut("2023"),
            Cut("income", "quintile", members=("1", "2", "3", "4", "unknown")),
        ),
    )
    assert engine.answer(query).total_rows == 0


@given(_axis_mask_levels(), st.booleans())
def test_a_tiling_is_whole_disjoint_members_within_one_cell_each(case, with_base):
    """Said directly with sets: the nodes of every level are members wholly inside the mask,
    no base item lies in two nodes, together they are the mask, and each lies within one
    cell; with a level of single base items (the buurt) every mask is tiled."""
    from types import SimpleNamespace

    from cube.compose import tiling

    axis, mask, kept = case
    if with_base:
        base = SimpleNamespace(
            base_index=np.arange(axis.base_size, dtype=np.int64),
            codes=tuple(f"b{j}" for j in range(axis.base_size)),
        )
        levels = {**axis.levels, "base": base}
        role = SimpleNamespace(dimension=axis.role.dimension, levels=tuple(levels))
        axis = SimpleNamespace(role=role, base_size=axis.base_size, levels=levels)
    got = tiling(axis, mask, kept)
    if with_base and mask.any():
        assert got
    covered = np.zeros(axis.base_size, dtype=int)
    for level, members in got:
        index = axis.levels[level].base_index
        for m in members:
            items = index == m
            assert items.any() and mask[items].all()  # whole, inside the mask
            cells = {
                tuple(int(axis.levels[k].base_index[b]) for k in kept)
                for b in np.flatnonzero(items)
            }
            assert len(cells) == 1  # within one cell
            covered += items
    if got:
        assert (covered == mask).all()  # disjoint (no item twice) and the whole mask


def _pairs_by_dict(tile, answer_grid, node_coords, node_grid):
    """What ``cube.compose._pairs`` gives, spelled out row by row."""
    out = []
    for gs, node_set in tile.source:
        for n, node in enumerate(node_grid.tolist()):
            if [d for d, v in enumerate(node) if v >= 0] != list(node_set):
                continue
            for a, row in enumerate(answer_grid.tolist()):
                on = [d for d, v in enumerate(row) if v >= 0]
                if on == list(gs) and all(row[d] == node_coords[n][d] for d in gs):
                    out.append((a, n))
    return sorted(out)


@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=12),
    st.lists(st.tuples(st.integers(0, 4), st.integers(0, 3), st.integers(0, 2)), max_size=30),
)
def test_node_cells_meet_the_answer_cells_of_their_keys(members, nodes):
    """Each node cell of a tile meets the answer cell whose items of the answer's grouping
    set hold its own members (a node cell's extra item breaks a group into nodes)."""
    from cube.compose import Tile, _pairs

    answer = sorted({(a, b) for a, b in members})
    answer_grid = np.array(
        [*answer, *{(a, -1) for a, _ in answer}, *{(-1, b) for _, b in answer}, (-1, -1)],
        dtype=np.int64,
    )
    base = np.array(sorted(set(nodes)) or [(0, 0, 0)], dtype=np.int64)  # (a, b, node)
    margin, grand = base.copy(), base.copy()
    margin[:, 1] = -1  # the nodes of the margin over item 1
    grand[:, :2] = -1  # and of the grand total
    node_grid = np.unique(np.concatenate([base, margin, grand]), axis=0)
    tile = Tile(None, (((0, 1), (0, 1, 2)), ((0,), (0, 2)), ((), (2,))))  # type: ignore[arg-type]
    got_a, got_n = _pairs(tile, answer_grid, node_grid[:, :2], node_grid)
    assert sorted(zip(got_a.tolist(), got_n.tolist(), strict=True)) == _pairs_by_dict(
        tile, answer_grid, node_grid[:, :2], node_grid
    )


@pytest.mark.parametrize(
    "cube,role,reference",
    [
        ("drug_suspects", "first_registration", "population.inhabitants"),
        ("transactions", "cash", "dwellings.dwellings"),
        ("dwellings", "doorsluis", "transactions.transactions"),
    ],
)
def test_a_flag_of_one_cube_is_not_read_as_another_cubes_flag(engine, cube, role, reference):
    """Yes/no roles mean something of their own in each cube: first registrations are not the
    inhabitants suspected before (the reverse, rather), cash payments are not doorsluis
    dwellings. Another cube's figure by such a role is its figure for all members alike."""
    period = year_cut("2023")
    region = "residence@gemeente" if cube == "drug_suspects" else "region@gemeente"
    by_flag = cells(engine, Query(cube, (reference,), (region, role), (period,)))
    alone = cells(engine, Query(cube, (reference,), (region,), (period,)))
    assert by_flag and {k[1] for k in by_flag} == {"yes", "no"}
    assert all(cell == alone[(k[0],)] for k, cell in by_flag.items())


def test_other_roles_still_map_onto_the_reference_cubes_role_of_their_dimension(engine):
    from cube.plan import other_role

    cubes = engine.catalog.cubes
    assert other_role(cubes["drug_suspects"], cubes["population"], "residence").id == "region"
    assert other_role(cubes["plantations"], cubes["population"], "resident_age").id == "age"
    assert other_role(cubes["transactions"], cubes["dwellings"], "cash") is None
    assert other_role(cubes["drug_suspects"], cubes["population"], "first_registration") is None
