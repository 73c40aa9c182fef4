"""Real Dutch region reference data: gemeenten 2025 and wijken 2023, read from package data.

Pure Python (``csv`` + ``importlib.resources``) so every layer may use it. The files live in
``dimensions/data/`` (see ``ATTRIBUTION.md``: Bron: CBS / PDOK). Everything is read once and
cached; the returned objects are frozen and shared.

Codes: gemeente ``GM`` + 4 digits, wijk ``WK`` + 6 digits (digits 1-4 = the gemeente),
provincie ``PV20``..``PV31``, veiligheidsregio ``VR01``..``VR25``, politie-eenheid
``RE01``..``RE10``. The RIEC regions follow the ten police units, so the politie-eenheid code
doubles as the RIEC region code.

>>> len(gemeenten()), len(wijken())
(342, 3352)
>>> gemeente("GM0363").name
'Amsterdam'
>>> gemeente("GM0363").politie_eenheid_code
'RE05'
>>> sum(g.population_2024 for g in gemeenten())
17942942
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib import resources

ATTRIBUTION = "Bron: CBS / PDOK (CBS Gebiedsindelingen 2023, 2025); CBS (wijkcijfers 2020/2023)"

_GEMEENTE_REGIO = "gemeente_regio_2025_DERIVED.csv"
_GEMEENTE_POP = "gemeente_bevolking_2024_3rdparty.csv"
_WIJKEN = "wijken_2023_cbs.csv"


@dataclass(frozen=True, slots=True)
class Area:
    """A member of a level above gemeente (provincie, veiligheidsregio, politie-eenheid)."""

    level: str  # "provincie" | "veiligheidsregio" | "politie_eenheid"
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class Gemeente:
    """A municipality of the 2025 division with its parents on every hierarchy."""

    code: str
    name: str
    provincie_code: str
    provincie_name: str
    veiligheidsregio_code: str
    veiligheidsregio_name: str
    politie_eenheid_code: str
    politie_eenheid_name: str
    riec_name: str
    population_2024: int  # inhabitants on 1 January 2024 (CBS)
    area_km2: float  # total area
    land_area_km2: float

    @property
    def density(self) -> float:
        """Inhabitants per km2 of land: the urbanity proxy the synthetic data use."""
        return self.population_2024 / max(self.land_area_km2, 0.1)


@dataclass(frozen=True, slots=True)
class Wijk:
    """A district of the 2023 division with the CBS income figures (None when CBS hides them)."""

    code: str
    name: str
    gemeente_code: str
    cars_per_household: float | None
    mean_income_k_eur: float | None  # mean personal income per inhabitant 2020, x 1000 EUR
    pct_low40: float | None  # % of households in the national lowest 40 % (2020)
    pct_high20: float | None  # % of households in the national highest 20 % (2020)


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files("dimensions").joinpath("data", name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def _opt_float(value: str) -> float | None:
    # CBS leaves cells empty (or '.') where the figure is secret or unknown.
    value = value.strip()
    if value in ("", ".", "x"):
        return None
    return float(value)


@cache
def gemeenten() -> tuple[Gemeente, ...]:
    """All 342 gemeenten, in code order."""
    pop = {r["gm_code"]: r for r in _rows(_GEMEENTE_POP)}
    out = []
    for r in _rows(_GEMEENTE_REGIO):
        p = pop[r["gm_code"]]
        out.append(
            Gemeente(
                code=r["gm_code"],
                name=r["gm_naam"],
                provincie_code=r["pv_code"],
                provincie_name=r["pv_naam"],
                veiligheidsregio_code=r["vr_code"],
                veiligheidsregio_name=r["vr_naam"],
                politie_eenheid_code=r["re_code"],
                politie_eenheid_name=r["re_naam"],
                riec_name=r["riec_naam"],
                population_2024=int(p["bevolking_2024_01_01"]),
                area_km2=float(p["oppervlakte_totaal_km2"]),
                land_area_km2=float(p["oppervlakte_land_km2"]),
            )
        )
    return tuple(sorted(out, key=lambda g: g.code))


@cache
def _gemeente_index() -> dict[str, Gemeente]:
    return {g.code: g for g in gemeenten()}


def gemeente(code: str) -> Gemeente:
    """The gemeente with this code; ``KeyError`` if there is none."""
    return _gemeente_index()[code]


@cache
def wijken() -> tuple[Wijk, ...]:
    """All 3,352 wijken of the 2023 division, in code order."""
    out = [
        Wijk(
            code=r["wk_code"],
            name=r["wk_naam"],
            gemeente_code=r["gm_code"],
            cars_per_household=_opt_float(r["autos_per_huishouden_2023"]),
            mean_income_k_eur=_opt_float(r["gem_inkomen_per_inwoner_2020_x1000eur"]),
            pct_low40=_opt_float(r["pct_hh_laagste40_2020"]),
            pct_high20=_opt_float(r["pct_hh_hoogste20_2020"]),
        )
        for r in _rows(_WIJKEN)
    ]
    return tuple(sorted(out, key=lambda w: w.code))


@cache
def wijken_by_gemeente() -> dict[str, tuple[Wijk, ...]]:
    """Wijken grouped by gemeente code (every gemeente has at least one)."""
    grouped: dict[str, list[Wijk]] = {g.code: [] for g in gemeenten()}
    for w in wijken():
        grouped[w.gemeente_code].append(w)
    return {code: tuple(ws) for code, ws in grouped.items()}


def _areas(level: str, code_attr: str, name_attr: str) -> tuple[Area, ...]:
    seen = {getattr(g, code_attr): getattr(g, name_attr) for g in gemeenten()}
    return tuple(Area(level, code, seen[code]) for code in sorted(seen))


@cache
def provincies() -> tuple[Area, ...]:
    """The 12 provincies (PV20..PV31)."""
    return _areas("provincie", "provincie_code", "provincie_name")


@cache
def veiligheidsregios() -> tuple[Area, ...]:
    """The 25 veiligheidsregio's (VR01..VR25)."""
    return _areas("veiligheidsregio", "veiligheidsregio_code", "veiligheidsregio_name")


@cache
def politie_eenheden() -> tuple[Area, ...]:
    """The 10 regional police units (RE01..RE10), which are also the RIEC regions."""
    return _areas("politie_eenheid", "politie_eenheid_code", "politie_eenheid_name")
