"""Guidance: the rewrites of a mostly suppressed view, and the resource that answers them."""

from __future__ import annotations

import pytest

from service.app import create_app
from service.guidance import alternatives, coarser_level, fewer_breakdowns, pool_periods
from service.settings import Settings
from tests.dashboard.dashboard_fixtures import build_home

MAP = (
    ("measures", "suspects"),
    ("drilldown", "residence@gemeente"),
    ("cut", "period@year:2024"),
)
REGION, PERIOD = frozenset({"residence", "offence"}), frozenset({"period"})


def test_pooling_widens_the_year_to_three_years_not_before_the_first():
    assert pool_periods(MAP, 2015) is not None
    pooled = pool_periods(MAP, 2015)
    assert pooled.params[2] == ("cut", "period@year:2022..2024") and pooled.years == (
        "2022",
        "2024",
    )
    early = (*MAP[:2], ("cut", "period@year:2016"))
    assert pool_periods(early, 2015).params[2] == ("cut", "period@year:2015..2016")
    assert pool_periods((*MAP[:2], ("cut", "period@year:2015")), 2015) is None


def test_pooling_leaves_a_view_drilled_by_period_alone():
    by_year = (("measures", "suspects"), ("drilldown", "period@year"), ("cut", "period@year:2024"))
    assert pool_periods(by_year, 2015) is None


def test_coarser_level_and_fewer_breakdowns():
    wijken = (("measures", "suspects"), ("drilldown", "residence@wijk,age@group,sex@sex"))
    assert coarser_level(wijken, REGION).params[-1] == (
        "drilldown",
        "residence@gemeente,age@group,sex@sex",
    )
    assert fewer_breakdowns(wijken, REGION | PERIOD).params[-1] == ("drilldown", "residence@wijk")
    assert fewer_breakdowns(MAP, REGION | PERIOD) is None
    national = (("measures", "suspects"), ("drilldown", "residence@land"))
    assert coarser_level(national, REGION) is None


def test_alternatives_in_order_and_stocks_are_not_pooled():
    kinds = [
        a.kind for a in alternatives(MAP, region_roles=REGION, period_roles=PERIOD, first_year=2015)
    ]
    assert kinds == ["pool_periods", "coarser_level", "pool_periods+coarser_level"]
    stock = alternatives(
        MAP, region_roles=REGION, period_roles=PERIOD, first_year=2015, poolable=False
    )
    assert [a.kind for a in stock] == ["coarser_level"]


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    home = build_home(tmp_path_factory.mktemp("guidance"))  # scale 0.003: drugs mostly x
    app = create_app(Settings(home=str(home), rate_limit_per_minute=0))
    yield app.test_client()
    app.extensions["zicht"].close()


def test_a_mostly_suppressed_map_gets_suggestions_that_show_more(client):
    q = "measures=suspects&drilldown=residence@gemeente&cut=period@year:2024"
    body = client.get(f"/api/v1/cubes/drug_suspects/aggregate/guidance?{q}").json
    assert body["cells"] == 342 and body["share_with_value"] < 0.9
    assert body["suggestions"], body
    shares = [s["share_with_value"] for s in body["suggestions"]]
    assert shares == sorted(shares, reverse=True) and shares[0] > body["share_with_value"]
    for s in body["suggestions"]:
        # Each suggestion is an aggregate a client can ask, and it says what that answer shows.
        url = "/api/v1/cubes/drug_suspects/aggregate?" + "&".join(
            f"{k}={v}" for k, v in s["params"]
        )
        answer = client.get(url).json
        cells = [r["cells"]["suspects"] for r in answer["rows"]]
        assert len(cells) == s["cells"]
        assert (
            sum(1 for c in cells if c["status"] != "suppressed" and c["value"]) == s["with_value"]
        )


def test_a_view_that_publishes_gets_no_suggestions(client):
    q = "measures=inhabitants&drilldown=region@gemeente&cut=period@year:2024"
    body = client.get(f"/api/v1/cubes/population/aggregate/guidance?{q}").json
    assert body["share_with_value"] >= 0.9 and body["suggestions"] == []


def test_an_invalid_view_is_refused_like_an_aggregate(client):
    r = client.get("/api/v1/cubes/drug_suspects/aggregate/guidance?measures=nope")
    assert r.status_code == 400 and r.json["error_type"] == "invalid_query"
