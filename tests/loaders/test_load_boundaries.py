"""Optional wijk/buurt boundaries in a delivery: checked per feature, stored in the release."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import box, mapping, shape

from loaders.boundaries import (
    BUURTEN,
    MAX_EXAMPLES,
    SIMPLIFY_DEGREES,
    WIJKEN,
    Delivered,
    check_nesting,
    read_boundaries,
)
from loaders.load import LoadError, load_directory
from loaders.problems import ERROR, WARNING
from tests.loaders.boundary_fixtures import gemeente_shape, strips, write_collection
from tests.loaders.load_fixtures import SECRET, valid_tables, write_tables

KNOWN_WIJKEN = frozenset({"WK001400", "WK001401", "WK0363AA"})
KNOWN_BUURTEN = frozenset({"BU00140001", "BU00140002"})
SQUARE = mapping(box(6.55, 53.20, 6.57, 53.22))  # in the city of Groningen


def wijk(code: Any = "WK001400", geometry: Any = SQUARE, **props: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": {"wijkcode": code, "wijknaam": "Centrum", **props},
        "geometry": geometry,
    }


def read(tmp_path: Path, features: list[Any], spec=WIJKEN, known=KNOWN_WIJKEN):
    path = write_collection(tmp_path / spec.file, features)
    return read_boundaries(spec, path, known)


def messages(problems, severity=ERROR) -> list[str]:
    return [str(p) for p in problems if p.severity == severity]


def test_a_valid_file_gives_one_boundary_per_feature(tmp_path):
    other = mapping(box(6.57, 53.20, 6.59, 53.22))
    found, problems = read(tmp_path, [wijk(), wijk("WK001401", other, wijknaam="Oud-Zuid")])
    assert messages(problems) == []
    assert [(b.level, b.code, b.gemeente, b.name) for b in found] == [
        ("wijk", "WK001400", "GM0014", "Centrum"),
        ("wijk", "WK001401", "GM0014", "Oud-Zuid"),
    ]
    assert shape(json.loads(found[0].geometry)).equals(shape(SQUARE))
    # Fewer wijken than the release knows: said once, as a warning.
    assert messages(problems, WARNING) == [
        "wijken.geojson: warning: boundaries for 2 of 3 wijken; the page draws the others' "
        "gemeenten schematically"
    ]


def test_the_older_cbs_property_names_are_accepted(tmp_path):
    feature = {
        "type": "Feature",
        "properties": {"WK_CODE": "WK001400", "WK_NAAM": "Centrum", "GM_CODE": "GM0014"},
        "geometry": SQUARE,
    }
    found, problems = read(tmp_path, [feature])
    assert messages(problems) == [] and [b.code for b in found] == ["WK001400"]


@pytest.mark.parametrize(
    ("feature", "expected"),
    [
        ({"type": "Feature", "geometry": SQUARE}, "has no properties"),
        (["not", "a", "feature"], "not a GeoJSON Feature"),
        (wijk(code=None) | {"properties": {"naam": "x"}}, "missing property `wijkcode` or"),
        (wijk("0014-00"), "is not a CBS wijk code (like WK036300)"),
        (wijk("WK999999"), "unknown wijk WK999999: not a wijk of the CBS 2023 division"),
        (wijk(gemeentecode="GM0363"), "gemeentecode GM0363 does not hold this wijk"),
        (wijk(geometry={"type": "Point", "coordinates": [6.5, 53.2]}), "got Point"),
        (wijk(geometry=None), "geometry must be a Polygon or MultiPolygon"),
        (
            wijk(geometry={"type": "Polygon", "coordinates": [[[6.5, 53.2], [6.6, 53.2]]]}),
            "not a list of ≥ 4 [lon, lat] positions",
        ),
        (
            wijk(geometry={"type": "Polygon", "coordinates": [[[6.5, "x"]] * 4]}),
            "not a list of ≥ 4 [lon, lat] positions",
        ),
        (
            wijk(
                geometry={
                    "type": "Polygon",
                    "coordinates": [[[6.5, 53.2], [6.6, 53.2], [6.6, 53.3], [6.5, 53.3]]],
                }
            ),
            "is not closed",
        ),
        (wijk(geometry=mapping(box(233_000, 581_000, 234_000, 582_000))), "RD New"),
        (wijk(geometry=mapping(box(13.0, 52.0, 13.1, 52.1))), "outside the Netherlands"),
        (
            wijk(geometry={"type": "Polygon", "coordinates": [[[6.5, 53.2]] * 4]}),
            "geometry has no area",
        ),
    ],
)
def test_each_bad_feature_is_named_with_what_is_wrong(tmp_path, feature, expected):
    found, problems = read(tmp_path, [wijk("WK001401"), feature])
    errors = messages(problems)
    assert len(errors) == 1, errors
    assert errors[0].startswith("wijken.geojson feature 2"), errors
    assert expected in errors[0]
    assert [b.code for b in found] == ["WK001401"]  # the good feature is not affected


def test_the_feature_names_its_code_where_it_has_one(tmp_path):
    _found, problems = read(tmp_path, [wijk(geometry=mapping(box(13.0, 52.0, 13.1, 52.1)))])
    assert messages(problems)[0].startswith("wijken.geojson feature 1 (WK001400): ")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"{not json", "cannot be read as JSON (UTF-8)"),
        (
            b'{"type": "Feature"}',
            'not a GeoJSON FeatureCollection (no "type": "FeatureCollection")',
        ),
        (b'{"type": "FeatureCollection", "features": {}}', 'has no "features" list'),
        (b"\xff\xfe", "cannot be read as JSON (UTF-8)"),
    ],
)
def test_a_file_that_is_not_a_feature_collection_is_one_problem(tmp_path, content, expected):
    path = tmp_path / "wijken.geojson"
    path.write_bytes(content)
    found, problems = read_boundaries(WIJKEN, path, KNOWN_WIJKEN)
    assert found == () and [str(p) for p in problems] == [f"wijken.geojson: {expected}"]


def test_a_repeated_code_is_an_error_unless_it_is_the_water_part(tmp_path):
    water = mapping(box(6.57, 53.20, 6.59, 53.22))
    found, problems = read(
        tmp_path, [wijk(water="JA", geometry=water), wijk(water="NEE"), wijk("WK001401")]
    )
    assert messages(problems) == [] and [b.code for b in found] == ["WK001400", "WK001401"]
    assert shape(json.loads(found[0].geometry)).equals(shape(SQUARE))  # the land part
    _found, problems = read(tmp_path, [wijk(), wijk("WK001401"), wijk()])
    assert messages(problems) == ["wijken.geojson feature 3 (WK001400): the same code as feature 1"]


def test_a_self_intersecting_polygon_is_a_warning_and_kept(tmp_path):
    bowtie = {
        "type": "Polygon",
        "coordinates": [
            [[6.55, 53.20], [6.57, 53.22], [6.57, 53.20], [6.55, 53.22], [6.55, 53.20]]
        ],
    }
    found, problems = read(tmp_path, [wijk(geometry=bowtie)])
    assert messages(problems) == []
    assert any(
        "feature 1 (WK001400): warning: geometry is not valid (Self-intersection" in m
        for m in messages(problems, WARNING)
    )
    assert [b.code for b in found] == ["WK001400"]


def test_many_features_with_one_problem_are_capped_with_a_count(tmp_path):
    features = [wijk(f"WK99{i:04d}") for i in range(MAX_EXAMPLES + 7)]
    _found, problems = read(tmp_path, features)
    errors = messages(problems)
    assert len(errors) == MAX_EXAMPLES + 1
    assert errors[-1] == (
        "wijken.geojson: and 7 more features with the same problem: "
        "unknown wijk …: not a wijk of the CBS 2023 division"
    )


def test_buurt_codes_must_be_delivered_buurten(tmp_path):
    feature = {"type": "Feature", "properties": {"buurtcode": "BU00140003"}, "geometry": SQUARE}
    _found, problems = read(tmp_path, [feature], BUURTEN, KNOWN_BUURTEN)
    assert messages(problems) == [
        "buurten.geojson feature 1 (BU00140003): unknown buurt BU00140003: not listed in buurten"
    ]


@settings(max_examples=40, deadline=None)
@given(
    x=st.floats(3.5, 7.0),
    y=st.floats(50.8, 53.5),
    w=st.floats(1e-4, 0.2),
    h=st.floats(1e-4, 0.2),
    n=st.integers(4, 60),
)
def test_stored_boundaries_stay_within_a_metre_of_the_delivered_ones(
    tmp_path_factory, x, y, w, h, n
):
    # A circle-like polygon of n vertices: simplification and rounding may drop vertices but
    # never move the boundary by more than the tolerance (plus rounding).
    import math

    ring = [
        [
            x + w / 2 + w / 2 * math.cos(2 * math.pi * i / n),
            y + h / 2 + h / 2 * math.sin(2 * math.pi * i / n),
        ]
        for i in range(n)
    ]
    polygon = {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}
    found, problems = read(tmp_path_factory.mktemp("b"), [wijk(geometry=polygon)])
    assert messages(problems) == []
    stored = shape(json.loads(found[0].geometry))
    assert stored.is_valid and stored.area > 0
    assert stored.hausdorff_distance(shape(polygon)) <= SIMPLIFY_DEGREES + 1e-6


# --- through the loader ---------------------------------------------------------------------


def groningen_delivery(root: Path) -> Path:
    """The small valid tables plus a map of Groningen's wijk 00 and its two buurten."""
    directory = write_tables(root / "in", valid_tables())
    wijk00, _rest = strips(gemeente_shape("GM0014"), 2, vertical=True)
    north, south = strips(wijk00, 2, vertical=False)
    write_collection(directory / "wijken.geojson", [wijk(geometry=mapping(wijk00))])
    buurten = [
        {"type": "Feature", "properties": {"buurtcode": c, "buurtnaam": c}, "geometry": mapping(g)}
        for c, g in (("BU00140001", north), ("BU00140002", south))
    ]
    write_collection(directory / "buurten.geojson", buurten)
    return directory


