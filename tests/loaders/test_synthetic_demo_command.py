"""`zicht demo`: generate, load through the real loader, summarise; --if-missing; bad input."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import duckdb
import pytest

from loaders.releases import current_release, list_releases
from loaders.synthetic import DEMO_FIRST_YEAR, params
from service.cli import main


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """One demo build shared by the tests (scale 0.001: a few seconds)."""
    home = tmp_path_factory.mktemp("demo-home")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--home", str(home), "demo", "--scale", "0.001", "--seed", "5"])
    return home, code, out.getvalue()


def test_demo_builds_and_publishes_a_release(built):
    home, code, out = built
    assert code == 0
    release = current_release(home)
    assert release is not None
    assert f"published release {release.id}" in out
    assert (home / "demo-input" / "5-0.001" / "population.parquet").is_file()
    with duckdb.connect(str(release.db_path), read_only=True) as con:
        meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
    assert meta["seed"] == "5" and meta["scale"] == "0.001"
    assert meta["first_year"] == str(DEMO_FIRST_YEAR)


def test_summary_lists_datasets_years_and_regions(built):
    _, _, out = built
    years = f"{DEMO_FIRST_YEAR}-{params.LAST_YEAR}"  # the demo's years by default
    for name in ("population", "dwellings", "plantations", "suspects", "transactions"):
        assert any(line.strip().startswith(name) and years in line for line in out.splitlines())
    assert "342 gemeente" in out and "3,352 wijk" in out and "10 politie_eenheid" in out


def test_if_missing_keeps_the_current_release(built, capsys):
    home, _, _ = built
    before = [r.id for r in list_releases(home)]
    assert main(["--home", str(home), "demo", "--if-missing", "--scale", "0.001"]) == 0
    out = capsys.readouterr().out
    assert "nothing to build" in out and "342 gemeente" in out
    assert [r.id for r in list_releases(home)] == before


@pytest.mark.parametrize(
    "args,message",
    [
        (["--scale", "0"], "--scale must be between"),
        (["--seed", "-3"], "--seed must be"),
        (["--first-year", "2014"], "--first-year must be between 2015 and 2024"),
        (["--first-year", "2025"], "--first-year must be between 2015 and 2024"),
    ],
)
def test_bad_arguments(tmp_path: Path, capsys, args, message):
    assert main(["--home", str(tmp_path), "demo", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "releases").exists()


def test_all_simulated_years_on_request(tmp_path: Path, capsys):
    home = tmp_path / "home"
    args = ["--home", str(home), "demo", "--scale", "0.001", "--seed", "5", "--first-year", "2015"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert any(
        line.strip().startswith("population") and "2015-2024" in line for line in out.splitlines()
    )
