"""Registered Opiumwet suspects: young men in cities, repeat offenders and drug families.

Each year a quarter of the suspects are earlier suspects; a share are household members of
earlier or current suspects (drug families); the rest are new, drawn with weights on age,
sex, urbanity and income. ``family_member_suspect`` is derived at the end from the data
themselves: another person with the same household id (at registration) is also registered.
"""

from __future__ import annotations

import numpy as np

from loaders.synthetic import params
from loaders.synthetic.geography import Geography
from loaders.synthetic.population import SEXES, Population
from loaders.synthetic.sampling import choose_in_groups, day_numbers, sample_without_replacement
from loaders.synthetic.writer import Coded

DRUG_TYPES = ("cannabis", "hashish", "synthetic", "cocaine", "heroin", "other")
OFFENCE_TYPES = ("production", "trade", "possession", "import_export")
REPEAT_SHARE = 0.25
FAMILY_RECRUIT_SHARE = 0.16  # tuned so that ~36 % of registrations have a suspect relative
_FIELDS = ("person", "household", "day", "res_buurt", "off_buurt", "age", "sex", "drug", "offence")


class SuspectRegister:
    """Collects registrations year by year; ``columns()`` derives the per-person flags."""

    def __init__(self) -> None:
        self._parts: dict[str, list[np.ndarray]] = {f: [] for f in _FIELDS}

    def add_year(
        self, pop: Population, geo: Geography, scale: float, rng: np.random.Generator
    ) -> None:
        n = round(params.SUSPECTS_PER_YEAR[pop.year] * scale)
        chosen = _choose_persons(pop, geo, n, rng)
        pop.p_suspect[chosen] += 1
        extra = chosen[rng.random(len(chosen)) < params.REGISTRATIONS_PER_SUSPECT - 1]
        persons = np.concatenate((chosen, extra))
        self._record(pop, geo, persons, rng)

    def _record(
        self, pop: Population, geo: Geography, idx: np.ndarray, rng: np.random.Generator
    ) -> None:
        buurt = pop.buurt[idx]
        drug = _drug_types(pop.year, len(idx), rng)
        values = {
            "person": pop.p_id[idx],
            "household": pop.h_id[pop.p_hh[idx]],
            "day": day_numbers(pop.year, rng, len(idx)),
            "res_buurt": buurt,
            "off_buurt": offence_buurt(geo, buurt, rng),
            "age": pop.age[idx],
            "sex": pop.p_sex[idx].astype(np.int64),
            "drug": drug,
            "offence": _offence_types(drug, rng),
        }
        for f in _FIELDS:
            self._parts[f].append(values[f])

    def columns(self, geo: Geography, rng: np.random.Generator) -> dict[str, object]:
        v = {f: np.concatenate(p) if p else np.zeros(0, np.int64) for f, p in self._parts.items()}
        order = np.lexsort((v["day"], v["person"]))
        v = {f: a[order] for f, a in v.items()}
        return {
            "registration_id": np.arange(1, len(order) + 1, dtype=np.int64),
            "person_id": v["person"],
            "registration_date": v["day"],
            "residence_buurt_code": Coded(v["res_buurt"], geo.b_code),
            "offence_buurt_code": Coded(v["off_buurt"], geo.b_code),
            "age": v["age"],
            "sex": Coded(v["sex"], SEXES),
            "drug_type": Coded(v["drug"], DRUG_TYPES),
            "offence_type": Coded(v["offence"], OFFENCE_TYPES),
            "first_registration": _first_registration(v["person"], v["day"], rng),
            "family_member_suspect": family_flags(v["person"], v["household"]),
        }


def family_flags(person: np.ndarray, household: np.ndarray) -> np.ndarray:
    """True where another person with the same household id is also registered."""
    pairs = np.unique(np.stack((household, person)), axis=1)
    hh, n_persons = np.unique(pairs[0], return_counts=True)
    multi = hh[n_persons >= 2]
    return np.isin(household, multi)


