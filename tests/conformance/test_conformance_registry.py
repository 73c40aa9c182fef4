"""Every backend is whole: an opener, a dialect entry, a module, the service's name for it, a
conformance run, and a row in docs/cube-engine.md, whose walk-through names only files that
exist. A backend added without one of them fails here, by name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cube.backends import OPENERS
from cube.dialects import DIALECTS
from service.settings import BACKENDS as SETTINGS_BACKENDS
from tests.conformance.conftest import BACKENDS as CONFORMANCE_RUNS

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "cube-engine.md").read_text(encoding="utf-8")
WALK = DOC[DOC.index("### Where to add a backend") :]


@pytest.mark.parametrize("name", sorted(OPENERS))
def test_every_backend_is_complete(name):
    assert name in DIALECTS, f"{name}: no Dialect entry in cube.dialects.DIALECTS"
    module = ROOT / "cube" / ("backend.py" if name == "duckdb" else f"backends/{name}.py")
    assert module.is_file(), f"{name}: no module {module.relative_to(ROOT)}"
    assert name in SETTINGS_BACKENDS, f"{name}: not a `backend` the service accepts"
    assert name in CONFORMANCE_RUNS, f"{name}: no run of tests/conformance"
    assert re.search(rf"^\| `{name}`", DOC, re.M), f"{name}: no row in docs/cube-engine.md"
    if name != "duckdb":
        tests = ROOT / "tests" / "cube" / f"test_backends_{name}.py"
        assert tests.is_file(), f"{name}: no {tests.relative_to(ROOT)}"


def test_the_service_accepts_exactly_the_registered_backends():
    assert set(SETTINGS_BACKENDS) == set(OPENERS)


def test_the_walk_through_names_files_that_exist():
    paths = set(re.findall(r"`((?:cube|tests|service|docs)/[\w/<>.-]+|pyproject\.toml)`", WALK))
    assert {"cube/dialects.py", "cube/backends/__init__.py", "pyproject.toml"} <= paths
    assert "tests/conformance/conftest.py" in paths and "service/state.py" in paths
    for path in paths:
        if "<name>" in path:  # a pattern: every non-default backend has its file
            for name in set(OPENERS) - {"duckdb"}:
                assert (ROOT / path.replace("<name>", name)).is_file(), (path, name)
        else:
            assert (ROOT / path).exists(), path
