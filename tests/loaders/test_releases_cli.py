"""`zicht load` and `zicht releases` from the command line: messages and exit codes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from service.cli import main
from tests.loaders.load_fixtures import SECRET, valid_tables, write_tables

ENV = "ZICHT_RECORD_KEY_SECRET"


@pytest.fixture
def src(tmp_path: Path) -> Path:
    return write_tables(tmp_path / "in", valid_tables())


def test_load_refuses_without_secret(
    src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(ENV, raising=False)
    assert main(["--home", str(tmp_path / "home"), "load", str(src)]) == 2
    err = capsys.readouterr().err
    assert "no record-key secret: pass --secret-file FILE or set ZICHT_RECORD_KEY_SECRET" in err
    assert not (tmp_path / "home" / "releases").exists()


def test_load_refuses_a_short_secret_without_echoing_it(
    src: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_bytes(b"hunter2")
    code = main(
        ["--home", str(tmp_path / "home"), "load", str(src), "--secret-file", str(secret_file)]
    )
    err = capsys.readouterr().err
    assert code == 2 and "at least 16 bytes" in err and "hunter2" not in err


def test_load_and_list_and_rollback(
    src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home = str(tmp_path / "home")
    secret_file = tmp_path / "secret"
    secret_file.write_bytes(SECRET + b"\n")
    assert main(["--home", home, "load", str(src), "--secret-file", str(secret_file)]) == 0
    out = capsys.readouterr().out
    assert "published release" in out and "fact_population" in out
    monkeypatch.setenv(ENV, SECRET.decode())
    tables = valid_tables()
    tables["transactions"].pop()
    write_tables(src, tables)
    assert main(["--home", home, "load", str(src)]) == 0
    capsys.readouterr()
    assert main(["--home", home, "releases"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 and lines[1].startswith("  ") and lines[2].startswith("* ")
    first, second = lines[1].split()[0], lines[2].split()[1]
    assert "population 16" in lines[1] and "transactions 4" in lines[2]
    assert main(["--home", home, "releases", "rollback"]) == 0
    assert capsys.readouterr().out == f"current release is now {first}\n"
    assert main(["--home", home, "releases", "switch", second]) == 0
    assert main(["--home", home, "releases", "list"]) == 0
    assert f"* {second}" in capsys.readouterr().out


def test_load_prints_all_problems_and_fails(
    src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(ENV, SECRET.decode())
    tables = valid_tables()
    tables["population"][0]["sex"] = "X"
    tables["suspects"][0]["person_id"] = 999
    write_tables(src, tables)
    assert main(["--home", str(tmp_path / "home"), "load", str(src)]) == 1
    err = capsys.readouterr().err
    assert "population.parquet row 1 column sex: value 'X' is not in the code list sex" in err
    assert (
        "suspects.parquet row 1 column person_id: value '999' not found in population.person_id"
        in err
    )
    assert "load refused (2 problems reported), nothing was published" in err
    assert "Traceback" not in err and "SELECT" not in err


def test_releases_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = str(tmp_path / "home")
    assert main(["--home", home, "releases"]) == 0
    assert "no releases in" in capsys.readouterr().out
    assert main(["--home", home, "releases", "rollback"]) == 2
    assert "nothing to roll back to" in capsys.readouterr().err
    assert main(["--home", home, "releases", "switch", "nope"]) == 2
    assert "no release with id 'nope'" in capsys.readouterr().err


@pytest.mark.parametrize("bad", ["x" * 300, "../../etc", ".current"])
def test_a_malformed_release_id_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bad: str
) -> None:
    for command in (["releases", "switch", bad], ["rollups", bad], ["export", bad]):
        assert main(["--home", str(tmp_path), *command]) == 2
        err = capsys.readouterr().err
        assert "not a valid release id" in err and "Traceback" not in err and len(err) < 300


def test_a_second_load_into_one_home_fails_at_once(
    src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from loaders.load import load_lock

    monkeypatch.setenv(ENV, SECRET.decode())
    home = tmp_path / "home"
    home.mkdir()
    with load_lock(home):  # as a load running in another process would hold it
        assert main(["--home", str(home), "load", str(src)]) == 2
        assert main(["--home", str(home), "demo", "--scale", "0.001"]) == 2
    err = capsys.readouterr().err
    assert err.count(f"another load into {home} is running (process {os.getpid()})") == 2
    assert not (home / "releases").exists() and not (home / "demo-input").exists()
    assert main(["--home", str(home), "load", str(src), "--no-rollups"]) == 0  # lock released
