"""The service's settings choose the backend: ``backend = spark`` opens the engine on the
release's Parquet export (named in its manifest) and answers as the embedded engine does."""

from __future__ import annotations

import os

import pytest

from loaders.releases import get_release
from service.settings import SettingsError, load_settings
from service.state import backend_options, open_engine
from tests.conformance.test_conformance_answers import QUERIES, comparable


def test_settings_refuse_an_unknown_backend():
    with pytest.raises(SettingsError, match="backend: must be `duckdb` or `spark`"):
        load_settings(environ={"ZICHT_BACKEND": "trino"})


def test_spark_setting_opens_the_engine_on_the_manifest_export(conformance_release, reference):
    if not os.environ.get("CI"):
        pytest.importorskip("pyspark", reason="the spark extra is not installed")
    release = get_release(conformance_release.path.parents[1], conformance_release.id)
    settings = load_settings(
        environ={"ZICHT_BACKEND": "spark", "ZICHT_QUERY_TIMEOUT_S": "600"},
        overrides={"spark_master": "local[2]"},
    )
    options = backend_options(release, settings)
    assert options == {"master": "local[2]", "parquet_dir": str(release.path / "parquet")}
    assert backend_options(release, load_settings(environ={})) == {}
    engine = open_engine(release, settings)
    try:
        query = QUERIES["transactions-amount-margins"]
        assert engine.backend().name == "spark"
        assert comparable(engine.answer(query)) == comparable(reference.answer(query))
    finally:
        engine.close()
