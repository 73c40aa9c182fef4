"""Gemeente neighbours from the 2025 boundaries: pairs that share a stretch of boundary.

The boundaries are simplified, so two neighbours may be separated by a hairline gap or overlap
slightly. Each polygon is grown by ``TOLERANCE`` degrees (about 10 m) and a pair counts when the
grown shapes overlap over more than a corner: the overlap of a shared boundary of length L is
about ``2 * TOLERANCE * L``, while a mere touching point gives about ``pi * TOLERANCE**2``.
"""

from __future__ import annotations

import json
from importlib import resources

from shapely import STRtree, make_valid
from shapely.geometry import shape

TOLERANCE = 1e-4  # degrees
MIN_SHARED = 5e-4  # degrees of boundary (~50 m) before two gemeenten count as neighbours


def gemeente_neighbours() -> list[tuple[str, str]]:
    """Symmetric, sorted (gemeente, neighbour) code pairs."""
    text = resources.files("dimensions").joinpath("data/gemeente_2025.geojson").read_text("utf-8")
    features = json.loads(text)["features"]
    codes = [f["properties"]["statcode"] for f in features]
    # make_valid repairs the two self-intersections the simplification left behind.
    grown = [make_valid(shape(f["geometry"])).buffer(TOLERANCE) for f in features]
    tree = STRtree(grown)
    min_area = 2 * TOLERANCE * MIN_SHARED
    pairs: set[tuple[str, str]] = set()
    for i, geom in enumerate(grown):
        for j in tree.query(geom, predicate="intersects"):
            if j > i and geom.intersection(grown[j]).area > min_area:
                pairs.add((codes[i], codes[j]))
                pairs.add((codes[j], codes[i]))
    return sorted(pairs)
