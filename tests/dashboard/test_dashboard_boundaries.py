"""``/api/v1/geometry/{wijk,buurt}?gemeente=``: a release's delivered boundaries, per gemeente."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from shapely.geometry import shape

from loaders.load import load_directory
from loaders.synthetic import generate
from service.app import create_app
from service.settings import Settings
from tests.loaders.boundary_fixtures import GEMEENTE, deliver_map


@pytest.fixture(scope="module")
def delivered(tmp_path_factory) -> tuple[Path, list[dict], list[dict]]:
    root = tmp_path_factory.mktemp("boundaries")
    generate(root / "input", scale=0.003, seed=2)
    wijken, buurten = deliver_map(root / "input", GEMEENTE)
    load_directory(root / "input", root / "home", secret=b"boundaries-test-secret")
    return root / "home", wijken, buurten


@pytest.fixture
def client(delivered) -> Iterator[Any]:
    app = create_app(Settings(home=str(delivered[0]), rate_limit_per_minute=0))
    yield app.test_client()
    app.extensions["zicht"].close()


def test_the_wijken_of_a_gemeente_are_the_delivered_ones(client, delivered):
    _home, wijken, _buurten = delivered
    response = client.get(f"/api/v1/geometry/wijk?gemeente={GEMEENTE}")
    assert response.status_code == 200
    assert response.content_type == "application/geo+json"
    assert response.headers["X-Zicht-Release"]
    assert "wijk- en buurtkaart" in response.headers["X-Attribution"]
    body = response.get_json(force=True)
    assert body["type"] == "FeatureCollection" and body["level"] == "wijk"
    assert body["gemeente"] == GEMEENTE and body["source"]
    got = {f["properties"]["code"]: f for f in body["features"]}
    sent = {f["properties"]["wijkcode"]: f for f in wijken}
    assert sorted(got) == sorted(sent)
    assert body["areas"] >= len(sent)  # every CBS wijk of the gemeente, delivered or not
    for code, feature in got.items():
        assert feature["id"] == code and feature["properties"]["name"]
        # Stored simplified to about a metre: the same shape.
        drawn, original = shape(feature["geometry"]), shape(sent[code]["geometry"])
        assert drawn.hausdorff_distance(original) < 1e-4


def test_the_buurten_of_a_gemeente(client, delivered):
    body = client.get(f"/api/v1/geometry/buurt?gemeente={GEMEENTE}").get_json(force=True)
    codes = sorted(f["properties"]["code"] for f in body["features"])
    assert codes == sorted(f["properties"]["buurtcode"] for f in delivered[2])
    assert body["areas"] == len(codes)  # the test delivered a boundary for every buurt


def test_a_gemeente_without_a_delivered_map_has_no_features(client):
    response = client.get("/api/v1/geometry/wijk?gemeente=GM0363")
    body = response.get_json(force=True)
    assert response.status_code == 200 and body["features"] == [] and body["source"] is None
    assert body["areas"] > 0  # Amsterdam has wijken: the client draws them otherwise
    assert "X-Attribution" not in response.headers


def test_answers_are_cacheable_and_revalidate(client):
    url = f"/api/v1/geometry/buurt?gemeente={GEMEENTE}"
    first = client.get(url)
    tag = first.headers["ETag"]
    again = client.get(url, headers={"If-None-Match": tag})
    assert again.status_code == 304
    assert "public" in first.headers["Cache-Control"]


@pytest.mark.parametrize(
    ("url", "status", "error_type", "locations"),
    [
        ("/api/v1/geometry/wijk", 400, "invalid_query", ["query.gemeente"]),
        ("/api/v1/geometry/buurt?gemeente=0344", 400, "invalid_query", ["query.gemeente"]),
        (
            "/api/v1/geometry/buurt?gemeente=GM0344&gemeente=GM0363",
            400,
            "invalid_query",
            ["query.gemeente"],
        ),
        (
            "/api/v1/geometry/wijk?gemeente=x&zoom=3",
            400,
            "invalid_query",
            ["query.gemeente", "query.zoom"],
        ),
        ("/api/v1/geometry/gemeente?gemeente=GM0344", 400, "invalid_query", ["query.gemeente"]),
        ("/api/v1/geometry/wijk?gemeente=GM9999", 404, "not_found", ["query.gemeente"]),
        ("/api/v1/geometry/land", 404, "not_found", ["path.level"]),
    ],
)
def test_bad_requests_say_what_is_wrong(client, url, status, error_type, locations):
    response = client.get(url)
    body = response.get_json()
    assert response.status_code == status, body
    assert body["error_type"] == error_type
    assert sorted({e["location"] for e in body["errors"]}) == locations
    assert "SELECT" not in json.dumps(body) and "Traceback" not in json.dumps(body)
