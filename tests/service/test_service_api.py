"""Every resource through the Flask test client, on the fake engine."""

from __future__ import annotations

import csv
import io
import json
import threading
import time

import pytest

from tests.service.zicht_fakes import Factory, make_app, make_home_release

CUBE = "/api/v1/cubes/drug_suspects"
AGG = f"{CUBE}/aggregate"
ADMIN = {"Authorization": "Bearer s3cret-token"}
OLD, NEW = "20250101T000000Z-aaaaaaaa", "20250102T000000Z-bbbbbbbb"


@pytest.fixture
def factory():
    return Factory()


@pytest.fixture
def app(tmp_path, factory):
    return make_app(tmp_path, factory, ids=(OLD, NEW))


@pytest.fixture
def client(app):
    return app.test_client()


def test_health_ready_and_release_list(client):
    assert client.get("/health").json == {"status": "ok"}
    assert client.get("/ready").json == {"status": "ready", "release": NEW}
    body = client.get("/api/v1/releases").json
    assert body["serving"] == NEW
    assert [r["id"] for r in body["releases"]] == [OLD, NEW]


def test_not_ready_without_release(tmp_path):
    app = make_app(tmp_path, ids=())
    c = app.test_client()
    r = c.get("/ready")
    assert r.status_code == 503 and r.json["error_type"] == "no_release"
    r = c.get(f"{AGG}?measures=suspects")
    assert r.status_code == 503 and r.json["error_type"] == "no_release"


def test_cubes_model_members_neighbours(client):
    assert client.get("/api/v1/cubes").json["cubes"][0]["id"] == "drug_suspects"
    assert client.get(CUBE).json["release"] == NEW
    r = client.get(f"{CUBE}/members/residence?search=dam&limit=1")
    assert r.json["total"] == 2 and len(r.json["members"]) == 1
    assert r.json["members"][0]["code"] == "GM0363"
    n = client.get("/api/v1/regions/GM0363/neighbours").json
    assert {x["code"] for x in n["neighbours"]} == {"GM0518", "GM0599"}


def test_aggregate_get_and_post_give_the_same_answer(client):
    get = client.get(
        f"{AGG}?measures=suspects&drilldown=residence@gemeente&cut=period@year:2019..2023"
        "&totals=margins&order=-suspects&limit=10"
    )
    post = client.post(
        AGG,
        json={
            "measures": ["suspects"],
            "drilldown": ["residence@gemeente"],
            "cuts": [{"dimension": "period", "level": "year", "from": "2019", "to": "2023"}],
            "totals": "margins",
            "order": [{"by": "suspects", "desc": True}],
            "limit": 10,
        },
    )
    assert get.status_code == post.status_code == 200
    assert get.json == post.json
    rows = get.json["rows"]
    suppressed = [r for r in rows if r["cells"]["suspects"]["status"] == "suppressed"]
    assert suppressed and all(r["cells"]["suspects"]["value"] is None for r in suppressed)
    assert rows[-1]["members"] == {"residence@gemeente": None}  # the margin
    assert post.headers["Cache-Control"] == "no-store"


def test_drill_across_measure_names_pass_through(client, factory):
    r = client.get(f"{AGG}?measures=suspects,population.inhabitants")
    # The fake engine does not know the other cube: the engine's own error comes back whole.
    assert r.status_code == 400
    assert r.json["errors"] == [{"location": "measures[1]", "message": "unknown measure"}]


@pytest.mark.parametrize(
    ("fmt", "accept", "ctype"),
    [
        ("csv", None, "text/csv"),
        (None, "text/csv", "text/csv"),
        ("sdmx-csv", None, "application/vnd.sdmx.data+csv"),
        (None, "application/vnd.sdmx.data+csv;version=1.0.0", "application/vnd.sdmx.data+csv"),
        ("statline", None, "application/vnd.zicht.statline+json"),
        ("csv-nl", None, "text/csv"),
        ("arrow", None, "application/vnd.apache.arrow.stream"),
        (None, "application/vnd.apache.parquet", "application/vnd.apache.parquet"),
        (None, "*/*", "application/json"),
    ],
)
def test_format_by_parameter_or_accept(client, fmt, accept, ctype):
    url = f"{AGG}?measures=suspects&drilldown=residence@gemeente"
    if fmt:
        url += f"&format={fmt}"
    r = client.get(url, headers={"Accept": accept} if accept else {})
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith(ctype)
    assert "Accept" in r.headers["Vary"]


