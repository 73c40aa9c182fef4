"""The model files: valid, every problem reported at once, and the reference doc kept true."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cube.model import MODEL_DIR, ModelError, load_catalog
from cube.model_doc import render

DOC = Path(__file__).parents[2] / "docs" / "cube-model.md"


def test_model_loads_with_every_cube_of_the_design():
    cat = load_catalog()
    assert set(cat.cubes) == {
        "population",
        "dwellings",
        "plantations",
        "drug_suspects",
        "transactions",
        "companies",
    }
    suspects = cat.cubes["drug_suspects"]
    assert [r.id for r in suspects.roles_of("region")] == ["residence", "offence"]
    assert suspects.measure("suspects_per_10k_inhabitants").denominator == "population.inhabitants"


def test_committed_reference_doc_is_current():
    assert DOC.read_text() == render(), "run: python -m cube.model_doc > docs/cube-model.md"


def test_every_problem_in_a_broken_model_is_reported(tmp_path):
    models = tmp_path / "models"
    shutil.copytree(MODEL_DIR, models)
    text = (models / "drug_suspects.yaml").read_text()
    text = text.replace("dimension: sex", "dimension: gender")
    text = text.replace("denominator: population.inhabitants", "denominator: population.nope")
    text = text.replace("kind: share", "kind: ratio")
    (models / "drug_suspects.yaml").write_text(text)
    dims = (models / "dimensions.yaml").read_text()
    (models / "dimensions.yaml").write_text(
        dims.replace("by_name_only: true", "by_name_only: 'yes'")
    )
    (models / "policies.yaml").write_text("default:\n  threshold: -3\n  colour: red\n")
    with pytest.raises(ModelError) as err:
        load_catalog(models)
    joined = "\n".join(err.value.problems)
    for expected in (
        "unknown dimension 'gender'",
        "unknown measure 'population.nope'",
        "unknown measure kind 'ratio'",
        "policies.default: colour",
        "policies.default: threshold",
        "dimensions.yes_no.by_name_only: must be true or false",
    ):
        assert expected in joined, expected
