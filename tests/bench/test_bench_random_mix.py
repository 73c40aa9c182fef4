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


def test_a_wide_mix_draws_every_form_of_the_contract_and_never_fails(home):
    engine = Engine.open(current_release(home))
    try:
        draw = random_mix.Draw(engine, 5, wide=True)
        queries = [draw.query() for _ in range(120)]
        narrow = random_mix.Draw(engine, 5)
        assert [q.cube for q in queries[:1]] == [narrow.query().cube]  # same first draw
        records = random_mix.run(engine, 120, 5, wide=True)
    finally:
        engine.close()
    assert [r["query"] for r in records] == [repr(q) for q in queries]
    cuts = [c for q in queries for c in q.cuts]
    assert any(c.relation in ("neighbours", "peers") for c in cuts)
    assert any(c.exclude for c in cuts) and any(c.from_ and c.role != "period" for c in cuts)
    assert any(c.role not in ("period", "region", "residence") for c in cuts)
    assert any(q.derived for q in queries) and any(q.ranking for q in queries)
    assert any(q.order for q in queries) and any(q.limit for q in queries)
    assert any(q.options for q in queries) and any(q.lang == "en" for q in queries)
    assert any("." in m for q in queries for m in q.measures)
    statuses = {r["status"] for r in records}
    assert statuses <= {"ok", "invalid_query", "too_many_cells"}, statuses
    assert sum(r["status"] == "ok" for r in records) >= 60
