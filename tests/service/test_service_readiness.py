"""/ready fails when the serving release's files are gone or changed; the check is cheap."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from loaders.releases import file_checksums
from service.readiness import ReleaseFiles
from tests.service.zicht_fakes import make_app

RID = "20250101T000000Z-aaaaaaaa"


def release_dir(tmp_path: Path) -> Path:
    return tmp_path / "releases" / RID


def with_checksums(path: Path) -> None:
    """Give the fake release real content and a manifest that names its files."""
    (path / "release.duckdb").write_bytes(b"facts " * 1000)
    (path / "rollups.duckdb").write_bytes(b"rollups " * 100)
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["files"] = file_checksums(path)
    (path / "manifest.json").write_text(json.dumps(manifest))


def ready(client) -> tuple[int, list[str]]:
    r = client.get("/ready")
    assert r.headers["Cache-Control"] == "no-store"
    return r.status_code, [e["message"] for e in r.json.get("errors", [])]


def test_ready_until_the_database_is_deleted(tmp_path: Path) -> None:
    client = make_app(tmp_path, ids=(RID,)).test_client()
    assert ready(client) == (200, [])
    (release_dir(tmp_path) / "release.duckdb").unlink()
    code, problems = ready(client)
    assert code == 503 and problems == [
        f"release {RID}: its directory, manifest or database is gone"
    ]
    assert client.get("/health").status_code == 200  # alive, only not ready


def test_a_file_changed_in_place_or_truncated_is_caught(tmp_path: Path) -> None:
    client = make_app(tmp_path, ids=(RID,)).test_client()
    with_checksums(release_dir(tmp_path))
    assert ready(client) == (200, [])
    rollups = release_dir(tmp_path) / "rollups.duckdb"
    rollups.write_bytes(b"ROLLUPS " * 100)  # same size, other bytes
    assert ready(client) == (
        503,
        [f"release {RID}: rollups.duckdb has changed (checksum differs from the manifest)"],
    )
    (release_dir(tmp_path) / "release.duckdb").write_bytes(b"")
    _, problems = ready(client)
    assert f"release {RID}: release.duckdb has changed (size differs from the manifest)" in problems
    assert len(problems) == 2  # every problem at once
    rollups.unlink()
    assert f"release {RID}: rollups.duckdb is missing" in ready(client)[1]


def test_an_unchanged_file_is_hashed_once(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "home" / "releases" / RID
    path.mkdir(parents=True)
    (path / "manifest.json").write_text(json.dumps({"id": RID}))
    with_checksums(path)
    hashed: list[Path] = []
    import loaders.releases as rel

    real = rel.sha256_file
    monkeypatch.setattr(rel, "sha256_file", lambda p: hashed.append(p) or real(p))
    files = ReleaseFiles()
    for _ in range(5):
        assert files.problems(tmp_path / "home", RID) == []
    assert sorted(p.name for p in hashed) == ["release.duckdb", "rollups.duckdb"]
    os.utime(path / "rollups.duckdb", ns=(1, 1))  # touched: hashed again, still the same bytes
    assert files.problems(tmp_path / "home", RID) == []
    assert len(hashed) == 3


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into any directory")
def test_not_ready_when_the_audit_log_cannot_be_written(tmp_path: Path) -> None:
    client = make_app(tmp_path, ids=(RID,)).test_client()
    audit = tmp_path / "audit"
    audit.chmod(0o500)
    try:
        assert ready(client) == (503, ["the audit log directory cannot be written"])
    finally:
        audit.chmod(0o700)
