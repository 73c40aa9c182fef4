"""Reference data shipped with the package: SBI 2008 (regions: ``dimensions.regions``)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

# The KvK variant of SBI 2008 omits two mining divisions that CBS's classification has.
MISSING_SBI_DIVISIONS = (
    ("05", "B", "Winning van steenkool en bruinkool"),
    ("07", "B", "Winning van metaalertsen"),
)


@dataclass(frozen=True, slots=True)
class Sector:
    level: str  # section | division
    code: str
    name: str
    section: str | None


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files("dimensions").joinpath(f"data/{name}").read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))


@cache
def sectors() -> tuple[Sector, ...]:
    out = []
    for r in _rows("sbi2008_kvk_secties_afdelingen.csv"):
        if r["niveau"] == "sectie":
            out.append(Sector("section", r["code"], r["omschrijving_nl"], None))
        else:
            out.append(Sector("division", r["code"], r["omschrijving_nl"], r["parent"]))
    have = {s.code for s in out}
    out += [Sector("division", c, n, s) for c, s, n in MISSING_SBI_DIVISIONS if c not in have]
    return tuple(sorted(out, key=lambda s: (s.level != "section", s.code)))


def sbi_divisions() -> frozenset[str]:
    return frozenset(s.code for s in sectors() if s.level == "division")