def test_a_load_stores_the_boundaries_and_lists_them_in_the_manifest(tmp_path):
    release = load_directory(groningen_delivery(tmp_path), tmp_path / "home", secret=SECRET)
    with duckdb.connect(str(release.db_path), read_only=True) as con:
        rows = con.execute(
            "SELECT level, code, gemeente, name FROM region_boundary ORDER BY level, code"
        ).fetchall()
        geometry = con.execute("SELECT geometry FROM region_boundary LIMIT 1").fetchone()
    assert rows == [
        ("buurt", "BU00140001", "GM0014", "BU00140001"),
        ("buurt", "BU00140002", "GM0014", "BU00140002"),
        ("wijk", "WK001400", "GM0014", "Centrum"),
    ]
    assert geometry and shape(json.loads(geometry[0])).area > 0
    listed = {(b["level"], b["file"], b["areas"]) for b in release.manifest["boundaries"]}
    assert listed == {("wijk", "wijken.geojson", 1), ("buurt", "buurten.geojson", 2)}


def test_a_load_without_boundaries_has_an_empty_table(tmp_path):
    directory = write_tables(tmp_path / "in", valid_tables())
    release = load_directory(directory, tmp_path / "home", secret=SECRET)
    with duckdb.connect(str(release.db_path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM region_boundary").fetchone() == (0,)
    assert release.manifest["boundaries"] == []


def test_boundary_problems_are_reported_with_the_data_problems_and_nothing_is_published(
    tmp_path,
):
    directory = groningen_delivery(tmp_path)
    tables = valid_tables()
    tables["population"][0]["age"] = 130
    write_tables(directory, {"population": tables["population"]})
    feature = {"type": "Feature", "properties": {"buurtcode": "BU00149999"}, "geometry": SQUARE}
    write_collection(directory / "buurten.geojson", [feature])
    with pytest.raises(LoadError) as caught:
        load_directory(directory, tmp_path / "home", secret=SECRET)
    text = [str(p) for p in caught.value.problems]
    assert any(t.startswith("population.parquet row 1 column age") for t in text), text
    assert (
        "buurten.geojson feature 1 (BU00149999): unknown buurt BU00149999: not listed in "
        "buurten" in text
    )
    assert not (tmp_path / "home" / "releases").exists() or not any(
        (tmp_path / "home" / "releases").iterdir()
    )


def test_a_buurt_outside_its_wijk_is_a_warning(tmp_path):
    wijken, _ = read(tmp_path, [wijk()])
    inside = mapping(box(6.555, 53.205, 6.565, 53.215))
    elsewhere = mapping(box(6.60, 53.25, 6.61, 53.26))  # some 5 km away
    features = [
        {"type": "Feature", "properties": {"buurtcode": c}, "geometry": g}
        for c, g in (("BU00140001", inside), ("BU00140002", elsewhere))
    ]
    buurten, problems = read(tmp_path, features, BUURTEN, KNOWN_BUURTEN)
    assert messages(problems) == []
    delivered = [
        Delivered(WIJKEN, tmp_path / WIJKEN.file, wijken),
        Delivered(BUURTEN, tmp_path / BUURTEN.file, buurten),
    ]
    assert [str(p) for p in check_nesting(delivered)] == [
        "buurten.geojson: warning: buurt BU00140002 lies outside the boundary of its wijk WK001400"
    ]
    assert check_nesting(delivered[1:]) == []  # no wijken delivered: nothing to compare