def test_unacceptable_format(client):
    r = client.get(f"{AGG}?measures=suspects", headers={"Accept": "image/png"})
    assert r.status_code == 406 and r.json["error_type"] == "not_acceptable"
    r = client.get(f"{AGG}?measures=suspects&format=xlsx")
    assert r.status_code == 406


def test_csv_is_tidy_and_named_for_download(client):
    r = client.get(f"{AGG}?measures=suspects&drilldown=residence@gemeente&format=csv")
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True))))
    gm0599 = next(row for row in rows if row["residence_gemeente"] == "GM0599")
    assert gm0599["suspects"] == "" and gm0599["suspects_status"] == "suppressed"
    assert gm0599["suspects_reason"] == "threshold"
    assert r.headers["Content-Disposition"] == (
        f'attachment; filename="zicht_drug_suspects_suspects_by_residence_gemeente_'
        f'{NEW.partition("-")[0]}.csv"'
    )
    assert "Content-Disposition" not in client.get(f"{AGG}?measures=suspects").headers


def test_etag_304_and_cache_hits(client, factory):
    url = f"{AGG}?measures=suspects&drilldown=residence@gemeente"
    first = client.get(url)
    assert first.headers["X-Zicht-Cache"] == "miss"
    assert first.headers["Cache-Control"].startswith("public, max-age=")
    etag = first.headers["ETag"]
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["X-Zicht-Cache"] == "hit"
    assert factory.opened[-1].answers == 1  # the engine answered once
    # the same query written differently (cut members in another order) hits the cache
    a = client.get(f"{AGG}?measures=suspects&cut=residence@gemeente:GM0363,GM0599")
    b = client.get(f"{AGG}?measures=suspects&cut=residence@gemeente:GM0599,GM0363")
    assert a.headers["ETag"] == b.headers["ETag"] and b.headers["X-Zicht-Cache"] == "hit"
    metrics = client.get("/metrics").get_data(as_text=True)
    assert "zicht_cache_hit_ratio 0.5" in metrics


def test_metadata_is_conditional(client):
    first = client.get("/api/v1/cubes")
    r = client.get("/api/v1/cubes", headers={"If-None-Match": first.headers["ETag"]})
    assert r.status_code == 304


def test_admin_requires_bearer_token(client):
    for method, url in [
        ("get", "/api/v1/admin/audit"),
        ("get", "/api/v1/admin/risk"),
        ("post", "/api/v1/admin/releases/rollback"),
        ("post", f"/api/v1/admin/releases/{OLD}/activate"),
    ]:
        assert getattr(client, method)(url).status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        r = getattr(client, method)(url, headers=wrong)
        assert r.status_code == 403 and r.json["error_type"] == "forbidden"
    assert client.get("/api/v1/releases").json["serving"] == NEW


def test_admin_without_configured_token_refuses_everything(tmp_path):
    c = make_app(tmp_path, admin_token="").test_client()
    assert c.get("/api/v1/admin/audit", headers={"Authorization": "Bearer "}).status_code == 401
    assert c.get("/api/v1/admin/audit", headers=ADMIN).status_code == 403


def test_switch_and_rollback_invalidate_cache(client, factory):
    url = f"{AGG}?measures=suspects"
    assert client.get(url).headers["X-Zicht-Release"] == NEW
    r = client.post("/api/v1/admin/releases/rollback", headers=ADMIN)
    assert r.json == {"serving": OLD, "previous": NEW}
    again = client.get(url)
    assert again.headers["X-Zicht-Release"] == OLD and again.headers["X-Zicht-Cache"] == "miss"
    assert factory.opened[0].closed  # the idle old engine was closed
    r = client.post(f"/api/v1/admin/releases/{NEW}/activate", headers=ADMIN)
    assert r.json == {"serving": NEW, "previous": OLD}
    assert client.get("/ready").json["release"] == NEW
    r = client.post("/api/v1/admin/releases/nope/activate", headers=ADMIN)
    assert r.status_code == 404


