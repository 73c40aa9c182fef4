"""Optional wijk and buurt boundaries: the CBS wijk- en buurtkaart delivered as GeoJSON.

A delivery may add ``wijken.geojson`` and ``buurten.geojson`` (either or both) beside its data
files. Each is a GeoJSON FeatureCollection in WGS84 longitude/latitude (RFC 7946), one
Polygon or MultiPolygon feature per area, its CBS code in a property: ``wijkcode`` /
``buurtcode`` as in the CBS wijk- en buurtkaart since 2022, or ``WK_CODE`` / ``BU_CODE`` as
in earlier editions. Every feature is checked by the passes in ``FEATURE_CHECKS`` and every
problem is reported at once, naming the file, the feature (1-based, in file order) and its
code. The boundaries are stored in the release (table ``region_boundary``) simplified to
about a metre, and served per gemeente for the dashboard's wijk and buurt maps; without them
the page draws a labelled schematic layout.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape
from shapely.validation import explain_validity

from loaders.problems import ERROR, WARNING, LoadProblem

MAX_BYTES = 200 * 1024 * 1024  # the file is parsed whole; the CBS map simplified is far less
MAX_EXAMPLES = 20  # problems of one kind reported one by one per file, then a count
# The Netherlands with its coastal waters, in degrees (WGS84).
LON_RANGE = (3.0, 7.5)
LAT_RANGE = (50.5, 54.0)
SIMPLIFY_DEGREES = 1e-5  # about a metre: invisible on a gemeente's map, a fraction of the bytes
DECIMALS = 6  # about 0.1 m
POLYGONAL = ("Polygon", "MultiPolygon")
NESTING_TOLERANCE = 1e-3  # degrees (~100 m): edges of separately simplified maps may differ


@dataclass(frozen=True, slots=True)
class BoundaryFile:
    """One optional boundary file of a delivery."""

    level: str  # region level: wijk | buurt
    plural: str
    file: str
    code_fields: tuple[str, ...]  # property holding the CBS code, current edition first
    name_fields: tuple[str, ...]
    pattern: re.Pattern[str]
    description: str


WIJKEN = BoundaryFile(
    level="wijk",
    plural="wijken",
    file="wijken.geojson",
    code_fields=("wijkcode", "WK_CODE"),
    name_fields=("wijknaam", "WK_NAAM"),
    pattern=re.compile(r"WK[0-9]{4}[0-9A-Z]{2}"),
    description="Wijk boundaries; each code must be a wijk of the CBS 2023 division.",
)
BUURTEN = BoundaryFile(
    level="buurt",
    plural="buurten",
    file="buurten.geojson",
    code_fields=("buurtcode", "BU_CODE"),
    name_fields=("buurtnaam", "BU_NAAM"),
    pattern=re.compile(r"BU[0-9]{4}[0-9A-Z]{4}"),
    description="Buurt boundaries; each code must be listed in `buurten`.",
)
BOUNDARY_FILES = (WIJKEN, BUURTEN)
GEMEENTE_FIELDS = ("gemeentecode", "GM_CODE")
WATER_FIELDS = ("water", "WATER")


@dataclass(frozen=True, slots=True)
class Boundary:
    """One area's boundary as stored in the release."""

    level: str
    code: str
    gemeente: str
    name: str | None
    geometry: str  # GeoJSON geometry object, WGS84


@dataclass(frozen=True, slots=True)
class Feature:
    """One feature as read, with its 1-based position in the file."""

    spec: BoundaryFile
    number: int
    raw: Any

    @property
    def properties(self) -> Mapping[str, Any]:
        props = self.raw.get("properties") if isinstance(self.raw, dict) else None
        return props if isinstance(props, dict) else {}

    def value(self, fields: tuple[str, ...]) -> Any:
        for name in fields:
            if name in self.properties:
                return self.properties[name]
        return None

    @property
    def code(self) -> str | None:
        code = self.value(self.spec.code_fields)
        return code.strip() if isinstance(code, str) else None

    @property
    def where(self) -> str:
        code = self.code
        label = f" ({code[:12]})" if code and self.spec.pattern.fullmatch(code) else ""
        return f"{self.spec.file} feature {self.number}{label}"

    def problem(self, message: str, severity: str = ERROR) -> LoadProblem:
        return LoadProblem(self.where, None, None, message, severity)


@dataclass(frozen=True, slots=True)
class Delivered:
    """The boundaries of one file that passed, with the file they came from."""

    spec: BoundaryFile
    path: Path
    boundaries: tuple[Boundary, ...]


def find_boundary_files(directory: Path) -> list[tuple[BoundaryFile, Path]]:
    found = [(spec, directory / spec.file) for spec in BOUNDARY_FILES]
    return [(spec, path) for spec, path in found if path.is_file()]


# --- checks of one feature, each a small pass -----------------------------------------------


def check_feature(f: Feature, known: frozenset[str]) -> list[LoadProblem]:
    if not isinstance(f.raw, dict) or f.raw.get("type") != "Feature":
        return [f.problem('not a GeoJSON Feature (an object with "type": "Feature")')]
    if not isinstance(f.raw.get("properties"), dict):
        return [f.problem("has no properties (the area's code is read from them)")]
    return []


