"""Codes and labels of the answer's rows (``cube/assemble.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cube.assemble import _members
from cube.axes import LevelAxis
from dimensions.model import Label


@dataclass
class _Counted:
    """A label that counts how often it is read."""

    nl: str
    en: str
    reads: list[int] = field(default_factory=lambda: [0])

    def get(self, lang: str) -> str:
        self.reads[0] += 1
        return self.en if lang == "en" else self.nl


def _level(labels: tuple) -> LevelAxis:
    codes = tuple(f"C{i}" for i in range(len(labels)))
    return LevelAxis("lv", codes, labels, codes, np.arange(len(labels)), lambda t: t)


def test_codes_labels_and_totals_per_language():
    lax = _level((Label("een", "one"), Label("twee", "two"), Label("drie", "three")))
    coords = np.array([[2], [-1], [0], [2]])
    assert _members([lax], coords, "nl", "Totaal") == (
        [["C2", None, "C0", "C2"]],
        [["drie", "Totaal", "een", "drie"]],
    )
    # the same level in another language, then the first again: never the other's labels
    assert _members([lax], coords, "en", "Total")[1] == [["three", "Total", "one", "three"]]
    assert _members([lax], coords, "nl", "Totaal")[1] == [["drie", "Totaal", "een", "drie"]]


def test_a_level_labels_are_read_once_not_per_answer():
    """A page of a few buurten must not read the labels of all 14,000 buurten each time."""
    reads = [0]
    labels = tuple(_Counted(f"n{i}", f"e{i}", reads) for i in range(500))
    lax = _level(labels)
    coords = np.array([[3], [7]])
    for _ in range(5):
        assert _members([lax], coords, "nl", "Totaal")[1] == [["n3", "n7"]]
    assert reads[0] == 500
    other = _level(labels)  # an equal level of another release: its own arrays
    assert _members([other], coords, "en", "Total")[1] == [["e3", "e7"]]
    assert reads[0] == 1000
