"""`make run` installs only what serving needs; the test, lint and bench targets add the extras.

Read from the Makefile with `make -n` (print, do not run) in a copy without a virtualenv, so
the test sees the commands a fresh machine would run.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _dry_run(tmp_path: Path, target: str, *touch: str) -> str:
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    for name in touch:
        path = tmp_path / ".venv" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    done = subprocess.run(
        ["make", "-n", target], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    return done.stdout


def test_run_installs_the_package_without_extras(tmp_path):
    out = _dry_run(tmp_path, "run")
    installs = [line for line in out.splitlines() if "pip install" in line and "-e" in line]
    assert installs == [".venv/bin/pip install -q -e ."]
    assert "zicht demo --if-missing" in out and "zicht serve" in out


def test_run_passes_demo_args_to_the_demo(tmp_path):
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    done = subprocess.run(
        ["make", "-n", "run", "DEMO_ARGS=--scale 1 --seed 3"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert ".venv/bin/zicht demo --if-missing --scale 1 --seed 3" in done.stdout


@pytest.mark.parametrize("target", ["test", "lint", "bench"])
def test_test_targets_add_the_test_and_spark_extras(tmp_path, target):
    out = _dry_run(tmp_path, target)
    assert ".venv/bin/pip install -q -e '.[test,spark]'" in out


def test_a_full_install_also_serves_without_installing_again(tmp_path):
    # `make test` touches both stamps; pyproject.toml is older than them.
    out = _dry_run(tmp_path, "run", "bin/python", ".installed-test", ".installed-run")
    assert "pip install" not in out


def test_the_package_builds_without_deprecated_metadata(tmp_path):
    # `make run` builds the package with the newest setuptools the registry has; a form it
    # deprecates (a license as a table) will one day fail a fresh machine's first command.
    import sys
    import zipfile

    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        check=True,
    )
    said = (done.stdout + done.stderr).lower()
    assert "deprecat" not in said, said[-2000:]
    (wheel,) = tmp_path.glob("zicht-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        meta = zf.read(next(n for n in zf.namelist() if n.endswith("METADATA"))).decode()
    assert "License-Expression: EUPL-1.2" in meta