def check_code(f: Feature, known: frozenset[str]) -> list[LoadProblem]:
    spec, code = f.spec, f.value(f.spec.code_fields)
    fields = " or ".join(f"`{n}`" for n in spec.code_fields)
    if code is None:
        return [f.problem(f"missing property {fields} (the {spec.level} code)")]
    if not isinstance(code, str) or not spec.pattern.fullmatch(code.strip()):
        example = "WK036300" if spec.level == "wijk" else "BU03630001"
        return [f.problem(f"{fields} is not a CBS {spec.level} code (like {example})")]
    if code.strip() not in known:
        where = "a wijk of the CBS 2023 division" if spec.level == "wijk" else "listed in buurten"
        return [f.problem(f"unknown {spec.level} {code.strip()}: not {where}")]
    gemeente = f.value(GEMEENTE_FIELDS)
    if isinstance(gemeente, str) and gemeente.strip() != "GM" + code.strip()[2:6]:
        return [f.problem(f"gemeentecode {gemeente.strip()[:8]} does not hold this {spec.level}")]
    return []


def _position_ok(p: Any) -> bool:
    return (
        isinstance(p, list)
        and len(p) in (2, 3)
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in p)
        and all(math.isfinite(v) for v in p)
    )


def _rings(geometry: Mapping[str, Any]) -> Iterable[Any]:
    coords = geometry.get("coordinates")
    if not isinstance(coords, list):
        return [None]
    polygons = coords if geometry.get("type") == "MultiPolygon" else [coords]
    return [ring for poly in polygons for ring in (poly if isinstance(poly, list) else [None])]


def check_geometry(f: Feature, known: frozenset[str]) -> list[LoadProblem]:
    geometry = f.raw.get("geometry")
    if not isinstance(geometry, dict) or geometry.get("type") not in POLYGONAL:
        kind = geometry.get("type") if isinstance(geometry, dict) else None
        got = f" (got {str(kind)[:20]})" if isinstance(kind, str) else ""
        return [f.problem(f"geometry must be a Polygon or MultiPolygon{got}")]
    rings = list(_rings(geometry))
    if not rings or any(
        not isinstance(r, list) or len(r) < 4 or not all(_position_ok(p) for p in r) for r in rings
    ):
        return [f.problem("geometry has a ring that is not a list of ≥ 4 [lon, lat] positions")]
    if any(r[0][:2] != r[-1][:2] for r in rings):
        return [f.problem("geometry has a ring that is not closed (last position ≠ first)")]
    points = [p for r in rings for p in r]
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    if not (LON_RANGE[0] <= min(lons) and max(lons) <= LON_RANGE[1]) or not (
        LAT_RANGE[0] <= min(lats) and max(lats) <= LAT_RANGE[1]
    ):
        hint = (
            ": these look like RD New metres (EPSG:28992); convert to WGS84, "
            "e.g. ogr2ogr -t_srs EPSG:4326"
            if max(max(lons), max(lats)) > 1000
            else ""
        )
        return [
            f.problem(
                "coordinates lie outside the Netherlands (longitude "
                f"{LON_RANGE[0]}..{LON_RANGE[1]}, latitude {LAT_RANGE[0]}..{LAT_RANGE[1]}, "
                f"WGS84){hint}"
            )
        ]
    return []


def check_validity(f: Feature, known: frozenset[str]) -> list[LoadProblem]:
    geom = shape(f.raw["geometry"])
    if geom.is_empty or shapely.make_valid(geom).area == 0:  # a bowtie's signed area is 0
        return [f.problem("geometry has no area")]
    if not geom.is_valid:
        reason = explain_validity(geom).split("[")[0].strip()
        return [f.problem(f"geometry is not valid ({reason}); it is drawn as delivered", WARNING)]
    return []


FeatureCheck = Callable[[Feature, frozenset[str]], list[LoadProblem]]
# In order: a pass runs only when the ones before it found no error in the feature.
FEATURE_CHECKS: tuple[FeatureCheck, ...] = (
    check_feature,
    check_code,
    check_geometry,
    check_validity,
)


# --- a whole file ---------------------------------------------------------------------------


def read_boundaries(
    spec: BoundaryFile, path: Path, known: frozenset[str]
) -> tuple[tuple[Boundary, ...], list[LoadProblem]]:
    """The boundaries of one file and every problem found in it (errors and warnings)."""
    features, problem = _features(spec, path)
    if problem is not None:
        return (), [problem]
    passed: list[Feature] = []
    problems: list[LoadProblem] = []
    for f in features:
        found = _run_checks(f, known)
        problems += found
        if not any(p.severity == ERROR for p in found):
            passed.append(f)
    chosen, duplicates = _one_per_code(passed)
    problems += duplicates
    problems = _capped(spec, problems)
    if len(chosen) < len(known) and not any(p.severity == ERROR for p in problems):
        problems.append(
            LoadProblem(
                spec.file,
                None,
                None,
                f"boundaries for {len(chosen):,} of {len(known):,} {spec.plural}; the page "
                "draws the others' gemeenten schematically",
                WARNING,
            )
        )
    return tuple(_boundary(f) for f in chosen), problems


