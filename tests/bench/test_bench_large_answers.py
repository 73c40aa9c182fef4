"""The large-answers bench runs end to end on the small cube-test release: every format is
written, every HTTP request answered."""

from __future__ import annotations

import json

import pytest

from bench import large_answers
from service.formats import SERIALISERS


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
    assert process["rows"] > 0 and process["answer_ms"] > 0
    assert all(process[f"{fmt}_ms"] > 0 for fmt in SERIALISERS)
    assert all(http[f"{fmt}_ms"] > 0 for fmt in large_answers.HTTP_FORMATS)
    assert set(result["process"]["others_median"]) == set(process)
