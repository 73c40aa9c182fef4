"""Errors that suggest: "did you mean" for measures, roles, levels, members (codes in any case
and names), parameters, fields and cube ids, on the real engine; error bodies stay small."""

from __future__ import annotations

import json

import pytest

from service.app import create_app
from service.settings import Settings
from tests.cube.cube_fixtures import build_release

CUBE = "/api/v1/cubes/drug_suspects"
AGG = f"{CUBE}/aggregate?"


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    release = build_release(tmp_path_factory.mktemp("suggest"))
    app = create_app(Settings(home=str(release.path.parents[1]), rate_limit_per_minute=0))
    yield app.test_client()
    app.extensions["zicht"].close()


def problems(response) -> str:
    assert 400 <= response.status_code < 500, response.status_code
    return json.dumps(response.json["errors"])


@pytest.mark.parametrize(
    ("url", "hint"),
    [
        (AGG + "measures=suspect", "did you mean 'suspects'"),
        (AGG + "measures=population.inhabitant", "did you mean 'inhabitants'"),
        (AGG + "measures=populaton.inhabitants", "did you mean 'population'"),
        (AGG + "measures=suspects&drilldown=residense@gemeente", "did you mean 'residence'"),
        (AGG + "measures=suspects&drilldown=residence@gemeent", "did you mean 'gemeente'"),
        (AGG + "measures=suspects&cut=residence@gemeente:gm0363", "did you mean 'GM0363'"),
        (AGG + "measures=suspects&cut=residence@gemeente:amsterdam", "'GM0363' (Amsterdam)"),
        (AGG + "measures=suspects&cut=residence@gemeente:Amsterdm", "'GM0363' (Amsterdam)"),
        (AGG + "measures=suspects&cut=residence@gemeente:PV27", "is a provincie code"),
        (AGG + "measures=suspects&cut=residence@provincie:pv27", "did you mean 'PV27'"),
        (AGG + "measures=suspects&cut=period@yr:2023", "did you mean 'year'"),
        (AGG + "measures=suspects&mesures=x", "did you mean 'measures'"),
        (AGG + "measures=suspects&sort=-suspects", "did you mean 'order'"),
        ("/api/v1/cubes/drug_suspect/aggregate?measures=suspects", "did you mean 'drug_suspects'"),
        ("/api/v1/cubes/drug_suspect", "did you mean 'drug_suspects'"),
        (f"{CUBE}/members/residense", "did you mean 'residence'"),
        (f"{CUBE}/members/residence?level=gemeent", "did you mean 'gemeente'"),
        (f"{CUBE}/members/residence?q=amster", "did you mean 'search'"),
    ],
)
def test_get_errors_suggest(client, url, hint):
    assert hint in problems(client.get(url))


def test_post_fields_suggest_at_every_depth(client):
    body = {
        "measure": ["suspects"],
        "cuts": [{"dimension": "residence", "level": "gemeente", "member": ["GM0363"]}],
        "ranking": {"measure": ["a", "b"]},
    }
    errors = {e["location"]: e["message"] for e in client.post(AGG, json=body).json["errors"]}
    assert "did you mean 'measures'" in errors["measure"]
    assert "did you mean 'members'" in errors["cuts[0].member"]
    assert "did you mean 'measures'" in errors["ranking.measure"]


def test_an_unknown_thing_with_nothing_alike_gets_no_guess(client):
    text = problems(client.get(AGG + "measures=zzzzqqq"))
    assert "did you mean" not in text and "zzzzqqq" in text


def test_ten_thousand_unknown_parameters_give_a_small_body(client):
    url = AGG + "measures=suspects&" + "&".join(f"p{i}=1" for i in range(10_000))
    r = client.get(url)
    assert r.status_code == 400
    assert len(r.data) < 5_000, len(r.data)
    assert len(r.json["errors"]) == 20 and r.json["errors_omitted"] == 9_980


def test_many_unknown_members_are_counted_not_listed(client):
    codes = ",".join(f"GM{i:04d}X" for i in range(999))
    r = client.get(AGG + f"measures=suspects&cut=residence@gemeente:{codes}")
    assert r.status_code == 400 and len(r.data) < 5_000
    assert "and 994 more" in problems(r)
