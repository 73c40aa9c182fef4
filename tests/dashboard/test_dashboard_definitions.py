"""Every indicator is explained: a definition and a unit in Dutch and English for every measure
of the cube model, served by the model resource with the source and the reference date."""

from __future__ import annotations

import pytest

from cube.model import load_catalog
from service.app import create_app
from service.settings import Settings
from tests.cube.cube_fixtures import build_release

CATALOG = load_catalog()
MEASURES = [(c, m) for c in CATALOG.cubes.values() for m in c.measures]


@pytest.mark.parametrize("cube,measure", MEASURES, ids=[f"{c.id}.{m.id}" for c, m in MEASURES])
def test_every_measure_has_a_definition_and_unit_in_both_languages(cube, measure):
    assert measure.definition is not None and measure.unit_label is not None
    for text in (measure.definition.nl, measure.definition.en):
        assert len(text.split()) >= 4, text  # a sentence, not a placeholder
    assert measure.definition.nl != measure.definition.en
    assert measure.unit_label.nl.strip() and measure.unit_label.en.strip()


def test_units_on_the_dutch_page_are_dutch():
    dutch = {m.unit_label.nl for _c, m in MEASURES if m.unit_label}
    assert {"personen", "woningen", "per 10.000 inwoners", "index (bevolking = 100)"} <= dutch
    assert not dutch & {"persons", "dwellings", "per 10,000 inhabitants"}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    release = build_release(tmp_path_factory.mktemp("definitions"))
    app = create_app(Settings(home=str(release.path.parents[1]), rate_limit_per_minute=0))
    yield app.test_client()
    app.extensions["zicht"].close()


def test_the_model_resource_serves_definitions_units_source_and_reference_date(client):
    cubes = client.get("/api/v1/cubes").json["cubes"]
    assert cubes
    for summary in cubes:
        model = client.get(f"/api/v1/cubes/{summary['id']}").json
        assert model["source"]["label"] and model["source"]["label_en"]
        assert model["reference_date"]["nl"] and model["reference_date"]["en"]
        for m in model["measures"]:
            assert m["definition"]["nl"] and m["definition"]["en"], m["id"]
            assert m["unit_label"]["nl"] and m["unit_label"]["en"], m["id"]
    stock = client.get("/api/v1/cubes/population").json["reference_date"]
    assert stock == {"nl": "1 januari van het jaar", "en": "1 January of the year"}