def _features(spec: BoundaryFile, path: Path) -> tuple[list[Feature], LoadProblem | None]:
    def refused(message: str) -> tuple[list[Feature], LoadProblem]:
        return [], LoadProblem(spec.file, None, None, message)

    if path.stat().st_size > MAX_BYTES:
        return refused(
            f"larger than {MAX_BYTES // 2**20} MB: deliver a simplified map "
            "(e.g. mapshaper -simplify, or the generalised CBS edition)"
        )
    try:
        data = json.loads(path.read_bytes())
    except (ValueError, RecursionError):  # the parser's message may quote the file
        return refused("cannot be read as JSON (UTF-8)")
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        return refused('not a GeoJSON FeatureCollection (no "type": "FeatureCollection")')
    if not isinstance(data.get("features"), list):
        return refused('has no "features" list')
    return [Feature(spec, i, raw) for i, raw in enumerate(data["features"], start=1)], None


def _run_checks(f: Feature, known: frozenset[str]) -> list[LoadProblem]:
    found: list[LoadProblem] = []
    for check in FEATURE_CHECKS:
        found += check(f, known)
        if any(p.severity == ERROR for p in found):
            break
    return found


def _is_water(f: Feature) -> bool:
    water = f.value(WATER_FIELDS)
    return isinstance(water, str) and water.strip().upper() == "JA"


def _one_per_code(features: list[Feature]) -> tuple[list[Feature], list[LoadProblem]]:
    """One feature per code. The CBS map may split an area into a land part and a water part
    (property ``water`` NEE / JA): then the land part is kept; other repeats are errors."""
    by_code: dict[str, list[Feature]] = {}
    for f in features:
        by_code.setdefault(f.code or "", []).append(f)
    chosen, problems = [], []
    for group in by_code.values():
        land = [f for f in group if not _is_water(f)] if len(group) > 1 else group
        if len(land) == 1:
            chosen.append(land[0])
            continue
        first = group[0]
        problems += [
            f.problem(f"the same code as feature {first.number}") for f in (land or group)[1:]
        ]
    return sorted(chosen, key=lambda f: f.number), problems


def _capped(spec: BoundaryFile, problems: list[LoadProblem]) -> list[LoadProblem]:
    """At most ``MAX_EXAMPLES`` problems of one kind (the message without its codes), then
    how many more."""
    seen: dict[str, list[LoadProblem]] = {}
    out: list[LoadProblem] = []
    for p in problems:
        kind = seen.setdefault(_CODE.sub("…", p.message), [])
        kind.append(p)
        if len(kind) <= MAX_EXAMPLES:
            out.append(p)
    for message, kind in seen.items():
        if len(kind) > MAX_EXAMPLES:
            more = f"and {len(kind) - MAX_EXAMPLES} more features with the same problem: {message}"
            out.append(LoadProblem(spec.file, None, None, more, kind[0].severity))
    return out


_CODE = re.compile(r"\b(?:WK|BU|GM)[0-9A-Z]+")


def _rounded(coords: np.ndarray) -> np.ndarray:
    return np.round(coords, DECIMALS)


def _boundary(f: Feature) -> Boundary:
    geom = shapely.simplify(shape(f.raw["geometry"]), SIMPLIFY_DEGREES, preserve_topology=True)
    geom = shapely.transform(geom, _rounded)
    code = f.code or ""
    name = f.value(f.spec.name_fields)
    return Boundary(
        level=f.spec.level,
        code=code,
        gemeente="GM" + code[2:6],
        name=name.strip()[:200] if isinstance(name, str) and name.strip() else None,
        geometry=shapely.to_geojson(geom),
    )


def check_nesting(delivered: Iterable[Delivered]) -> list[LoadProblem]:
    """Warnings for delivered buurten that lie outside their wijk's delivered boundary (a
    point inside each buurt must lie within its wijk, give or take ``NESTING_TOLERANCE``)."""
    delivered = list(delivered)
    wijken = {
        b.code: shapely.make_valid(shape(json.loads(b.geometry))).buffer(NESTING_TOLERANCE)
        for d in delivered
        if d.spec is WIJKEN
        for b in d.boundaries
    }
    for area in wijken.values():
        shapely.prepare(area)
    problems = []
    for d in delivered:
        for b in d.boundaries if d.spec is BUURTEN else ():
            wijk = "WK" + b.code[2:8]
            if wijk not in wijken:
                continue
            inside = shapely.point_on_surface(shapely.make_valid(shape(json.loads(b.geometry))))
            if not wijken[wijk].contains(inside):
                message = f"buurt {b.code} lies outside the boundary of its wijk {wijk}"
                problems.append(LoadProblem(BUURTEN.file, None, None, message, WARNING))
    return _capped(BUURTEN, problems)
