"""One error shape across every endpoint and error kind; errors never leak (STYLE 5, 6)."""

from __future__ import annotations

import pytest

from cube.errors import TooManyCells
from tests.service.zicht_fakes import SECRET_VALUE, Factory, FakeEngine, make_app

AGG = "/api/v1/cubes/drug_suspects/aggregate"
ADMIN = {"Authorization": "Bearer s3cret-token"}

CASES = [
    ("get", "/api/v1/cubes/nope", {}, None, 404, "not_found"),
    ("get", "/api/v1/cubes/drug_suspects/members/nope", {}, None, 404, "not_found"),
    (
        "get",
        "/api/v1/cubes/drug_suspects/members/residence?limit=0&x=1",
        {},
        None,
        400,
        "invalid_query",
    ),
    ("get", "/api/v1/regions/GM9999/neighbours", {}, None, 404, "not_found"),
    ("get", f"{AGG}?measures=nope", {}, None, 400, "invalid_query"),
    ("get", f"{AGG}?cut=bad", {}, None, 400, "invalid_query"),
    ("get", f"{AGG}?measures=suspects&format=pdf", {}, None, 406, "not_acceptable"),
    ("post", AGG, {}, {"measures": "suspects"}, 400, "invalid_query"),
    ("post", AGG, {}, [1, 2], 400, "invalid_query"),
    ("post", f"{AGG}?limit=3", {}, {"measures": ["suspects"]}, 400, "invalid_query"),
    ("get", "/api/v1/admin/audit", {}, None, 401, "unauthorized"),
    ("get", "/api/v1/admin/risk", {"Authorization": "Bearer x"}, None, 403, "forbidden"),
    ("get", "/api/v1/admin/audit?limit=-1", ADMIN, None, 400, "invalid_query"),
    ("post", "/api/v1/admin/releases/x/activate", ADMIN, None, 404, "not_found"),
    ("post", "/api/v1/admin/releases/rollback", ADMIN, None, 409, "release_error"),
    ("get", "/api/v1/nothing-here", {}, None, 404, "not_found"),
    ("delete", "/api/v1/cubes", {}, None, 405, "method_not_allowed"),
]


@pytest.fixture
def client(tmp_path):
    return make_app(tmp_path).test_client()


def assert_shape(body: dict) -> None:
    assert set(body) == {"error_type", "message", "errors"}
    assert isinstance(body["error_type"], str) and isinstance(body["message"], str)
    for item in body["errors"]:
        assert set(item) == {"location", "message"}


@pytest.mark.parametrize(("method", "url", "headers", "body", "status", "error_type"), CASES)
def test_every_error_has_the_one_shape(client, method, url, headers, body, status, error_type):
    kwargs = {"headers": headers}
    if body is not None:
        kwargs["json"] = body
    r = getattr(client, method)(url, **kwargs)
    assert r.status_code == status
    assert r.json["error_type"] == error_type
    assert_shape(r.json)
    assert r.headers["Cache-Control"] == "no-store"


def test_all_problems_of_a_request_are_reported_at_once(client):
    r = client.post(
        AGG,
        json={
            "measures": [],
            "drilldown": ["Bad Item"],
            "cuts": [{"dimension": "residence", "level": "gemeente"}],
            "totals": "some",
            "surprise": 1,
        },
    )
    locations = {e["location"] for e in r.json["errors"]}
    assert {"measures", "drilldown[0]", "cuts[0]", "totals", "surprise"} <= locations


class LeakyEngine(FakeEngine):
    """An engine whose internals fail with messages full of secrets."""

    def answer(self, query):
        raise RuntimeError(f"SELECT secret FROM fact WHERE person_id = 123 -- {SECRET_VALUE}")


class RefusingEngine(FakeEngine):
    def answer(self, query):
        raise TooManyCells("the answer would have too many cells; add cuts")


def _app_with(tmp_path, engine_cls):
    factory = Factory()
    factory_call = factory.__call__

    def make(release, settings):
        factory_call(release, settings)
        return engine_cls(release.id)

    return make_app(tmp_path, make)  # type: ignore[arg-type]


def test_internal_error_is_generic_and_reveals_nothing(tmp_path):
    c = _app_with(tmp_path, LeakyEngine).test_client()
    r = c.get(f"{AGG}?measures=suspects")
    assert r.status_code == 500
    assert r.json == {
        "error_type": "internal_error",
        "message": "internal error; the incident has been logged",
        "errors": [],
    }
    text = r.get_data(as_text=True)
    for secret in ("SELECT", "person_id", "123", str(SECRET_VALUE), "Traceback"):
        assert secret not in text


def test_engine_user_errors_keep_their_status(tmp_path):
    c = _app_with(tmp_path, RefusingEngine).test_client()
    r = c.get(f"{AGG}?measures=suspects")
    assert r.status_code == 422 and r.json["error_type"] == "too_many_cells"
    assert_shape(r.json)


def test_suppressed_value_never_appears_in_any_format(client):
    for fmt in ("json", "csv", "sdmx-csv", "statline"):
        r = client.get(f"{AGG}?measures=suspects&drilldown=residence@gemeente&format={fmt}")
        assert r.status_code == 200
        assert str(int(SECRET_VALUE)) not in r.get_data(as_text=True)
