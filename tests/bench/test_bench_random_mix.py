"""The random-mix bench on the small cube-test release: every drawn query is answered or
refused as a valid-looking query may be, never fails; the same seed draws the same mix."""

from __future__ import annotations

import json

import pytest

from bench import random_mix
from cube.engine import Engine
from loaders.releases import current_release


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    from tests.cube.cube_fixtures import build_release

    return build_release(tmp_path_factory.mktemp("mix")).path.parents[1]


def test_a_seeded_mix_is_answered_without_errors_and_drawn_alike_twice(home, tmp_path):
    out = tmp_path / "mix.json"
    result = random_mix.main(["--home", str(home), "--queries", "40", "--seed", "3",
                              "--slow-ms", "0", "--out", str(out)])  # fmt: skip
    written = json.loads(out.read_text())
    assert written["errors"] == [] == result["errors"]
    assert result["queries"] == 40 and result["answered"] >= 20
    assert result["answered"] + result["refused"] == 40
    records = written["records"]
    assert {r["status"] for r in records} <= {"ok", "invalid_query", "too_many_cells"}
    assert len(result["slow"]) == 40  # every query is over 0 ms
    assert result["max_ms"] == max(r["ms"] for r in records if r["status"] == "ok")
    cubes = {r["query"].split("'")[1] for r in records}
    assert len(cubes) >= 4  # the draw reaches most cubes
    engine = Engine.open(current_release(home))
    try:
        draw = random_mix.Draw(engine, 3)
        drawn = [repr(draw.query()) for _ in range(40)]
    finally:
        engine.close()
    assert drawn == [r["query"] for r in records]


def test_an_error_is_reported_and_the_mix_goes_on(home, monkeypatch):
    calls = {"n": 0}
    answer = Engine.answer

    def failing(self, query):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("boom")
        return answer(self, query)

    monkeypatch.setattr(Engine, "answer", failing)
    result = random_mix.main(["--home", str(home), "--queries", "5", "--seed", "1"])
    assert [e["status"] for e in result["errors"]] == ["error: RuntimeError"]
    assert result["errors"][0]["i"] == 1 and result["queries"] == 5
