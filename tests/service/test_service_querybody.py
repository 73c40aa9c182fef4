"""Query bodies parsed without marshmallow (``service/querybody.py``): a body parsed there is
exactly the ``Query`` the schema makes of it, and every other body, valid or not, is decided
by the schema with all its problems."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.startup import QUERY
from cube.errors import InvalidQuery
from cube.query import Cut, Query
from service.querybody import MAX_DRILLDOWN, load_query, plain_query
from service.schemas import load_checked

CUBE = "drug_suspects"

# Mostly valid values, and values near every check: invalid names, codes, lengths, integer
# bounds, the JSON types marshmallow converts (numbers as text, 0/1 as booleans) and a trailing
# line break, which ``$`` accepts in both.
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from([0, 1, -1, 100_000, 100_001, 10_000_000, 10_000_001, 1.0, 2.5, "1", "x"]),
)


def mostly(valid, *noise):
    return st.one_of(*[valid] * 12, *noise, scalars)


name = mostly(
    st.sampled_from(["residence", "period", "a_1"]), st.sampled_from(["R", "1a", "", "x\n"])
)
measure = mostly(
    st.sampled_from(["suspects", "population.inhabitants", "a_b"]),
    st.sampled_from(["a.b.c", "x@y", "suspects\n", "S"]),
)
drill = mostly(
    st.sampled_from(["residence@gemeente", "period@year", "residence"]),
    st.sampled_from(["a@B", "a@b@c", "a@b\n"]),
)
code = mostly(
    st.sampled_from(["GM0363", "PV27", "2023", "a-b_c.d"]),
    st.sampled_from(["-x", "", "x" * 41, "x" * 40, "GM0363\n"]),
)


def items(element, least=0, most=4):
    return mostly(st.lists(element, min_size=least, max_size=most), st.lists(element, max_size=60))


cut = st.fixed_dictionaries(
    {"dimension": name, "level": name, "members": items(code, least=1)},
    optional={
        "exclude": mostly(st.booleans()),
        "from": code,
        "relation": st.sampled_from(["neighbours", "peers", "x"]),
        "unknown": scalars,
    },
)
body = st.fixed_dictionaries(
    {"measures": items(measure, least=1)},
    optional={
        "cube": mostly(st.just(CUBE), st.sampled_from(["population", "Drug"])),
        "drilldown": items(drill),
        "cuts": items(cut, most=3),
        "totals": mostly(st.sampled_from(["none", "grand", "margins"]), st.just("all")),
        "limit": mostly(st.integers(1, 100_000) | st.none(), st.integers(-5, 200_000)),
        "offset": mostly(st.integers(0, 10_000_000), st.integers(-5, 20_000_000)),
        "lang": mostly(st.sampled_from(["nl", "en"]), st.just("de")),
        "order": st.just([]),
        "format": scalars,
    },
)


valid_cut = st.fixed_dictionaries(
    {
        "dimension": st.sampled_from(["residence", "period"]),
        "level": st.sampled_from(["gemeente", "year"]),
        "members": st.lists(st.sampled_from(["GM0363", "PV27", "2023", "a-b_c.d"]), min_size=1),
    },
    optional={"exclude": st.booleans()},
)
valid_body = st.fixed_dictionaries(
    {"measures": st.lists(st.sampled_from(["suspects", "population.inhabitants"]), min_size=1)},
    optional={
        "cube": st.just(CUBE),
        "drilldown": st.lists(st.sampled_from(["residence@gemeente", "period@year"]), max_size=3),
        "cuts": st.lists(valid_cut, max_size=3),
        "totals": st.sampled_from(["none", "grand", "margins"]),
        "limit": st.integers(1, 100_000) | st.none(),
        "offset": st.integers(0, 10_000_000),
        "lang": st.sampled_from(["nl", "en"]),
    },
)


def _checked(data):
    try:
        return load_checked(CUBE, data)
    except InvalidQuery:
        return None


@settings(max_examples=600, deadline=None)
@given(body)
def test_a_body_parsed_here_is_what_the_schema_makes_of_it(data):
    plain = plain_query(CUBE, data)
    if plain is not None:
        assert _checked(data) == plain


@settings(max_examples=300, deadline=None)
@given(valid_body)
def test_a_valid_body_of_plain_fields_is_parsed_here(data):
    plain = plain_query(CUBE, data)
    assert plain is not None and plain == load_checked(CUBE, data)


@pytest.mark.parametrize(
    ("data", "want"),
    [
        (QUERY, Query(CUBE, ("suspects",), ("residence@provincie",))),
        (
            {
                "cube": CUBE,
                "measures": ["suspects", "population.inhabitants"],
                "drilldown": ["residence@gemeente", "period@year"],
                "cuts": [
                    {"dimension": "residence", "level": "provincie", "members": ["PV27", "PV27"]},
                    {"dimension": "period", "level": "year", "members": ["2023"], "exclude": True},
                ],
                "totals": "margins",
                "limit": None,
                "offset": 10,
                "lang": "en",
            },
            Query(
                CUBE,
                ("suspects", "population.inhabitants"),
                ("residence@gemeente", "period@year"),
                (
                    Cut("residence", "provincie", ("PV27",)),
                    Cut("period", "year", ("2023",), exclude=True),
                ),
                totals="margins",
                offset=10,
                lang="en",
            ),
        ),
    ],
)
def test_common_bodies_are_parsed_here(data, want):
    assert plain_query(CUBE, data) == want == load_checked(CUBE, data)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        (field, value)
        for field, values in {
            "limit": [0, 1, 100_000, 100_001, None, True, 5.0, "5"],
            "offset": [-1, 0, 10_000_000, 10_000_001, None, False],
            "measures": [[], ["m"] * 50, ["m"] * 51, ["m\n"], ["M"], "m"],
            "drilldown": [[], ["a@b"] * MAX_DRILLDOWN, ["a@b"] * (MAX_DRILLDOWN + 1), [None]],
            "cuts": [
                [{"dimension": "a", "level": "b", "members": ["x"] * 1000}],
                [{"dimension": "a", "level": "b", "members": ["x"] * 1001}],
                [{"dimension": "a", "level": "b", "members": ["x"], "exclude": 1}],
                [{"dimension": "a", "level": "b", "members": []}],
                [{"dimension": "a", "level": "b", "members": ["x" * 40]}],
                [{"dimension": "a", "level": "b", "members": ["x" * 41]}],
            ],
            "totals": ["margins", "MARGINS", None],
            "lang": ["en", "EN", None],
        }.items()
        for value in values
    ],
)
def test_bounds_are_the_schemas(field, value):
    data = {"measures": ["m"], field: value}
    plain = plain_query(CUBE, data)
    assert plain is None or plain == _checked(data)
    if _checked(data) is None:
        assert plain is None


@pytest.mark.parametrize(
    "data",
    [
        {
            "measures": ["suspects"],
            "cuts": [{"dimension": "period", "level": "year", "from": "2020"}],
        },
        {"measures": ["suspects"], "order": [{"by": "suspects", "desc": True}]},
        {"measures": ["suspects"], "limit": "10"},
    ],
)
def test_other_valid_bodies_go_to_the_schema(data):
    assert plain_query(CUBE, data) is None
    assert load_query(CUBE, data) == load_checked(CUBE, data)


def test_an_invalid_body_gets_every_problem_from_the_schema():
    data = {"measures": [], "drilldown": ["Residence"], "limit": 0, "colour": "red"}
    with pytest.raises(InvalidQuery) as got:
        load_query(CUBE, data)
    with pytest.raises(InvalidQuery) as want:
        load_checked(CUBE, data)
    assert got.value.problems == want.value.problems
    assert {p.location for p in got.value.problems} >= {
        "measures",
        "drilldown[0]",
        "limit",
        "colour",
    }
