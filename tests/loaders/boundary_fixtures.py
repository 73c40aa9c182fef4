"""A small wijk- en buurtkaart made by the tests: one gemeente's real boundary cut into strips.

The repository holds no CBS wijk or buurt boundaries, so the tests deliver their own: the
gemeente's polygon (from ``dimensions/data``) cut into one vertical strip per wijk, and each
wijk's strip into one horizontal strip per buurt listed in the delivery's ``buurten.csv``. The
shapes are not real wijken; they are real enough to test loading, serving and drawing.
"""

from __future__ import annotations

import csv
import json
from importlib import resources
from pathlib import Path
from typing import Any

from shapely import make_valid
from shapely.geometry import GeometryCollection, MultiPolygon, Polygon, box, mapping, shape

from dimensions import regions

GEMEENTE = "GM0344"  # Utrecht: 10 wijken


def gemeente_shape(code: str) -> Any:
    text = resources.files("dimensions").joinpath("data/gemeente_2025.geojson").read_text("utf-8")
    feature = next(f for f in json.loads(text)["features"] if f["properties"]["statcode"] == code)
    return make_valid(shape(feature["geometry"]))


def _polygonal(geom: Any) -> Any:
    if isinstance(geom, GeometryCollection) and not isinstance(geom, MultiPolygon):
        parts = [g for g in geom.geoms if isinstance(g, Polygon | MultiPolygon)]
        geom = MultiPolygon(
            [p for g in parts for p in (g.geoms if isinstance(g, MultiPolygon) else [g])]
        )
    assert not geom.is_empty and geom.area > 0
    return geom


def strips(geom: Any, n: int, *, vertical: bool) -> list[Any]:
    """``geom`` cut into ``n`` strips of equal width (left to right, or bottom to top)."""
    x0, y0, x1, y1 = geom.bounds
    out = []
    for i in range(n):
        if vertical:
            cell = box(x0 + (x1 - x0) * i / n, y0, x0 + (x1 - x0) * (i + 1) / n, y1)
        else:
            cell = box(x0, y0 + (y1 - y0) * i / n, x1, y0 + (y1 - y0) * (i + 1) / n)
        out.append(_polygonal(geom.intersection(cell)))
    return out


def buurten_of(input_dir: Path, gemeente: str) -> dict[str, list[tuple[str, str]]]:
    """wijk code -> [(buurt code, name)] of the delivery's buurten in ``gemeente``."""
    by_wijk: dict[str, list[tuple[str, str]]] = {}
    with (input_dir / "buurten.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["wijk_code"][2:6] == gemeente[2:]:
                by_wijk.setdefault(row["wijk_code"], []).append(
                    (row["buurt_code"], row["buurt_name"])
                )
    return {w: sorted(b) for w, b in sorted(by_wijk.items())}


def feature(props: dict[str, Any], geom: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": props, "geometry": mapping(geom)}


def cut_map(input_dir: Path, gemeente: str = GEMEENTE) -> tuple[list[dict], list[dict]]:
    """Wijk and buurt features (CBS 2022+ property names) for the gemeente's wijken that have
    buurten in the delivery."""
    buurten = buurten_of(input_dir, gemeente)
    names = {w.code: w.name for w in regions.wijken()}
    wijk_codes = sorted(buurten)
    wijk_features, buurt_features = [], []
    for code, geom in zip(
        wijk_codes, strips(gemeente_shape(gemeente), len(wijk_codes), vertical=True), strict=True
    ):
        props = {"wijkcode": code, "wijknaam": names[code], "gemeentecode": gemeente}
        wijk_features.append(feature({**props, "water": "NEE"}, geom))
        for (bu, name), part in zip(
            buurten[code], strips(geom, len(buurten[code]), vertical=False), strict=True
        ):
            buurt_features.append(
                feature({"buurtcode": bu, "buurtnaam": name, "wijkcode": code}, part)
            )
    return wijk_features, buurt_features


def write_collection(path: Path, features: list[dict]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), "utf-8")
    return path


def deliver_map(input_dir: Path, gemeente: str = GEMEENTE) -> tuple[list[dict], list[dict]]:
    """Write ``wijken.geojson`` and ``buurten.geojson`` into the delivery; return the features."""
    wijken, buurten = cut_map(input_dir, gemeente)
    write_collection(input_dir / "wijken.geojson", wijken)
    write_collection(input_dir / "buurten.geojson", buurten)
    return wijken, buurten
