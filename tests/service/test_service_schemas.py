"""Request → frozen Query: GET and POST forms, every problem collected, canonical form."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from cube.errors import InvalidQuery
from cube.query import Cut, Derived, Order, Query, Ranking
from service.query_params import parse_args, parse_cut
from service.schemas import canonical, load_query


def from_get(**params) -> Query:
    items = [(k, v) for k, vs in params.items() for v in (vs if isinstance(vs, list) else [vs])]
    body, problems = parse_args(MultiDict(items))
    return load_query("drug_suspects", body, problems)


@pytest.mark.parametrize(
    ("text", "cut"),
    [
        ("residence@provincie:PV30", Cut("residence", "provincie", members=("PV30",))),
        (
            "residence@gemeente:GM0363,GM0599",
            Cut("residence", "gemeente", members=("GM0363", "GM0599")),
        ),
        ("period@year:2019..2023", Cut("period", "year", from_="2019", to="2023")),
        ("period@year:2020..", Cut("period", "year", from_="2020")),
        ("period@year:..2020", Cut("period", "year", to="2020")),
        ("!sector@section:K", Cut("sector", "section", members=("K",), exclude=True)),
        (
            "residence@gemeente:neighbours(GM0363)",
            Cut("residence", "gemeente", relation="neighbours", of="GM0363"),
        ),
        (
            "residence@gemeente:peers(GM0363,self)",
            Cut("residence", "gemeente", relation="peers", of="GM0363", include_self=True),
        ),
        (
            "residence@wijk:descendants(GM0363)",
            Cut("residence", "wijk", relation="descendants", of="GM0363"),
        ),
    ],
)
def test_every_cut_kind_in_get_syntax(text, cut):
    assert from_get(measures="suspects", cut=text).cuts == (cut,)


def test_get_and_post_forms_build_the_same_query():
    get = from_get(
        measures="suspects,population.inhabitants",
        drilldown="residence@gemeente,period@year",
        cut=["residence@provincie:PV30", "period@year:2019..2023"],
        totals="margins",
        order="-suspects,period@year",
        limit="100",
        offset="0",
        derived="rate:suspects/population.inhabitants*10000",
        ranking="suspects,rate",
        ranking_method="zscore",
        option="rounding:5",
        lang="en",
    )
    post = load_query(
        "drug_suspects",
        {
            "measures": ["suspects", "population.inhabitants"],
            "drilldown": ["residence@gemeente", "period@year"],
            "cuts": [
                {"dimension": "residence", "level": "provincie", "members": ["PV30"]},
                {"dimension": "period", "level": "year", "from": "2019", "to": "2023"},
            ],
            "totals": "margins",
            "order": [{"by": "suspects", "desc": True}, {"by": "period@year"}],
            "limit": 100,
            "offset": 0,
            "derived": [
                {
                    "name": "rate",
                    "numerator": "suspects",
                    "denominator": "population.inhabitants",
                    "per": 10000,
                }
            ],
            "ranking": {"measures": ["suspects", "rate"], "method": "zscore"},
            "options": {"rounding": "5"},
            "lang": "en",
        },
    )
    assert get == post
    assert post.derived == (Derived("rate", "suspects", "population.inhabitants", 10000.0),)
    assert post.ranking == Ranking(("suspects", "rate"), "zscore")
    assert post.order[0] == Order("suspects", True)


def test_get_problems_and_schema_problems_come_together():
    with pytest.raises(InvalidQuery) as info:
        from_get(
            measures="Bad-Name",
            cut=["nonsense", "period@year:.."],
            totals="x",
            limit=["1", "2"],
            derived="broken",
            surprise="1",
        )
    locations = {p.location for p in info.value.problems}
    assert {
        "query.surprise",
        "query.cut[0]",
        "query.cut[1]",
        "query.limit",
        "query.derived[0]",
        "measures[0]",
        "totals",
    } <= locations


def test_cut_needs_exactly_one_form():
    for cut in (
        {"dimension": "period", "level": "year"},
        {"dimension": "period", "level": "year", "members": ["2020"], "from": "2019"},
        {"dimension": "residence", "level": "gemeente", "relation": "neighbours"},
        {"dimension": "residence", "level": "gemeente", "members": ["GM0363"], "of": "GM0363"},
    ):
        with pytest.raises(InvalidQuery):
            load_query("c", {"measures": ["m"], "cuts": [cut]})


def test_body_cube_must_match_path_and_unknown_fields_are_rejected():
    with pytest.raises(InvalidQuery) as info:
        load_query("drug_suspects", {"cube": "population", "measures": ["m"], "extra": 1})
    assert {p.location for p in info.value.problems} == {"cube", "extra"}
    with pytest.raises(InvalidQuery):
        load_query("c", "not an object")


def test_canonical_ignores_cut_and_member_order_but_not_measure_order():
    a = from_get(measures="a,b", cut=["x@l:B,A", "y@l:1..2"])
    b = from_get(measures="a,b", cut=["y@l:1..2", "x@l:A,B"])
    c = from_get(measures="b,a", cut=["x@l:A,B", "y@l:1..2"])
    assert canonical(a) == canonical(b) != canonical(c)


def test_parse_cut_rejects_malformed():
    for bad in ("nodim", "dim:1", "dim@lvl:", "dim@lvl:.."):
        with pytest.raises(ValueError):
            parse_cut(bad)
