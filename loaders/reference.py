"""Reference data shipped with the package: regions above buurt level and SBI 2008."""

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
class Gemeente:
    code: str
    name: str
    provincie: str
    provincie_name: str
    veiligheidsregio: str
    veiligheidsregio_name: str
    politie_eenheid: str
    politie_eenheid_name: str
    population: int
    area_km2: float


@dataclass(frozen=True, slots=True)
class Wijk:
    code: str
    name: str
    gemeente: str


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
def gemeenten() -> tuple[Gemeente, ...]:
    people = {r["gm_code"]: r for r in _rows("gemeente_bevolking_2024_3rdparty.csv")}
    out = []
    for r in _rows("gemeente_regio_2025_DERIVED.csv"):
        p = people[r["gm_code"]]
        out.append(
            Gemeente(
                code=r["gm_code"],
                name=r["gm_naam"],
                provincie=r["pv_code"],
                provincie_name=r["pv_naam"],
                veiligheidsregio=r["vr_code"],
                veiligheidsregio_name=r["vr_naam"],
                politie_eenheid=r["re_code"],
                politie_eenheid_name=r["re_naam"],
                population=int(p["bevolking_2024_01_01"]),
                area_km2=float(p["oppervlakte_land_km2"]),
            )
        )
    return tuple(sorted(out, key=lambda g: g.code))


@cache
def wijken() -> tuple[Wijk, ...]:
    rows = _rows("wijken_2023_cbs.csv")
    return tuple(
        sorted((Wijk(r["wk_code"], r["wk_naam"], r["gm_code"]) for r in rows), key=lambda w: w.code)
    )


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
