"""Cleared cannabis plantations: counts per politie-eenheid and year as published, placed in
hot-spot gemeenten and poorer buurten; residents over-represent low income, social rent and
earlier drug suspects."""

from __future__ import annotations

import numpy as np

from loaders.synthetic import params
from loaders.synthetic.geography import Geography
from loaders.synthetic.population import SOCIAL, Population
from loaders.synthetic.sampling import allocate, choose_in_groups, day_numbers
from loaders.synthetic.writer import Coded

PREMISES_TYPES = ("dwelling", "business_premises", "outbuilding", "outdoor")
_FIELDS = ("day", "buurt", "premises", "plants", "resident")


class PlantationRegister:
    def __init__(self, geo: Geography) -> None:
        self._parts: dict[str, list[np.ndarray]] = {f: [] for f in _FIELDS}
        targets = params.plantations_by_unit()
        self._targets = np.array([[targets[u][y] for y in params.YEARS] for u in geo.units])
        # Buurten grouped by politie-eenheid so one searchsorted picks a buurt per plantation.
        b_unit = geo.g_unit[geo.b_gemeente]
        self._order = np.argsort(b_unit, kind="stable")
        counts = np.bincount(b_unit, minlength=len(geo.units))
        self._starts = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
        w = geo.b_weight * geo.g_population[geo.b_gemeente] * geo.b_plantation_hot
        self._weights = w[self._order]

    def add_year(
        self, pop: Population, geo: Geography, scale: float, rng: np.random.Generator
    ) -> None:
        col = params.YEARS.index(pop.year)
        per_unit = allocate(round(self._targets[:, col].sum() * scale), self._targets[:, col], rng)
        unit = np.repeat(np.arange(len(per_unit)), per_unit)
        buurt = self._order[choose_in_groups(unit, self._weights, self._starts, rng)]
        n = len(buurt)
        premises = _premises(pop.year, n, rng)
        wants = (premises == 0) | ((premises == 2) & (rng.random(n) < 0.5))
        resident = np.zeros(n, np.int64)
        # With a resident, the premises are where that resident lives.
        resident[wants], buurt[wants] = _residents(pop, geo, unit[wants], rng)
        values = {
            "day": day_numbers(pop.year, rng, n),
            "buurt": buurt,
            "premises": premises,
            "plants": _plants(premises, rng),
            "resident": resident,
        }
        for f in _FIELDS:
            self._parts[f].append(values[f])

    def columns(self, geo: Geography) -> dict[str, object]:
        v = {f: np.concatenate(p) for f, p in self._parts.items()}
        return {
            "plantation_id": np.arange(1, len(v["day"]) + 1, dtype=np.int64),
            "cleared_date": v["day"],
            "buurt_code": Coded(v["buurt"], geo.b_code),
            "premises_type": Coded(v["premises"], PREMISES_TYPES),
            "plants": v["plants"],
            "resident_person_id": v["resident"],  # 0 = no resident -> null
        }


def _premises(year: int, n: int, rng: np.random.Generator) -> np.ndarray:
    # Outdoor growing rose to ~15 % of clearances by 2020 (436 of 2,894).
    outdoor = min(0.06 + 0.018 * (year - params.FIRST_YEAR), 0.16)
    p = np.array([0.80 - outdoor, 0.12, 0.08, outdoor])
    return rng.choice(4, size=n, p=p).astype(np.int64)


def _plants(premises: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    median = np.array([250.0, 700.0, 300.0, 120.0])[premises]
    return np.maximum(np.round(median * rng.lognormal(0.0, 0.8, len(premises))), 5).astype(np.int64)


def _residents(
    pop: Population, geo: Geography, unit: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Main residents (adults) drawn per politie-eenheid, and the buurten they live in.

    Weights: the buurt's plantation hot-spot factor times low income, social rent and, most of
    all, an earlier drug-suspect registration.
    """
    age = pop.age
    p_buurt = pop.buurt
    decile = pop.h_decile[pop.p_hh]
    w = ((age >= 18) & (age < 75)).astype(np.float64) * geo.b_plantation_hot[p_buurt]
    w *= np.where((decile >= 1) & (decile <= 3), 3.0, np.where(decile <= 5, 1.5, 0.7))
    w *= np.where(pop.h_tenure[pop.p_hh] == SOCIAL, 2.0, 1.0)
    w *= np.where(pop.p_suspect > 0, 30.0, 1.0)
    p_unit = geo.g_unit[geo.b_gemeente[p_buurt]]
    order = np.argsort(p_unit, kind="stable")
    counts = np.bincount(p_unit, minlength=len(geo.units))
    starts = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    person = order[choose_in_groups(unit, w[order], starts, rng)]
    return pop.p_id[person], p_buurt[person]
