"""Releases published before a model change keep opening: the engine serves the cubes a release
has and answers the others with ``cube_not_in_release``."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from cube.engine import Engine
from cube.errors import CubeNotInRelease, InvalidQuery
from cube.model import ModelError, load_catalog
from cube.query import Query
from layout.facts import FACTS, LAYOUT_VERSION
from loaders import build
from loaders.load import load_directory
from loaders.releases import Release, get_release
from tests.cube.cube_fixtures import SECRET, tables, write_tables

POPULATION = Query("population", ("inhabitants",), ("region@gemeente", "period@year"))


def publish_without(tmp: Path, dataset: str, *, layout_version: int | None) -> Release:
    """A release made by the current loader without ``dataset``'s facts (as if published before
    its cube existed); ``layout_version=None`` also writes the manifest older loaders wrote."""
    src = write_tables(tmp / "input", tables())
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(build, "FACTS", tuple(f for f in FACTS if f.dataset != dataset))
        rel = load_directory(src, tmp / "home", secret=SECRET)
    manifest = json.loads((rel.path / "manifest.json").read_text("utf-8"))
    assert f"fact_{dataset}" not in manifest["facts"].values()
    if layout_version is None:
        del manifest["facts"], manifest["layout_version"]
    else:
        manifest["layout_version"] = layout_version
    (rel.path / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    return get_release(tmp / "home", rel.id)


@pytest.fixture(scope="module")
def old_release(tmp_path_factory: pytest.TempPathFactory) -> Release:
    return publish_without(tmp_path_factory.mktemp("old"), "companies", layout_version=None)


@pytest.fixture(scope="module")
def listed_release(tmp_path_factory: pytest.TempPathFactory) -> Release:
    return publish_without(
        tmp_path_factory.mktemp("listed"), "companies", layout_version=LAYOUT_VERSION
    )


def test_a_new_release_lists_its_facts_and_layout(release: Release) -> None:
    assert release.manifest["layout_version"] == LAYOUT_VERSION
    assert release.manifest["facts"] == {f.dataset: f.table for f in FACTS}


@pytest.mark.parametrize("which", ["old_release", "listed_release"])
def test_a_release_without_a_cube_opens_and_serves_the_others(
    which: str, request: pytest.FixtureRequest, engine: Engine
) -> None:
    rel: Release = request.getfixturevalue(which)
    old = Engine.open(rel)
    try:
        assert "companies" not in {c["id"] for c in old.cubes()}
        assert {c["id"] for c in old.cubes()} == set(engine.catalog.cubes) - {"companies"}
        companies = engine.catalog.cubes["companies"]
        query = Query("companies", (companies.measures[0].id,), ("region@gemeente",))
        for call in (lambda: old.answer(query), lambda: old.cube("companies")):
            with pytest.raises(CubeNotInRelease) as exc:
                call()
            assert exc.value.error_type == "cube_not_in_release"
            assert "published without" in exc.value.problems[0].message
            assert "population" in exc.value.problems[1].message
        # the same input and secret: the cubes it has answer exactly as a current release does
        assert old.answer(POPULATION).rows == engine.answer(POPULATION).rows
        # a measure of the absent cube named from another cube is a problem like any other
        with pytest.raises(InvalidQuery) as bad:
            old.answer(replace(POPULATION, measures=("inhabitants", "companies.companies")))
        assert "not in this release" in bad.value.problems[0].message
    finally:
        old.close()


def test_measures_needing_an_absent_cube_are_left_out() -> None:
    catalog = load_catalog()
    without = catalog.without({"population": "not in this release"})
    assert "population" not in without.cubes and without.absent
    for cube in without.cubes.values():
        for m in cube.measures:
            assert not any(r.startswith("population.") for r in m.components()), (cube.id, m.id)
            own = {x.id for x in cube.measures}
            assert all("." in r or r in own for r in m.components())
    dropped = {m.id for m in catalog.cubes["drug_suspects"].measures} - {
        m.id for m in without.cubes["drug_suspects"].measures
    }
    assert dropped and all(
        any(
            r.startswith("population.")
            for r in catalog.cubes["drug_suspects"].measure(d).components()
        )
        or set(catalog.cubes["drug_suspects"].measure(d).components()) & dropped
        for d in dropped
    )
    assert catalog.without({}) is catalog


def _with_a_column_dropped(rel: Release, tmp: Path, *, layout_version: int | None) -> Release:
    target = tmp / "home" / "releases" / rel.id
    shutil.copytree(rel.path, target)
    (target / "rollups.duckdb").unlink(missing_ok=True)
    con = duckdb.connect(str(target / "release.duckdb"))
    con.execute("ALTER TABLE fact_dwellings DROP COLUMN doorsluis")
    con.close()
    manifest = dict(rel.manifest)
    if layout_version is None:
        manifest.pop("facts", None)
        manifest.pop("layout_version", None)
    (target / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    return get_release(tmp / "home", rel.id)


def test_a_column_missing_from_an_older_layout_makes_the_cube_absent(
    listed_release: Release, tmp_path: Path
) -> None:
    rel = _with_a_column_dropped(listed_release, tmp_path, layout_version=None)
    eng = Engine.open(rel)
    try:
        assert "dwellings" in eng.catalog.absent and "population" in eng.catalog.cubes
        with pytest.raises(CubeNotInRelease) as exc:
            eng.cube("dwellings")
        assert "older layout" in exc.value.problems[0].message
    finally:
        eng.close()


def test_a_column_missing_from_the_current_layout_is_a_model_error(
    listed_release: Release, tmp_path: Path
) -> None:
    rel = _with_a_column_dropped(listed_release, tmp_path, layout_version=LAYOUT_VERSION)
    with pytest.raises(ModelError) as exc:
        Engine.open(rel)
    assert exc.value.problems == ["cubes.dwellings: column 'doorsluis' is not in fact_dwellings"]


def test_an_engine_opened_with_threads_runs_every_statement_on_that_many(
    release: Release, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    protect = importlib.import_module("sdc.protect")  # the module (``sdc`` exports the function)
    monkeypatch.setattr(protect, "_limit", 0)  # restored after the test
    engine = Engine.open(release, threads=1)
    try:
        cursor = engine._con.cursor()  # statements run on cursors of the one database
        assert cursor.execute("SELECT current_setting('threads')").fetchone() == (1,)
        assert protect._limit == 1  # and protects a large table's measures in turn
    finally:
        engine.close()
