"""Gemeente neighbours from the boundaries: known pairs, symmetry, only real islands alone."""

from __future__ import annotations

from dimensions import regions
from loaders.geometry import gemeente_neighbours

ISLANDS = {"GM0060", "GM0088", "GM0093", "GM0096", "GM0448"}  # Ameland .. Texel


def test_known_neighbours() -> None:
    pairs = set(gemeente_neighbours())
    amsterdam = {b for a, b in pairs if a == "GM0363"}
    assert {
        "GM0362",
        "GM0479",
        "GM0384",
        "GM0394",
    } <= amsterdam  # Amstelveen, Zaanstad, Diemen, Haarlemmermeer
    assert "GM0599" not in amsterdam  # Rotterdam is far away
    assert ("GM0014", "GM0034") not in pairs  # Groningen and Almere


def test_symmetric_and_irreflexive() -> None:
    pairs = set(gemeente_neighbours())
    assert all((b, a) in pairs for a, b in pairs)
    assert all(a != b for a, b in pairs)


def test_every_gemeente_but_the_wadden_islands_has_a_neighbour() -> None:
    with_neighbour = {a for a, _ in gemeente_neighbours()}
    alone = {g.code for g in regions.gemeenten()} - with_neighbour
    assert alone == ISLANDS
