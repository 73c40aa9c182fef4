"""Atomic publishing: releases accumulate, ``current`` switches only for a complete release,
rollback/switch work, and a failed or killed load leaves everything as it was."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from loaders import build, load
from loaders.load import clean_stale_staging, load_directory
from loaders.releases import (
    ReleaseError,
    current_release,
    get_release,
    list_releases,
    rollback,
    switch_release,
)
from tests.loaders.load_fixtures import SECRET, valid_tables, write_tables

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def src(tmp_path: Path) -> Path:
    return write_tables(tmp_path / "in", valid_tables())


def _two_releases(src: Path, home: Path) -> tuple[str, str]:
    first = load_directory(src, home, secret=SECRET)
    tables = valid_tables()
    tables["suspects"].pop()  # different data, so a different checksum part in the id
    write_tables(src, tables)
    second = load_directory(src, home, secret=SECRET)
    return first.id, second.id


def test_publish_rollback_and_switch(src: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    first, second = _two_releases(src, home)
    assert first != second and first.split("-")[1] != second.split("-")[1]
    assert [r.id for r in list_releases(home)] == [first, second]
    assert current_release(home).id == second  # type: ignore[union-attr]
    assert rollback(home).id == first
    assert (home / "current").read_text() == first + "\n"
    with pytest.raises(ReleaseError, match="oldest"):
        rollback(home)
    assert switch_release(home, second).id == second
    with pytest.raises(ReleaseError, match="no release with id"):
        switch_release(home, "20990101T000000Z-00000000")
    with pytest.raises(ReleaseError, match="not a valid release id"):
        switch_release(home, "../../etc")
    assert not list((home / "staging").iterdir())


def test_rollback_needs_two_releases(src: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert current_release(home) is None and list_releases(home) == []
    load_directory(src, home, secret=SECRET)
    with pytest.raises(ReleaseError, match="fewer than two"):
        rollback(home)


def test_same_data_twice_in_one_second_gets_distinct_ids(src: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    created = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    a = load._release_id(home, created, ["ab"])
    (home / "releases" / a).mkdir(parents=True)
    assert load._release_id(home, created, ["ab"]) == a + "-2"


def test_failure_during_build_publishes_nothing(
    src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    first = load_directory(src, home, secret=SECRET)

    def disk_full(*args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(build, "build_fact", disk_full)
    with pytest.raises(OSError, match="No space"):
        load_directory(src, home, secret=SECRET)
    assert current_release(home) == first
    assert [r.id for r in list_releases(home)] == [first.id]
    assert not list((home / "staging").iterdir())


def test_damaged_release_is_not_listed(src: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    release = load_directory(src, home, secret=SECRET)
    (home / "releases" / "20990101T000000Z-deadbeef").mkdir()  # no manifest, no data
    assert [r.id for r in list_releases(home)] == [release.id]
    with pytest.raises(ReleaseError, match="manifest missing"):
        get_release(home, "20990101T000000Z-deadbeef")


def test_stale_staging_is_cleaned_but_a_live_one_kept(tmp_path: Path) -> None:
    home = tmp_path / "home"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale, live = home / "staging" / "load-stale", home / "staging" / "load-live"
    for path, pid in ((stale, dead.pid), (live, os.getppid())):
        path.mkdir(parents=True)
        (path / "owner.pid").write_text(str(pid))
    (home / "staging" / "load-unknown").mkdir()
    removed = clean_stale_staging(home)
    assert sorted(p.name for p in removed) == ["load-stale", "load-unknown"]
    assert live.is_dir()


KILLED_LOAD = textwrap.dedent(
    """
    import sys, time
    from contextlib import contextmanager
    from pathlib import Path
    from loaders.load import load_directory

    class Stall:
        def start(self, total): pass
        def note(self, message): pass
        @contextmanager
        def step(self, label):
            if label == "building fact_dwellings":
                Path(sys.argv[3]).write_text("building")
                time.sleep(120)
            yield

    load_directory(Path(sys.argv[1]), Path(sys.argv[2]), secret=b"test-secret-0123456789-abcdef",
                   progress=Stall())
    """
)


def test_killed_load_leaves_current_untouched(src: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = load_directory(src, home, secret=SECRET)
    marker = tmp_path / "marker"
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_LOAD, str(src), str(home), str(marker)], cwd=ROOT
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert proc.poll() is None, "the load ended before reaching the build"
            assert time.monotonic() < deadline, "the load never reached the build"
            time.sleep(0.05)
        # Mid-build: the staging release already holds fact_population.
        assert any((home / "staging").rglob("release.duckdb"))
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert current_release(home) == first
    assert [r.id for r in list_releases(home)] == [first.id]
    assert len(list((home / "staging").iterdir())) == 1  # left behind by the killed load
    second = load_directory(src, home, secret=SECRET)
    assert current_release(home) == second
    assert not list((home / "staging").iterdir())
