"""The engine's domain errors carry no HTTP: the service maps each to its status code; and the
service keeps the one answer cache (``cache_size: 0`` leaves none)."""

from __future__ import annotations

import pytest

from cube.errors import (
    CubeNotInRelease,
    InvalidQuery,
    NoRelease,
    NotFound,
    QueryTimeout,
    TooManyCells,
    UserError,
)
from service.app import create_app
from service.errors import BadReleaseId, RateLimited, http_status
from service.settings import Settings
from tests.cube.cube_fixtures import build_release


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (InvalidQuery("x"), 400),
        (NotFound("x"), 404),
        (CubeNotInRelease("x"), 404),
        (TooManyCells("x"), 422),
        (QueryTimeout.after(1), 503),
        (NoRelease("x"), 503),
        (UserError("x"), 400),
        (BadReleaseId("x"), 404),
        (RateLimited(3), 429),
    ],
)
def test_each_error_has_its_status(error, status):
    assert http_status(error) == status


def test_no_engine_error_knows_http():
    import cube.errors

    for name in dir(cube.errors):
        obj = getattr(cube.errors, name)
        if isinstance(obj, type) and issubclass(obj, UserError):
            assert not hasattr(obj, "http_status"), name


def test_cache_size_zero_caches_no_answer_anywhere(tmp_path):
    release = build_release(tmp_path)
    settings = Settings(home=str(release.path.parent.parent), cache_size=0, rate_limit_per_minute=0)
    app = create_app(settings)
    try:
        client = app.test_client()
        url = "/api/v1/cubes/drug_suspects/aggregate?measures=suspects&drilldown=residence@gemeente"
        assert client.get(url).status_code == 200 and client.get(url).status_code == 200
        svc = app.extensions["zicht"]
        with svc.engines.use() as engine:
            assert len(engine.answer_cache) == 0
    finally:
        app.extensions["zicht"].close()
