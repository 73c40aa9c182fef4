"""``zicht rollups`` and the rollups ``zicht load`` builds before publishing."""

from __future__ import annotations

import pytest

from cube.engine import Engine
from cube.rollups import FILE
from loaders.load import load_directory
from loaders.releases import current_release, list_releases
from service.cli import main
from tests.cube.cube_fixtures import tables
from tests.loaders.load_fixtures import SECRET, write_tables


@pytest.fixture(scope="module")
def delivery(tmp_path_factory):
    return write_tables(tmp_path_factory.mktemp("delivery"), tables())


def _load(delivery, home, *extra: str) -> int:
    secret = home.parent / "secret"
    secret.write_bytes(SECRET)
    return main(["--home", str(home), "load", str(delivery), "--secret-file", str(secret), *extra])


def test_load_publishes_the_rollups_with_the_release(delivery, tmp_path, capsys):
    home = tmp_path / "home"
    assert _load(delivery, home) == 0
    release = current_release(home)
    assert (release.path / FILE).is_file()
    engine = Engine.open(release)
    try:
        assert set(engine.rollups) == {"population", "dwellings", "companies"}
    finally:
        engine.close()


def test_load_without_rollups_then_the_command_builds_them(delivery, tmp_path, capsys):
    home = tmp_path / "home"
    assert _load(delivery, home, "--no-rollups") == 0
    release = current_release(home)
    assert not (release.path / FILE).exists()
    capsys.readouterr()
    assert main(["--home", str(home), "releases"]) == 0
    assert f"{release.id}" in (listing := capsys.readouterr().out) and " no " in listing
    assert main(["--home", str(home), "rollups"]) == 0
    out = capsys.readouterr().out
    assert "population" in out and f"rollups of release {release.id} written" in out
    assert (release.path / FILE).is_file()
    assert main(["--home", str(home), "rollups", release.id]) == 0  # a rebuild replaces it
    capsys.readouterr()
    assert main(["--home", str(home), "releases"]) == 0
    assert " yes " in capsys.readouterr().out
    assert not [p for p in release.path.iterdir() if p.name.startswith(".")]


def test_rollups_command_errors(tmp_path, capsys):
    assert main(["--home", str(tmp_path / "empty"), "rollups"]) == 2
    assert "no current release" in capsys.readouterr().err
    assert main(["--home", str(tmp_path / "empty"), "rollups", "no-such-release"]) == 2
    assert "no-such-release" in capsys.readouterr().err


def test_a_failing_pre_aggregation_publishes_nothing(delivery, tmp_path):
    home = tmp_path / "home"

    def broken(db_path, release_id):
        (db_path.parent / FILE).write_bytes(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        load_directory(delivery, home, secret=SECRET, finalize=broken)
    assert list_releases(home) == []
    assert current_release(home) is None
