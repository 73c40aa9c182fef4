"""KvK establishments: companies (the holding) with one or more establishments, per SBI sector.

The stock grows from ~1.75 M (2015) to ~2.4 M establishments (2024) at scale 1 through yearly
entries and exits. A few chains have hundreds of establishments (large contributors).
Directors with a conviction cluster in cash-intensive sectors and in plantation hot spots.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from importlib import resources

import numpy as np
from numpy.typing import NDArray

from loaders.synthetic import params
from loaders.synthetic.geography import Geography
from loaders.synthetic.writer import Coded

LEGAL_FORMS = (
    "sole_proprietorship",
    "general_partnership",
    "private_limited",
    "public_limited",
    "foundation",
    "association",
    "other",
)
_LEGAL_P = np.array([0.62, 0.07, 0.23, 0.002, 0.04, 0.03, 0.008])
_SECTION_SHARE = {
    "A": 3.5, "B": 0.05, "C": 4.0, "D": 0.5, "E": 0.2, "F": 10.0, "G": 15.0, "H": 4.0,
    "I": 4.0, "J": 6.0, "K": 6.0, "L": 3.0, "M": 18.0, "N": 6.0, "O": 0.1, "P": 5.0,
    "Q": 9.0, "R": 5.0, "S": 5.0, "T": 0.05, "U": 0.01,
}  # fmt: skip
_DIVISION_SHARE = {"45": 0.15, "46": 0.30, "47": 0.55, "64": 0.8, "65": 0.05, "66": 0.15}
CASH_INTENSIVE = ("45", "46", "47", "49", "55", "56", "64", "68", "77", "92", "93", "96")
COMPANY_ID_BASE = 100_000_000  # KvK-like 9-digit ids, disjoint from person ids
EXIT_RATE = 0.065
ENTRIES_PER_YEAR = 210_000  # at scale 1; with EXIT_RATE gives ~2.4 M in 2024


@dataclass(frozen=True, slots=True)
class Establishments:
    """All establishments that exist in any year; in stock in Y iff opened < Y <= closed."""

    est_id: NDArray[np.int64]
    company_id: NDArray[np.int64]
    buurt: NDArray[np.int64]
    division: NDArray[np.int64]  # index into divisions
    divisions: tuple[str, ...]
    legal_form: NDArray[np.int64]
    founded: NDArray[np.int64]
    opened: NDArray[np.int64]
    closed: NDArray[np.int64]
    employees: NDArray[np.int64]
    convicted: NDArray[np.bool_]
    professional: NDArray[np.bool_]

    def in_stock(self, year: int) -> NDArray[np.bool_]:
        return (self.opened < year) & (self.closed >= year)

    @property
    def cash_intensive(self) -> NDArray[np.bool_]:
        return np.isin(np.array(self.divisions)[self.division], CASH_INTENSIVE)


def divisions() -> tuple[tuple[str, ...], np.ndarray]:
    """SBI 2008 divisions (KvK list, plus 05 and 07) with their share of establishments."""
    text = resources.files("dimensions").joinpath("data", "sbi2008_kvk_secties_afdelingen.csv")
    rows = list(csv.DictReader(io.StringIO(text.read_text(encoding="utf-8"))))
    div = [(r["code"], r["parent"]) for r in rows if r["niveau"] == "afdeling"]
    div += [(c, "B") for c in ("05", "07") if c not in {d for d, _ in div}]
    div.sort()
    per_section: dict[str, int] = {}
    for _, sec in div:
        per_section[sec] = per_section.get(sec, 0) + 1
    share = [_DIVISION_SHARE.get(d, 1.0 / per_section[s]) * _SECTION_SHARE[s] for d, s in div]
    return tuple(d for d, _ in div), np.array(share) / sum(share)


def build(geo: Geography, scale: float, rng: np.random.Generator) -> Establishments:
    """Companies and their establishments for 2015-2024."""
    opened, closed = _lifetimes(scale, rng)
    n_comp = len(opened)
    codes, shares = divisions()
    division = rng.choice(len(codes), size=n_comp, p=shares)
    sizes = _chain_sizes(n_comp, scale, rng)
    comp = np.repeat(np.arange(n_comp), sizes)
    legal = _legal_forms(np.array(codes)[division], sizes > 1, rng)
    buurt = _place(geo, comp, sizes, rng)
    cash = np.isin(np.array(codes)[division], CASH_INTENSIVE)
    hot = geo.b_plantation_hot[buurt] / geo.b_plantation_hot.mean()
    p_conv = 0.006 * np.where(cash[comp], 3.0, 1.0) * np.minimum(hot, 6.0)
    prof_boost = np.isin(legal, (2, 4)) & np.isin(np.array(codes)[division], ("64", "68"))
    p_prof = 0.015 * np.where(prof_boost, 5.0, 1.0)[comp]
    return Establishments(
        est_id=np.arange(1, len(comp) + 1, dtype=np.int64),
        company_id=COMPANY_ID_BASE + comp.astype(np.int64),
        buurt=buurt,
        division=division[comp],
        divisions=codes,
        legal_form=legal[comp],
        founded=opened[comp],
        opened=opened[comp],
        closed=closed[comp],
        employees=_employees(legal[comp], sizes[comp] > 1, rng),
        convicted=rng.random(len(comp)) < p_conv,
        professional=rng.random(len(comp)) < p_prof,
    )


def _lifetimes(scale: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Opening and closing years of companies: the 2015 stock plus yearly entrants."""
    # Companies, not establishments, are drawn: divide by the mean chain size at this scale.
    per_company = 1.0 / _chain_sizes(200_000, scale, rng).mean()
    n0 = round(params.ESTABLISHMENTS_2015 * scale * per_company)
    founded0 = np.maximum(params.FIRST_YEAR - 1 - rng.exponential(11.0, n0).astype(int), 1850)
    entry_years = np.arange(params.FIRST_YEAR, params.LAST_YEAR)
    per_year = round(ENTRIES_PER_YEAR * scale * per_company)
    founded1 = np.repeat(entry_years, per_year)
    opened = np.concatenate((founded0, founded1))
    start = np.maximum(opened + 1, params.FIRST_YEAR)
    closed = start - 1 + rng.geometric(EXIT_RATE, len(opened))
    return opened.astype(np.int64), closed.astype(np.int64)


