"""Security: admin resources refuse missing and wrong tokens; tokens, API keys, the audit salt
and the record-key secret appear in no log, error, audit record, metric or release file; an
explicit CORS policy; security headers and a strict CSP on the dashboard (assets are local)."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from tests.hardening.hardening_fixtures import TOKEN, make_app, release_and_home
from tests.loaders.load_fixtures import SECRET

API_KEY = "ak-7c1e5f0d9b2a"
SALT = "salt-2b9f6a7e1c"
ORIGIN = "https://dashboard.gemeente.example"
ADMIN = [
    ("get", "/api/v1/admin/audit"),
    ("get", "/api/v1/admin/risk"),
    ("post", "/api/v1/admin/releases/rollback"),
    ("post", "/api/v1/admin/releases/20250101T000000Z-aaaaaaaa/activate"),
]
AGG = "/api/v1/cubes/drug_suspects/aggregate?measures=suspects&drilldown=period@year"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    release, home = release_and_home(tmp_path_factory.mktemp("security"))
    app = make_app(home, api_keys=f"partner={API_KEY}", audit_salt=SALT, cors_origins=ORIGIN)
    yield app, home, release
    app.extensions["zicht"].close()


@pytest.mark.parametrize(("method", "path"), ADMIN)
def test_admin_refuses_missing_and_wrong_tokens(world, method, path):
    app, _, _ = world
    client = app.test_client()
    missing = [{}, {"Authorization": ""}, {"Authorization": "Bearer"}, {"Authorization": "Bearer "}]
    for headers in missing:
        r = getattr(client, method)(path, headers=headers)
        assert r.status_code == 401 and r.json["error_type"] == "unauthorized"
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
    wrong = [f"Bearer {TOKEN[:-1]}", f"Bearer {TOKEN}x", f"Bearer {TOKEN.upper()}",
             f"Bearer  {TOKEN}", f"Basic {TOKEN}", f"Token {TOKEN}"]  # fmt: skip
    for value in wrong:
        r = getattr(client, method)(path, headers={"Authorization": value})
        assert r.status_code in (401, 403), (value, r.status_code)
        assert r.json["error_type"] in ("unauthorized", "forbidden")
    r = getattr(client, method)(path, headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code not in (401, 403)


def test_secrets_never_in_logs_errors_audit_or_metrics(world, caplog):
    app, home, release = world
    client = app.test_client()
    caplog.set_level(logging.DEBUG)
    secrets = [TOKEN, API_KEY, SALT, SECRET.decode()]
    bodies = [
        client.get(AGG, headers={"X-API-Key": API_KEY}),
        client.get(AGG, headers={"X-API-Key": API_KEY + "-wrong"}),
        client.get("/api/v1/admin/audit", headers={"Authorization": f"Bearer {TOKEN}x"}),
        client.get("/api/v1/admin/audit", headers={"Authorization": f"Bearer {TOKEN}"}),
        client.get("/api/v1/admin/risk", headers={"Authorization": f"Bearer {TOKEN}"}),
        client.get("/metrics"),
        client.get("/api/v1/releases"),
    ]
    texts = [r.get_data(as_text=True) for r in bodies]
    texts += [record.getMessage() + str(record.args) for record in caplog.records]
    texts += [p.read_text() for p in (home / "audit").glob("audit-*.jsonl")]
    texts += [p.read_text() for p in release.path.glob("*.json")]
    for text in texts:
        for secret in secrets:
            assert secret not in text, secret
    assert SECRET not in release.db_path.read_bytes()  # keys are derived, never stored
    audit = "".join(p.read_text() for p in (home / "audit").glob("audit-*.jsonl"))
    assert '"client": "key:partner"' in audit  # the key's id, not the key
    assert "127.0.0.1" not in audit  # addresses are salted hashes


def test_cors_is_explicit(world):
    app, _, _ = world
    client = app.test_client()
    allowed = client.get(AGG, headers={"Origin": ORIGIN})
    assert allowed.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "Origin" in allowed.headers["Vary"]
    assert "Access-Control-Allow-Credentials" not in allowed.headers
    other = client.get(AGG, headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    preflight = client.options(AGG, headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "POST"})  # fmt: skip
    assert preflight.status_code in (200, 204)
    assert set(preflight.headers["Access-Control-Allow-Methods"].split(", ")) == {
        "GET", "POST", "OPTIONS"}  # fmt: skip
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]


def test_no_cross_origin_access_by_default(tmp_path):
    home = release_and_home(tmp_path)[1]
    app = make_app(home)
    try:
        r = app.test_client().get(AGG, headers={"Origin": ORIGIN})
        assert "Access-Control-Allow-Origin" not in r.headers
    finally:
        app.extensions["zicht"].close()


def test_dashboard_security_headers_and_strict_csp(world):
    app, _, _ = world
    client = app.test_client()
    page = client.get("/")
    assert page.status_code == 200
    csp = dict(
        [*part.split(" ", 1), ""][:2]
        for part in (p.strip() for p in page.headers["Content-Security-Policy"].split(";"))
    )
    assert csp["default-src"] == "'none'"
    for directive in ("script-src", "style-src", "connect-src", "img-src"):
        assert csp[directive] == "'self'", (directive, csp.get(directive))
    assert csp["frame-ancestors"] == "'none'" and csp["base-uri"] == "'none'"
    text = " ".join(csp.values())
    assert "unsafe-inline" not in text and "unsafe-eval" not in text and "*" not in text
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    html = page.get_data(as_text=True)
    assert not re.search(r"<script>[^<]", html), "inline script"
    refs = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert refs and all(r.startswith(("/", "#")) and not r.startswith("//") for r in refs), refs
    for ref in refs:
        if ref.startswith("/dashboard/"):
            asset = client.get(ref)
            assert asset.status_code == 200, ref
            assert asset.headers["X-Content-Type-Options"] == "nosniff"
            asset.close()
    for path in ("/api/v1/cubes", AGG, "/docs"):
        r = client.get(path)
        assert "default-src" in r.headers["Content-Security-Policy"]
        assert r.headers["X-Frame-Options"] == "DENY"


def test_release_files_hold_no_record_key_secret(world):
    _, _, release = world
    for path in Path(release.path).rglob("*"):
        if path.is_file():
            assert SECRET not in path.read_bytes(), path