def test_release_that_fails_to_open_never_serves(tmp_path):
    factory = Factory(fail=frozenset({OLD}))
    c = make_app(tmp_path, factory, ids=(OLD, NEW)).test_client()
    r = c.post(f"/api/v1/admin/releases/{OLD}/activate", headers=ADMIN)
    assert r.status_code == 409 and r.json["error_type"] == "release_error"
    assert "damaged" not in r.get_data(as_text=True)
    assert c.get("/ready").json["release"] == NEW
    assert (tmp_path / "current").read_text().strip() == NEW


def test_public_report_holds_only_counts_the_audit_holds_the_rest(client):
    body = client.get(f"{AGG}?measures=suspects&drilldown=residence@gemeente").json
    assert body["report"] == {
        "policy": "default",
        "cells": 3,
        "by_status": {"perturbed": 2, "suppressed": 1},
        "by_reason": {"threshold": 1},
    }
    record = client.get("/api/v1/admin/audit?limit=1", headers=ADMIN).json["records"][0]
    assert (
        record["engine_report"]["parts"]["drug_suspects"]["risk"]["smallest_published_contributors"]
        == 4242
    )


def test_audit_and_risk_resources(client):
    client.get(f"{AGG}?measures=suspects&drilldown=residence@gemeente")
    records = client.get("/api/v1/admin/audit?limit=5", headers=ADMIN).json["records"]
    assert records[0]["by_status"] == {"perturbed": 2, "suppressed": 1}
    assert records[0]["by_reason"] == {"threshold": 1}
    assert len(records[0]["query_id"]) == 16
    assert records[0]["client"].startswith("addr:") and "127.0.0.1" not in json.dumps(records)
    risk = client.get("/api/v1/admin/risk", headers=ADMIN).json
    assert risk["summary"]["clients"] == 1


def test_api_key_identifies_client(tmp_path):
    c = make_app(tmp_path, api_keys="riec=k-123").test_client()
    c.get(f"{AGG}?measures=suspects", headers={"X-API-Key": "k-123"})
    records = c.get("/api/v1/admin/audit", headers=ADMIN).json["records"]
    assert records[0]["client"] == "key:riec"
    r = c.get(f"{AGG}?measures=suspects", headers={"X-API-Key": "guess"})
    assert r.status_code == 401 and r.json["errors"][0]["location"] == "header.X-API-Key"


