"""Valid queries, drawn from the real cube models, never give a 5xx and never publish a
suppressed value (Hypothesis over the HTTP API on the real engine and a tiny release)."""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.app import create_app
from service.settings import Settings
from tests.cube.cube_fixtures import build_release

CUBES = ("drug_suspects", "plantations", "dwellings", "transactions", "companies", "population")
MAX_LEVEL_MEMBERS = 40  # keeps answers small: this is about correctness, not scale
# This test found a `change` measure answering 500 and the INT16 overflow of monthly
# drill-downs (both fixed, with regression tests in tests/cube). Nothing is skipped now.
SKIP_KINDS: frozenset[str] = frozenset()
EXAMPLES = int(os.environ.get("ZICHT_FUZZ_EXAMPLES", "25"))


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    release = build_release(tmp_path_factory.mktemp("valid"))
    # a generous time limit: this test is about correctness, and CI machines may be busy
    settings = Settings(
        home=str(release.path.parent.parent), rate_limit_per_minute=0, query_timeout_s=120
    )
    app = create_app(settings)
    yield app
    app.extensions["zicht"].close()


@pytest.fixture(scope="module")
def models(app) -> dict[str, dict[str, Any]]:
    client = app.test_client()
    return {c: client.get(f"/api/v1/cubes/{c}").json for c in CUBES}


@st.composite
def queries(draw, models: dict[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    cube = draw(st.sampled_from(CUBES))
    model = models[cube]
    measures = [m["id"] for m in model["measures"] if m["kind"] not in SKIP_KINDS]
    items = [
        f"{d['id']}@{lv['id']}"
        for d in model["dimensions"]
        for lv in d["levels"]
        if (lv.get("members") or 0) <= MAX_LEVEL_MEMBERS
    ]
    drill = draw(st.lists(st.sampled_from(items), max_size=2, unique_by=lambda i: i.split("@")[0]))
    body: dict[str, Any] = {
        "measures": draw(st.lists(st.sampled_from(measures), min_size=1, max_size=2, unique=True)),
        "drilldown": drill,
        "totals": draw(st.sampled_from(["none", "grand", "margins"])),
    }
    periods = model.get("periods") or []
    if periods and draw(st.booleans()):
        body["cuts"] = [{"dimension": "period", "level": "year", "members": [periods[-1]]}]
    return cube, body


def test_valid_queries(app, models):
    client = app.test_client()

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(queries(models))
    def check(drawn):
        cube, body = drawn
        r = client.post(f"/api/v1/cubes/{cube}/aggregate", json=body)
        assert r.status_code < 500, (cube, body, r.json)
        if r.status_code == 200:
            for row in r.json["rows"]:
                for cell in row["cells"].values():
                    if cell["status"] == "suppressed":
                        assert cell["value"] is None
        else:
            assert r.json["error_type"] in ("invalid_query", "too_many_cells"), r.json

    check()
