"""openapi.yaml is the contract: valid, every route documented, every path served, and
schemathesis finds no server error or schema violation against the app."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate

from cube.errors import UserError
from service.app import UNLIMITED
from service.errors import _HTTP_ERRORS
from service.store import StoreUnavailable
from tests.service.zicht_fakes import make_app

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi.yaml"
SPEC = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
METHODS = {"get", "post", "put", "patch", "delete"}
# A fixed, modest budget keeps CI fast; raise it locally for a deeper run.
FUZZ_EXAMPLES = int(os.environ.get("ZICHT_FUZZ_EXAMPLES", "25"))


def test_openapi_document_is_valid():
    validate(SPEC)


def served_routes(app) -> set[tuple[str, str]]:
    out = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        out |= {(path, m.lower()) for m in rule.methods if m.lower() in METHODS}
    return out


def documented_routes() -> set[tuple[str, str]]:
    return {(p, m) for p, item in SPEC["paths"].items() for m in item if m in METHODS}


def test_every_route_is_documented_and_every_documented_path_is_served(tmp_path):
    app = make_app(tmp_path)
    served, documented = served_routes(app), documented_routes()
    assert served - documented == set(), "routes missing from openapi.yaml"
    assert documented - served == set(), "paths in openapi.yaml that are not served"


EXAMPLES = {
    "cube": "drug_suspects",
    "dimension": "residence",
    "code": "GM0363",
    "level": "gemeente",
    "filename": "favicon.svg",
    "resource": "dataflow",
    "agency": "ZICHT",
    "resource_id": "DRUG_SUSPECTS",
    "version": "1.0",
    "flow": "DRUG_SUSPECTS",
    "key": "all",
    "release_id": "20250101T000000Z-aaaaaaaa",
}


def _url(path: str) -> str:
    query = "?measures=suspects" if "aggregate" in path or "/data/" in path else ""
    return path.format(**EXAMPLES) + query


def test_every_documented_get_path_answers_without_server_error(tmp_path):
    client = make_app(tmp_path).test_client()
    for path, method in documented_routes():
        if method != "get":
            continue
        r = client.get(_url(path))
        assert r.status_code in (200, 401), (path, r.status_code)
        r.close()


def _response(path: str, method: str, status: int) -> dict | None:
    found = SPEC["paths"][path][method]["responses"].get(str(status))
    if found is None:
        return None
    while "$ref" in found:
        target = SPEC
        for part in found["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        found = target
    return found


def _user_error_types(cls: type = UserError) -> set[str]:
    out = {cls.error_type} if "error_type" in cls.__dict__ else set()
    for sub in cls.__subclasses__():
        out |= _user_error_types(sub)
    return out


def test_every_error_type_the_server_gives_is_documented_and_no_other():
    # Their own UserError subclasses exist once these modules are imported.
    import service.api.public
    import service.api.sdmx  # noqa: F401

    given = _user_error_types() | {kind for kind, _ in _HTTP_ERRORS.values()}
    # Written out where they are answered: the generic 500, /ready, waitress's own refusals.
    given |= {"internal_error", "not_ready", "no_release", "payload_too_large", "bad_request"}
    documented = set(SPEC["components"]["schemas"]["Error"]["properties"]["error_type"]["enum"])
    assert given - documented == set(), "error types missing from openapi.yaml"
    assert documented - given == set(), "error types in openapi.yaml the server never gives"


class _DownStore:
    """A state store that cannot be reached: every call fails as the real ones do."""

    kind = "down"

    def __getattr__(self, name: str):
        def fail(*args, **kwargs):
            raise StoreUnavailable()

        return fail

    def problems(self) -> list[str]:
        return ["state store: cannot be reached"]

    def close(self) -> None:
        pass


def test_with_the_store_down_every_limited_route_answers_its_documented_503(tmp_path):
    app = make_app(tmp_path)
    svc = app.extensions["zicht"]
    svc.store = svc.limiter.store = svc.monitor.store = _DownStore()
    client = app.test_client()
    for path, method in sorted(documented_routes()):
        r = client.open(_url(path), method=method.upper(), json={} if method == "post" else None)
        if path in UNLIMITED:
            expected = 503 if path == "/ready" else 200
            assert r.status_code == expected, (path, r.status_code)
            continue
        assert r.status_code == 503, (path, method, r.status_code)
        assert r.get_json()["error_type"] == "store_unavailable", (path, method)
        documented = _response(path, method, 503)
        assert documented is not None, f"{method} {path}: 503 not in openapi.yaml"
        assert "store_unavailable" in documented["description"], (path, method)
    metrics = client.get("/metrics").get_data(as_text=True)
    assert "zicht_store_up 0.0" in metrics and "zicht_risk_flags" not in metrics
    ready = client.get("/ready").get_json()
    assert ready["error_type"] == "not_ready"
    assert "state store: cannot be reached" in str(ready["errors"])


def test_every_documented_response_declares_the_worker_header():
    for path, method in documented_routes():
        for status in SPEC["paths"][path][method]["responses"]:
            response = _response(path, method, int(status))
            assert "X-Zicht-Worker" in response.get("headers", {}), (path, method, status)


def test_a_worker_names_itself_on_every_answer_and_one_process_does_not(tmp_path):
    app = make_app(tmp_path)
    client = app.test_client()
    assert "X-Zicht-Worker" not in client.get("/api/v1/cubes").headers
    app.extensions["zicht"].worker = 1
    for path, method in sorted(documented_routes()):
        if method == "get":
            r = client.get(_url(path))
            assert r.headers.get("X-Zicht-Worker") == "1", (path, r.status_code)
            r.close()
    assert client.get("/ready").get_json()["worker"] == 1
    cached = client.get(_url("/api/v1/cubes/{cube}/aggregate"))
    assert cached.headers["X-Zicht-Cache"] == "hit"
    assert cached.headers["X-Zicht-Worker"] == "1"


# --- schemathesis against the app (in-process WSGI), a fixed and modest budget ------------


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory):
    app = make_app(tmp_path_factory.mktemp("fuzz"), rate_limit_per_minute=0)
    app.extensions["zicht"].worker = 0  # as under --workers: the header is checked too
    return app


def _checks():
    from schemathesis.checks import (
        content_type_conformance,
        not_a_server_error,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    return [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
        response_headers_conformance,
    ]


schema = schemathesis.openapi.from_dict(SPEC)


# schemathesis' WSGI transport leaves streamed static files unclosed (a ResourceWarning in
# its code, not in the app's); everything else stays an error.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@schema.parametrize()
@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_schemathesis_no_server_errors_no_schema_violations(case, fuzz_app):
    case.call_and_validate(app=fuzz_app, checks=_checks())