def _first_registration(
    person: np.ndarray, day: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """First registration in the data (rows sorted by person, date), unless the person was
    already registered before 2015 (more likely the earlier the first registration here)."""
    first = np.concatenate(([True], person[1:] != person[:-1]))
    years = 1970 + day / 365.2425 - params.FIRST_YEAR
    history = rng.random(len(person)) < 0.45 * 0.8**years
    return first & ~history


def _choose_persons(
    pop: Population, geo: Geography, n: int, rng: np.random.Generator
) -> np.ndarray:
    age = pop.age
    eligible = age >= 12
    earlier = eligible & (pop.p_suspect > 0)
    repeat = sample_without_replacement(earlier * _age_weight(age), round(REPEAT_SHARE * n), rng)
    n_family = round(FAMILY_RECRUIT_SHARE * n)
    w = eligible * _fresh_weight(pop, geo, age)
    w[repeat] = 0
    fresh = sample_without_replacement(w, n - len(repeat) - n_family, rng)
    family = _family_recruits(
        pop, np.concatenate((repeat, fresh)), age, n - len(repeat) - len(fresh), rng
    )
    return np.unique(np.concatenate((repeat, fresh, family)))


def _age_weight(age: np.ndarray) -> np.ndarray:
    # Peaks in the early twenties, long tail to middle age (CBS suspect age profile).
    return np.where(age < 12, 0.0, np.exp(-(((age - 24) / 10.0) ** 2)) + 0.05 * (age < 60))


def _fresh_weight(pop: Population, geo: Geography, age: np.ndarray) -> np.ndarray:
    gem = geo.b_gemeente[pop.buurt]
    male = np.where(pop.p_sex == 0, 1.0, 0.15)
    urban = 0.3 + 1.5 * geo.g_urban[gem]
    poor = np.where((pop.h_decile[pop.p_hh] >= 1) & (pop.h_decile[pop.p_hh] <= 3), 2.0, 1.0)
    hot = np.sqrt(geo.b_plantation_hot[pop.buurt])
    family = np.array([params.FAMILY_HOTSPOTS.get(c, 1.0) for c in geo.g_code])[gem]
    return _age_weight(age) * male * urban * poor * hot * family


def _family_recruits(
    pop: Population, current: np.ndarray, age: np.ndarray, n: int, rng: np.random.Generator
) -> np.ndarray:
    """Household members (14+) of this year's suspects: drug families share a household id in
    the registration year, which is what ``family_member_suspect`` is derived from."""
    in_family = np.zeros(len(pop.h_id), bool)
    in_family[pop.p_hh[current]] = True
    w = (in_family[pop.p_hh] & (age >= 14)) * np.where(pop.p_sex == 0, 1.0, 0.5)
    w = w * (1.0 + (age >= 18))
    w[current] = 0
    return sample_without_replacement(w.astype(np.float64), n, rng)


def offence_buurt(geo: Geography, home: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Where the offence happened: own buurt 35 %, own gemeente 35 %, a neighbouring gemeente
    20 %, elsewhere (the big cities) 10 %."""
    n = len(home)
    gem = geo.b_gemeente[home]
    u = rng.random(n)
    neighbour = geo.g_neighbours[gem, rng.integers(0, geo.g_neighbours.shape[1], n)]
    city_w = geo.g_population * geo.g_urban**2
    city = choose_in_groups(np.zeros(n, np.int64), city_w, np.array([0, len(city_w)]), rng)
    target_gem = np.where(u < 0.70, gem, np.where(u < 0.90, neighbour, city))
    other = choose_in_groups(target_gem, geo.b_weight, geo.g_buurt_start, rng)
    return np.where(u < 0.35, home, other).astype(np.int64)


def _drug_types(year: int, n: int, rng: np.random.Generator) -> np.ndarray:
    # Cocaine and synthetics gain over the years, cannabis loses.
    t = (year - params.FIRST_YEAR) / (params.LAST_YEAR - params.FIRST_YEAR)
    p = np.array([0.42 - 0.10 * t, 0.06, 0.14 + 0.04 * t, 0.22 + 0.06 * t, 0.05, 0.11])
    return rng.choice(len(DRUG_TYPES), size=n, p=p / p.sum()).astype(np.int64)


def _offence_types(drug: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    grows = np.isin(drug, (0, 2))  # cannabis and synthetics are produced here
    u = rng.random(len(drug))
    prod = np.where(grows, 0.25, 0.02)
    return np.select(
        [u < prod, u < prod + 0.35, u < prod + 0.35 + 0.33], [0, 1, 2], default=3
    ).astype(np.int64)
