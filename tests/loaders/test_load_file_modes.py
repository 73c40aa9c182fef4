"""Microdata and the audit log are never readable by other users: 0600/0700, or 0640/0750 with
the configured group; checked on real loads, a demo build, an export and the audit log."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from loaders.files import FileModes
from service.audit import AuditLog
from service.cli import main
from tests.loaders.load_fixtures import SECRET, valid_tables, write_tables


@pytest.fixture(autouse=True)
def permissive_umask(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The usual 022: without protection everything would come out world-readable."""
    monkeypatch.setenv("ZICHT_RECORD_KEY_SECRET", SECRET.decode())
    monkeypatch.delenv("ZICHT_FILE_GROUP", raising=False)
    old = os.umask(0o022)
    yield
    os.umask(old)


def modes_under(root: Path) -> dict[str, int]:
    found = {".": stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        found[str(path.relative_to(root))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def assert_private(root: Path, file_mode: int = 0o600, dir_mode: int = 0o700) -> dict[str, int]:
    found = modes_under(root)
    wrong = {
        name: oct(mode)
        for name, mode in found.items()
        if mode != (dir_mode if (root / name).is_dir() else file_mode)
    }
    assert not wrong, wrong
    return found


def test_a_load_writes_release_rollups_and_manifest_owner_only(tmp_path: Path) -> None:
    src = write_tables(tmp_path / "in", valid_tables())
    home = tmp_path / "home"
    assert main(["--home", str(home), "load", str(src)]) == 0
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    found = assert_private(home / "releases")
    names = {Path(n).name for n in found}
    assert {"release.duckdb", "rollups.duckdb", "manifest.json"} <= names
    assert main(["--home", str(home), "export", "--clear-keys"]) == 0
    exported = assert_private(home / "releases")
    assert any(n.endswith(".parquet") for n in exported)


def test_a_configured_group_may_read_but_nobody_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gid = os.getgid()  # a group this process may give files to
    monkeypatch.setenv("ZICHT_FILE_GROUP", str(gid))
    src = write_tables(tmp_path / "in", valid_tables())
    home = tmp_path / "home"
    assert main(["--home", str(home), "load", str(src), "--no-rollups"]) == 0
    assert_private(home / "releases", 0o640, 0o750)
    assert {p.stat().st_gid for p in (home / "releases").rglob("*")} == {gid}
    assert main(["--home", str(home), "rollups"]) == 0
    assert_private(home / "releases", 0o640, 0o750)


def test_an_unknown_group_is_refused_before_anything_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ZICHT_FILE_GROUP", "no-such-group-zicht")
    src = write_tables(tmp_path / "in", valid_tables())
    assert main(["--home", str(tmp_path / "home"), "load", str(src)]) == 2
    assert "file_group: no group 'no-such-group-zicht'" in capsys.readouterr().err
    assert not (tmp_path / "home" / "releases").exists()


def test_a_demo_build_keeps_its_generated_inputs_private(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert main(["--home", str(home), "demo", "--scale", "0.001", "--seed", "3"]) == 0
    inputs = assert_private(home / "demo-input")
    assert any(n.endswith((".parquet", ".csv")) for n in inputs)
    assert_private(home / "releases")


@pytest.mark.parametrize(
    ("modes", "file_mode", "dir_mode"),
    [(FileModes(), 0o600, 0o700), (FileModes(str(os.getgid())), 0o640, 0o750)],
)
def test_the_audit_log_is_private(
    tmp_path: Path, modes: FileModes, file_mode: int, dir_mode: int
) -> None:
    (tmp_path / "audit").mkdir(mode=0o755)  # made earlier by a careless hand
    log = AuditLog(tmp_path / "audit", modes)
    log.append({"client": "addr:1"})
    log.close()
    assert_private(tmp_path / "audit", file_mode, dir_mode)
