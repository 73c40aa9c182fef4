"""The large-answers bench runs end to end on the small cube-test release: every format is
written, every HTTP request answered."""

from __future__ import annotations

import json

import pytest

from bench import large_answers
from cube.engine import Engine
from loaders.releases import current_release
from service.formats import SERIALISERS, render


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    from tests.cube.cube_fixtures import build_release

    return build_release(tmp_path_factory.mktemp("large")).path.parents[1]


def test_amsterdam_and_others_timed_in_every_format_and_over_http(home, tmp_path):
    out = tmp_path / "large.json"
    args = ["--home", str(home), "--gemeenten", "3", "--years", "2022-2023", "--out", str(out)]
    result = large_answers.main(args)
    assert json.loads(out.read_text()) == result
    assert result["gemeenten"][0] == "GM0363" and len(result["gemeenten"]) == 3
    assert result["years"] == ["2022", "2023"]
    process, http = result["process"]["amsterdam"], result["http"]["amsterdam"]
    engine = Engine.open(current_release(home))
    try:
        answer = engine.answer(large_answers.of_gemeente("GM0363", ("2022", "2023")))
    finally:
        engine.close()
    assert process["rows"] == len(answer.rows) > 0 and process["answer_ms"] > 0
    for fmt in SERIALISERS:  # each format's body as the service renders the same answer
        assert process[f"{fmt}_bytes"] == len(render(answer, fmt)) and process[f"{fmt}_ms"] >= 0
    assert all(http[f"{fmt}_ms"] > 0 for fmt in large_answers.HTTP_FORMATS)
    assert set(result["process"]["others_median"]) == set(process)
