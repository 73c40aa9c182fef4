from __future__ import annotations

import pytest

from cube.engine import Engine
from tests.cube.cube_fixtures import build_release


@pytest.fixture(scope="session")
def release(tmp_path_factory):
    return build_release(tmp_path_factory.mktemp("cube"))


@pytest.fixture(scope="session")
def engine(release):
    eng = Engine.open(release)
    yield eng
    eng.close()