def _chain_sizes(n: int, scale: float, rng: np.random.Generator) -> np.ndarray:
    cap = max(5, round(3_000 * scale))
    u = rng.random(n)
    small = 2 + rng.integers(0, 3, n)
    chain = np.minimum(2 + (rng.pareto(1.0, n) * 8).astype(np.int64), cap)
    return np.where(u < 0.965, 1, np.where(u < 0.997, small, chain)).astype(np.int64)


def _legal_forms(division: np.ndarray, multi: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    legal = rng.choice(len(LEGAL_FORMS), size=len(division), p=_LEGAL_P)
    social = np.isin(division, ("85", "86", "87", "88", "90", "91", "93", "94"))
    legal = np.where(
        social & (rng.random(len(legal)) < 0.4), 4 + (rng.random(len(legal)) < 0.4), legal
    )
    holding = np.isin(division, ("64", "68")) & (rng.random(len(legal)) < 0.8)
    return np.where(multi | holding, 2, legal).astype(np.int64)


def _place(
    geo: Geography, comp: np.ndarray, sizes: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Buurt of each establishment: chains spread nationally, others near their first site."""
    weight = geo.b_weight * geo.g_population[geo.b_gemeente] * (0.5 + geo.g_urban[geo.b_gemeente])
    p = weight / weight.sum()
    own = rng.choice(len(p), size=len(comp), p=p)
    first = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    home = own[first][comp]
    chain = sizes[comp] >= 5
    return np.where(chain, own, home).astype(np.int64)


def _employees(legal: np.ndarray, multi: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = len(legal)
    sole = np.where(rng.random(n) < 0.85, 1, rng.integers(0, 4, n))
    other = np.round(rng.lognormal(1.0, 1.3, n))
    chain = np.round(rng.lognormal(2.5, 0.8, n))
    return np.where(multi, chain, np.where(legal == 0, sole, other)).astype(np.int64)


def year_columns(est: Establishments, geo: Geography, year: int) -> dict[str, object]:
    """The ``companies`` rows for the stock on 1 January of ``year``."""
    m = est.in_stock(year)
    return {
        "year": np.full(int(m.sum()), year, np.int16),
        "establishment_id": est.est_id[m],
        "company_id": est.company_id[m],
        "buurt_code": Coded(est.buurt[m], geo.b_code),
        "sbi_division": Coded(est.division[m], est.divisions),
        "legal_form": Coded(est.legal_form[m], LEGAL_FORMS),
        "founded_year": est.founded[m],
        "employees": est.employees[m],
        "director_convicted": est.convicted[m],
        "director_professional": est.professional[m],
    }
