"""The dashboard's routes without a browser: page, assets, geometry, CSP, offline-only."""

from __future__ import annotations

import json
import re

import pytest

from service.app import create_app
from service.dashboard import STATIC
from service.settings import Settings


@pytest.fixture
def client(tmp_path):
    # No release is needed: the page and the geometry do not touch the data.
    app = create_app(Settings(home=str(tmp_path), rate_limit_per_minute=0))
    yield app.test_client()
    app.extensions["zicht"].close()


def status_of(client, url: str) -> int:
    # Static files are streamed: close the response or the file stays open.
    response = client.get(url)
    response.close()
    return int(response.status_code)


def test_page_is_served_with_a_strict_csp(client):
    r = client.get("/")
    assert r.status_code == 200 and r.content_type.startswith("text/html")
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert client.get("/", headers={"If-None-Match": r.headers["ETag"]}).status_code == 304


def test_every_asset_the_page_names_is_served_locally(client):
    html = client.get("/").get_data(as_text=True)
    refs = re.findall(r'(?:src|href)="([^"#]+)"', html)
    assert refs and all(ref.startswith("/") for ref in refs), "no other origin may be named"
    for ref in refs:
        if ref == "/docs":
            continue
        assert status_of(client, ref) == 200, ref
    modules = re.findall(
        r'from "\./([a-z]+\.js)"',
        "".join(p.read_text("utf-8") for p in (STATIC / "js").glob("*.js")),
    )
    for name in set(modules):
        assert status_of(client, f"/dashboard/js/{name}") == 200, name


def test_no_asset_reaches_for_the_network():
    for path in [*STATIC.rglob("*.js"), *STATIC.rglob("*.css"), *STATIC.rglob("*.html")]:
        if "vendor" in path.parts:
            continue
        assert not re.search(r"https?://", path.read_text("utf-8")), path
    assert (STATIC / "vendor" / "d3" / "LICENSE").exists()


def test_geometry_has_342_gemeenten_and_attribution(client):
    r = client.get("/api/v1/geometry/gemeente")
    assert r.status_code == 200 and r.content_type == "application/geo+json"
    assert "CBS / PDOK" in r.headers["X-Attribution"]
    features = json.loads(r.data)["features"]
    codes = {f["properties"]["statcode"] for f in features}
    assert len(features) == len(codes) == 342
    assert all(re.fullmatch(r"GM\d{4}", c) for c in codes)
    assert len(json.loads(client.get("/api/v1/geometry/provincie").data)["features"]) == 12


def test_unknown_geometry_is_a_404_in_the_error_shape(client):
    r = client.get("/api/v1/geometry/postcode")
    assert r.status_code == 404
    assert r.json["error_type"] == "not_found"
    assert r.json["errors"][0]["location"] == "path.level"
    assert status_of(client, "/dashboard/js/nope.js") == 404