def test_rate_limit_answers_429_with_retry_after(tmp_path):
    c = make_app(tmp_path, rate_limit_per_minute=6, rate_limit_burst=2).test_client()
    codes = [c.get("/api/v1/cubes").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    r = c.get("/api/v1/cubes")
    assert r.json["error_type"] == "rate_limited" and int(r.headers["Retry-After"]) >= 1
    assert c.get("/health").status_code == 200  # probes are never limited


def test_body_too_large_is_413(tmp_path):
    c = make_app(tmp_path, max_body_bytes=100).test_client()
    r = c.post(AGG, json={"measures": ["suspects"] * 40})
    assert r.status_code == 413 and r.json["error_type"] == "payload_too_large"


def test_slow_query_is_503_not_a_hang(tmp_path):
    c = make_app(tmp_path, Factory(delay_s=1.0), query_timeout_s=0.1).test_client()
    r = c.get(f"{AGG}?measures=suspects")
    assert r.status_code == 503 and r.json["error_type"] == "query_timeout"


def test_security_headers_and_cors(tmp_path):
    c = make_app(tmp_path, cors_origins="https://dashboard.example").test_client()
    r = c.get("/api/v1/cubes", headers={"Origin": "https://dashboard.example"})
    assert r.headers["Access-Control-Allow-Origin"] == "https://dashboard.example"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in r.headers["Content-Security-Policy"]
    r = c.get("/api/v1/cubes", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in r.headers
    pre = c.options(AGG, headers={"Origin": "https://dashboard.example"})
    assert "POST" in pre.headers["Access-Control-Allow-Methods"]


def test_docs_page_loads_only_local_assets(client):
    html = client.get("/docs").get_data(as_text=True)
    assert "http://" not in html and "https://" not in html
    for src in ("/static/swagger-ui/swagger-ui-bundle.js", "/static/swagger-ui/swagger-ui.css"):
        assert src in html
        r = client.get(src)
        assert r.status_code == 200
        r.close()  # static files are streamed from disk
    assert client.get("/openapi.yaml").data.startswith(b"openapi:")


def test_release_switched_by_another_process_is_followed(tmp_path):
    factory = Factory(fail=frozenset({"20250103T000000Z-cccccccc"}))
    app = make_app(tmp_path, factory, ids=(OLD, NEW), release_poll_s=0.01)
    c = app.test_client()
    assert c.get("/ready").json["release"] == NEW
    (tmp_path / "current").write_text(OLD + "\n")  # as `zicht releases switch` would
    time.sleep(0.02)
    assert c.get("/ready").json["release"] == OLD
    # a release that fails to open is refused once and the old one keeps serving
    bad = make_home_release(tmp_path, "20250103T000000Z-cccccccc")
    (tmp_path / "current").write_text(bad + "\n")
    time.sleep(0.02)
    assert c.get("/ready").json["release"] == OLD
    assert c.get(f"{AGG}?measures=suspects").status_code == 200


def test_guessing_api_keys_is_rate_limited(tmp_path):
    c = make_app(
        tmp_path, api_keys="a=k", rate_limit_per_minute=6, rate_limit_burst=2
    ).test_client()
    codes = [c.get("/api/v1/cubes", headers={"X-API-Key": f"g{i}"}).status_code for i in range(3)]
    assert codes == [401, 401, 429]


def test_switch_does_not_drop_an_in_flight_request(tmp_path):
    factory = Factory(delay_s=0.5)
    app = make_app(tmp_path, factory, ids=(OLD, NEW))
    results = {}

    def slow_request():
        r = app.test_client().get(f"{AGG}?measures=suspects")
        results["status"], results["release"] = r.status_code, r.headers["X-Zicht-Release"]

    worker = threading.Thread(target=slow_request)
    worker.start()
    time.sleep(0.1)  # the request now holds the NEW engine
    c = app.test_client()
    assert c.post("/api/v1/admin/releases/rollback", headers=ADMIN).json["serving"] == OLD
    serving_new = factory.opened[0]
    assert not serving_new.closed  # still answering the in-flight request
    worker.join(5)
    assert results == {"status": 200, "release": NEW}
    assert serving_new.closed  # closed once its last request finished
    assert c.get("/ready").json["release"] == OLD


def test_identical_cold_queries_are_computed_once(tmp_path):
    factory = Factory(delay_s=0.3)
    app = make_app(tmp_path, factory)
    statuses = []

    def ask():
        statuses.append(app.test_client().get(f"{AGG}?measures=suspects").status_code)

    threads = [threading.Thread(target=ask) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert statuses == [200, 200, 200]
    assert factory.opened[-1].answers == 1


@pytest.mark.parametrize("bad", ["x" * 300, "..", ".hidden", "a b", "%2e%2e%2fcurrent"])
def test_a_malformed_release_id_is_refused_before_the_file_system(client, bad):
    r = client.post(f"/api/v1/admin/releases/{bad}/activate", headers=ADMIN)
    assert r.status_code == 404, r.data[:200]
    assert r.json["error_type"] in ("invalid_release_id", "not_found")
    assert "x" * 50 not in r.get_data(as_text=True)  # the id is quoted shortened, if at all
    assert client.get("/ready").json["release"] == NEW
