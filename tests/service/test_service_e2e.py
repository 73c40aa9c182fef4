"""The service on the real cube engine and a tiny real release (built by the real loader)."""

from __future__ import annotations

import csv
import io

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, settings

from service.app import create_app
from service.settings import Settings
from tests.cube.cube_fixtures import build_release
from tests.service.test_service_openapi import FUZZ_EXAMPLES, SPEC, SPEC_PATH, _checks

AGG = "/api/v1/cubes/drug_suspects/aggregate"
ADMIN = {"Authorization": "Bearer e2e-token"}


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    return build_release(tmp_path_factory.mktemp("e2e"))


@pytest.fixture(scope="module")
def app(release):
    home = release.path.parent.parent
    settings = Settings(
        home=str(home), admin_token="e2e-token", rate_limit_per_minute=0, query_timeout_s=120
    )
    app = create_app(settings)
    yield app
    app.extensions["zicht"].close()


@pytest.fixture
def client(app):
    return app.test_client()


def test_metadata_resources(client, release):
    cubes = client.get("/api/v1/cubes").json
    assert cubes["release"] == release.id
    assert "drug_suspects" in {c["id"] for c in cubes["cubes"]}
    model = client.get("/api/v1/cubes/drug_suspects").json
    assert {m["id"] for m in model["measures"]} >= {"suspects"}
    members = client.get(
        "/api/v1/cubes/drug_suspects/members/residence?level=gemeente&search=amster"
    )
    assert members.status_code == 200
    assert "GM0363" in {m["code"] for m in members.json["members"]}
    neighbours = client.get("/api/v1/regions/GM0363/neighbours").json["neighbours"]
    assert "GM0362" in {n["code"] for n in neighbours}


def test_aggregate_get_post_and_statuses(client):
    get = client.get(f"{AGG}?measures=suspects&drilldown=residence@gemeente&totals=grand")
    post = client.post(
        AGG,
        json={"measures": ["suspects"], "drilldown": ["residence@gemeente"], "totals": "grand"},
    )
    assert get.status_code == post.status_code == 200, get.json
    assert get.json == post.json
    cells = [r["cells"]["suspects"] for r in get.json["rows"]]
    assert cells and all(c["status"] in ("safe", "perturbed", "suppressed") for c in cells)
    assert all(c["value"] is None for c in cells if c["status"] == "suppressed")
    assert any(all(v is None for v in r["members"].values()) for r in get.json["rows"])


def test_relation_cut_and_formats(client):
    url = f"{AGG}?measures=suspects&drilldown=residence@gemeente"
    url += "&cut=residence@gemeente:neighbours(GM0363,self)"
    body = client.get(url).json
    codes = {r["members"]["residence@gemeente"] for r in body["rows"]}
    assert "GM0363" in codes or body["rows"] == []
    sdmx = client.get(url + "&format=sdmx-csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(sdmx)))
    assert all(r["CONF_STATUS"] in ("F", "C") for r in rows)
    assert all(r["OBS_VALUE"] == "NaN" for r in rows if r["CONF_STATUS"] == "C")
    statline = client.get(f"{AGG}?measures=suspects&drilldown=period@year&format=statline").json
    periods = {v["period"] for v in statline["value"]}
    assert periods and all(len(p) == 8 and p.endswith("JJ00") for p in periods)


def test_combination_of_cubes_on_the_same_endpoint(client):
    url = f"{AGG}?measures=suspects,population.inhabitants&drilldown=residence@gemeente"
    body = client.get(url + "&cut=period@year:2023").json
    ids = [m["id"] for m in body["measures"]]
    assert len(ids) == 2 and ids[0] == "suspects" and ids[1] == "population.inhabitants"
    assert body["rows"] and all(set(r["cells"]) == set(ids) for r in body["rows"])


def test_engine_problems_come_back_in_the_error_shape(client):
    r = client.get(f"{AGG}?measures=nope&drilldown=foo@bar")
    assert r.status_code == 400
    assert {e["location"] for e in r.json["errors"]} == {"measures[0]", "drilldown[0]"}


def test_cached_answer_and_audit(client):
    url = f"{AGG}?measures=registrations&drilldown=period@year"  # asked nowhere else
    first = client.get(url)
    second = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert second.status_code == 304 and second.headers["X-Zicht-Cache"] == "hit"
    records = client.get("/api/v1/admin/audit?limit=2", headers=ADMIN).json["records"]
    assert records[0]["cached"] is True and records[1]["cached"] is False
    assert records[0]["cells"] == records[1]["cells"] > 0


def test_openapi_served_by_the_app_is_the_file(client):
    # read the file afresh: schemathesis may annotate the shared SPEC dict in place
    assert yaml.safe_load(client.get("/openapi.yaml").data) == yaml.safe_load(
        SPEC_PATH.read_text(encoding="utf-8")
    )


schema = schemathesis.openapi.from_dict(SPEC)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # see openapi test
@schema.parametrize()
@settings(
    max_examples=max(5, FUZZ_EXAMPLES // 2),
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_schemathesis_on_the_real_engine(case, app):
    case.call_and_validate(app=app, checks=_checks())
