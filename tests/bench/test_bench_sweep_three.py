"""The three-item sweep on the small cube-test release: it finds the three-item shapes of
every cube, answers them, and counts what secondary suppression added."""

from __future__ import annotations

import json

import pytest

from bench import sweep_three


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    from tests.cube.cube_fixtures import build_release

    return build_release(tmp_path_factory.mktemp("three")).path.parents[1]


def test_the_sweep_answers_every_three_item_shape_and_counts_its_secondaries(home, tmp_path):
    out = tmp_path / "three.json"
    result = sweep_three.main(["--home", str(home), "--out", str(out)])
    records = json.loads(out.read_text())["records"]
    assert result["errors"] == []
    assert result["queries"] == len(records) >= 1
    ok = [r for r in records if r["status"] == "ok"]
    assert len(ok) == result["answered"] >= 1
    assert all(" x " in r["query"] and r["query"].count("@") == 3 for r in records)
    assert result["suppressed"] == sum(r["suppressed"] for r in ok)
    assert 0 <= result["secondary"] <= result["suppressed"] <= result["values"]
    assert result["slowest"]["seconds"] == max(r["seconds"] for r in ok)
