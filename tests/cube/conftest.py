from __future__ import annotations

import pytest

from cube.engine import Engine
from cube.model import load_catalog
from cube.rollups import build as build_rollups
from tests.cube.cube_fixtures import build_release


@pytest.fixture(scope="session")
def release(tmp_path_factory):
    rel = build_release(tmp_path_factory.mktemp("cube"))
    build_rollups(rel.db_path, rel.id, load_catalog())
    return rel


@pytest.fixture(scope="session")
def engine(release):
    """The engine as users run it: with the release's rollups (``cube.rollups``)."""
    eng = Engine.open(release)
    yield eng
    eng.close()


@pytest.fixture(scope="session")
def facts_engine(release):
    """The same release answered from its facts only."""
    eng = Engine.open(release, rollups=False)
    yield eng
    eng.close()


@pytest.fixture(params=["rollups", "facts"])
def either_engine(request, engine, facts_engine):
    return engine if request.param == "rollups" else facts_engine
