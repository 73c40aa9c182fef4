"""The synthetic population: households in buurten, persons who age, move, die and are born.

State is a set of parallel numpy arrays (persons ``p_*``, households ``h_*``) evolved one year
at a time, so memory holds one year, not ten. Income deciles follow the real wijk income
figures; tenure follows income. Gemeente totals track the real 2024 populations: immigrants
fill each gemeente's shortfall against its target for the year.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from loaders.synthetic import params
from loaders.synthetic.geography import Geography
from loaders.synthetic.sampling import allocate, choose_in_groups, sample_without_replacement

HOUSEHOLD_TYPES = ("single", "couple", "couple_with_children", "single_parent", "other")
SINGLE, COUPLE, WITH_CHILDREN, SINGLE_PARENT, OTHER = range(5)
TENURES = ("owner", "social_rent", "private_rent")
OWNER, SOCIAL, PRIVATE = range(3)
SEXES = ("M", "V")

_TYPE_P = np.array([0.38, 0.28, 0.24, 0.08, 0.02])
# P(owner), P(social rent) by income decile 1..10 (index 0 = unknown income).
_P_OWNER = np.array([0.20, 0.15, 0.22, 0.32, 0.45, 0.55, 0.63, 0.71, 0.78, 0.84, 0.88])
_P_SOCIAL = np.array([0.45, 0.60, 0.55, 0.46, 0.37, 0.30, 0.24, 0.18, 0.12, 0.07, 0.03])
UNKNOWN_INCOME_SHARE = 0.02
# Nobody outlives this age (the Dutch record is 115; the contract allows up to 120). Heads of
# household are drawn at most ``MAX_HEAD_AGE`` old, so ten years of ageing stay below it too.
MAX_AGE = 110
MAX_HEAD_AGE = 95
_PERSON_ARRAYS = ("p_id", "p_hh", "p_birth", "p_sex", "p_suspect")


@dataclass(slots=True)
class Population:
    """Mutable state for one reference year (1 January)."""

    year: int
    p_id: NDArray[np.int64]
    p_hh: NDArray[np.int64]  # index into the h_* arrays
    p_birth: NDArray[np.int16]
    p_sex: NDArray[np.int8]  # 0 = M, 1 = V
    p_suspect: NDArray[np.int16]  # drug-suspect registrations so far (set by suspects.py)
    h_id: NDArray[np.int64]
    h_buurt: NDArray[np.int64]
    h_type: NDArray[np.int8]
    h_decile: NDArray[np.int8]  # 1..10, 0 = unknown
    h_tenure: NDArray[np.int8]
    next_person: int
    next_household: int

    @property
    def age(self) -> NDArray[np.int64]:
        return (self.year - self.p_birth).astype(np.int64)

    @property
    def buurt(self) -> NDArray[np.int64]:
        return self.h_buurt[self.p_hh]


def target_total(year: int, scale: float) -> int:
    """National inhabitants on 1 January of ``year``: geometric path 2015 -> 2024 (CBS)."""
    span = params.LAST_YEAR - params.FIRST_YEAR
    growth = (params.POPULATION_2024 / params.POPULATION_2015) ** (1 / span)
    return round(params.POPULATION_2015 * growth ** (year - params.FIRST_YEAR) * scale)


def initial(geo: Geography, scale: float, rng: np.random.Generator) -> Population:
    """The population on 1 January of the first year."""
    n = target_total(params.FIRST_YEAR, scale)
    per_gem = allocate(n, geo.g_population, rng)
    sizes, types = _household_pool(n, rng)
    hh, h_gem, h_types = _cut_by_gemeente(sizes, types, per_gem)
    pop = _empty(params.FIRST_YEAR)
    _add_households(pop, geo, h_gem, h_types, rng, decile_shift=0)
    births, sexes = _member_demography(hh, h_types, params.FIRST_YEAR, rng)
    _add_persons(pop, hh, births, sexes)
    return pop


def step(pop: Population, geo: Geography, scale: float, rng: np.random.Generator) -> None:
    """Advance ``pop`` by one year in place: deaths, emigration, leaving home, moves, births."""
    pop.year += 1
    _remove_persons(pop, _deaths(pop, rng) | _emigrants(pop, rng))
    _leave_home(pop, geo, rng)
    _move_households(pop, geo, rng)
    _drift_income(pop, rng)
    _births(pop, rng)
    _immigrate(pop, geo, scale, rng)
    _fix_household_types(pop)


# -- construction ----------------------------------------------------------------------------


def _empty(year: int) -> Population:
    i64, i16, i8 = np.int64, np.int16, np.int8
    return Population(
        year=year,
        p_id=np.zeros(0, i64),
        p_hh=np.zeros(0, i64),
        p_birth=np.zeros(0, i16),
        p_sex=np.zeros(0, i8),
        p_suspect=np.zeros(0, i16),
        h_id=np.zeros(0, i64),
        h_buurt=np.zeros(0, i64),
        h_type=np.zeros(0, i8),
        h_decile=np.zeros(0, i8),
        h_tenure=np.zeros(0, i8),
        next_person=1,
        next_household=1,
    )


def _household_pool(n_persons: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Households with types and sizes, just enough to hold ``n_persons`` persons."""
    h = int(n_persons / 1.9) + 10
    types = rng.choice(len(_TYPE_P), size=h, p=_TYPE_P).astype(np.int8)
    sizes = np.select(
        [types == SINGLE, types == COUPLE, types == WITH_CHILDREN, types == SINGLE_PARENT],
        [1, 2, 3 + np.minimum(rng.poisson(1.1, h), 4), 2 + np.minimum(rng.poisson(0.6, h), 3)],
        default=2 + np.minimum(rng.poisson(0.8, h), 3),
    )
    keep = int(np.searchsorted(np.cumsum(sizes), n_persons)) + 1
    sizes, types = sizes[:keep].copy(), types[:keep]
    sizes[-1] -= int(sizes.sum()) - n_persons
    return sizes, types


def _cut_by_gemeente(
    sizes: np.ndarray, types: np.ndarray, per_gem: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lay persons out household by household and cut the line at the gemeente targets.

    A household straddling a cut is split in two. Returns each person's new (dense)
    household index and each household's gemeente and type.
    """
    n = int(sizes.sum())
    hh0 = np.repeat(np.arange(len(sizes)), sizes)
    p_gem = np.searchsorted(np.cumsum(per_gem), np.arange(n), side="right")
    key = hh0 * len(per_gem) + p_gem
    change = np.concatenate(([True], key[1:] != key[:-1]))
    hh = np.cumsum(change) - 1
    first = np.flatnonzero(change)
    h_types = np.where(np.bincount(hh) == 1, SINGLE, types[hh0[first]]).astype(np.int8)
    return hh, p_gem[first], h_types


def _member_demography(
    hh: np.ndarray, h_types: np.ndarray, year: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Birth years and sexes: adults first in each household, then children."""
    n = len(hh)
    start = np.concatenate(([0], np.flatnonzero(hh[1:] != hh[:-1]) + 1))
    pos = np.arange(n) - np.repeat(start, np.bincount(hh))
    t = h_types[hh]
    adults = np.select([t == SINGLE, t == SINGLE_PARENT], [1, 1], default=2)
    is_child = ((t == WITH_CHILDREN) | (t == SINGLE_PARENT)) & (pos >= adults)
    head_age = _head_age(h_types, rng)[hh]
    partner = np.clip(head_age + rng.normal(0, 3, n), 18, MAX_HEAD_AGE)
    age = np.where(pos == 0, head_age, partner)
    child_span = np.clip(head_age - 20, 1, 26)
    age = np.where(is_child, np.floor(rng.random(n) * child_span), age).astype(np.int64)
    female = rng.random(n) < 0.5
    second = (pos == 1) & ~is_child & ((t == COUPLE) | (t == WITH_CHILDREN))
    female = np.where(second, ~np.roll(female, 1), female)
    female = np.where((pos == 0) & (t == SINGLE_PARENT), rng.random(n) < 0.8, female)
    return (year - age).astype(np.int16), female.astype(np.int8)


def _head_age(h_types: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h = len(h_types)
    young_single = 20 + rng.gamma(2.0, 6.0, h)
    old_single = 45 + rng.random(h) * 50
    single = np.where(rng.random(h) < 0.5, young_single, old_single)
    age = np.select(
        [h_types == SINGLE, h_types == COUPLE, h_types == WITH_CHILDREN],
        [single, 25 + rng.random(h) * 60, 28 + rng.random(h) * 27],
        default=22 + rng.random(h) * 38,
    )
    # The gamma tail is unbounded: among millions of young singles a few came out over 100.
    return np.minimum(age, MAX_HEAD_AGE).astype(np.int64)


def _add_households(
    pop: Population,
    geo: Geography,
    h_gem: np.ndarray,
    h_types: np.ndarray,
    rng: np.random.Generator,
    decile_shift: int,
) -> np.ndarray:
    """Append households placed in buurten of the given gemeenten; return their indices."""
    buurt = choose_in_groups(h_gem, geo.b_weight, geo.g_buurt_start, rng)
    decile = draw_decile(geo, buurt, h_types, rng, decile_shift)
    first = len(pop.h_id)
    n = len(h_gem)
    pop.h_id = np.concatenate((pop.h_id, pop.next_household + np.arange(n, dtype=np.int64)))
    pop.next_household += n
    pop.h_buurt = np.concatenate((pop.h_buurt, buurt))
    pop.h_type = np.concatenate((pop.h_type, h_types.astype(np.int8)))
    pop.h_decile = np.concatenate((pop.h_decile, decile))
    pop.h_tenure = np.concatenate((pop.h_tenure, draw_tenure(decile, rng)))
    return np.arange(first, first + n)


def _add_persons(pop: Population, hh: np.ndarray, birth: np.ndarray, sex: np.ndarray) -> None:
    n = len(hh)
    pop.p_id = np.concatenate((pop.p_id, pop.next_person + np.arange(n, dtype=np.int64)))
    pop.next_person += n
    pop.p_hh = np.concatenate((pop.p_hh, hh.astype(np.int64)))
    pop.p_birth = np.concatenate((pop.p_birth, birth.astype(np.int16)))
    pop.p_sex = np.concatenate((pop.p_sex, sex.astype(np.int8)))
    pop.p_suspect = np.concatenate((pop.p_suspect, np.zeros(n, np.int16)))


def draw_decile(
    geo: Geography,
    buurt: np.ndarray,
    h_types: np.ndarray,
    rng: np.random.Generator,
    shift: int = 0,
) -> np.ndarray:
    """National income decile of each household from its buurt's low-40 %/high-20 % shares."""
    low, high = geo.b_low40[buurt], geo.b_high20[buurt]
    mid = 1.0 - low - high
    u = rng.random(len(buurt))
    decile = np.where(
        u < low,
        1 + np.floor(u / low * 4),
        np.where(u < low + mid, 5 + np.floor((u - low) / mid * 4), 9 + (u >= 1 - high / 2)),
    ).astype(np.int64)
    # Singles and single parents earn less per standardised household than couples.
    poorer = np.isin(h_types, (SINGLE, SINGLE_PARENT)) & (rng.random(len(buurt)) < 0.3)
    decile = np.clip(decile - poorer + shift, 1, 10)
    unknown = rng.random(len(buurt)) < UNKNOWN_INCOME_SHARE
    return np.where(unknown, 0, decile).astype(np.int8)


def draw_tenure(decile: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Owner / social rent / private rent, with social rent concentrated in low deciles."""
    u = rng.random(len(decile))
    p_own, p_soc = _P_OWNER[decile], _P_SOCIAL[decile]
    return np.where(u < p_own, OWNER, np.where(u < p_own + p_soc, SOCIAL, PRIVATE)).astype(np.int8)


# -- yearly dynamics -------------------------------------------------------------------------


def _remove_persons(pop: Population, gone: np.ndarray) -> None:
    keep = ~gone
    for name in _PERSON_ARRAYS:
        setattr(pop, name, getattr(pop, name)[keep])


def _deaths(pop: Population, rng: np.random.Generator) -> np.ndarray:
    # Gompertz mortality: about 0.9 % of the population a year, as in the Netherlands.
    q = np.minimum(2.2e-5 * np.exp(0.096 * pop.age), 0.6)
    return (rng.random(len(q)) < q) | (pop.age > MAX_AGE)


def _emigrants(pop: Population, rng: np.random.Generator) -> np.ndarray:
    age = pop.age
    p = np.where((age >= 20) & (age <= 35), 0.012, 0.004)
    return rng.random(len(age)) < p


def _leave_home(pop: Population, geo: Geography, rng: np.random.Generator) -> None:
    """Young adults living with a parent start a single household (half move to a city)."""
    age = pop.age
    parent_age = np.zeros(len(pop.h_id), dtype=np.int64)
    np.maximum.at(parent_age, pop.p_hh, age)
    t = pop.h_type[pop.p_hh]
    child = (age >= 18) & (age <= 30) & (parent_age[pop.p_hh] - age >= 16)
    child &= (t == WITH_CHILDREN) | (t == SINGLE_PARENT)
    leavers = np.flatnonzero(child & (rng.random(len(age)) < 0.15))
    if len(leavers) == 0:
        return
    home_gem = geo.b_gemeente[pop.h_buurt[pop.p_hh[leavers]]]
    city = choose_in_groups(
        np.zeros(len(leavers), np.int64),
        geo.g_population * (0.2 + geo.g_urban),
        np.array([0, len(geo.g_code)]),
        rng,
    )
    gem = np.where(rng.random(len(leavers)) < 0.5, home_gem, city)
    types = np.full(len(leavers), SINGLE, np.int8)
    pop.p_hh[leavers] = _add_households(pop, geo, gem, types, rng, decile_shift=-2)


def _move_households(pop: Population, geo: Geography, rng: np.random.Generator) -> None:
    """About 5 % of households move: mostly within their gemeente."""
    h = len(pop.h_id)
    movers = np.flatnonzero(rng.random(h) < 0.05)
    same = rng.random(len(movers)) < 0.65
    home = geo.b_gemeente[pop.h_buurt[movers]]
    anywhere = choose_in_groups(
        np.zeros(len(movers), np.int64), geo.g_population, np.array([0, len(geo.g_code)]), rng
    )
    gem = np.where(same, home, anywhere)
    pop.h_buurt[movers] = choose_in_groups(gem, geo.b_weight, geo.g_buurt_start, rng)
    pop.h_tenure[movers] = draw_tenure(pop.h_decile[movers], rng)


def _drift_income(pop: Population, rng: np.random.Generator) -> None:
    h = len(pop.h_decile)
    change = (rng.random(h) < 0.06) & (pop.h_decile > 0)
    delta = np.where(rng.random(h) < 0.5, -1, 1)
    pop.h_decile = np.where(change, np.clip(pop.h_decile + delta, 1, 10), pop.h_decile).astype(
        np.int8
    )


def _births(pop: Population, rng: np.random.Generator) -> None:
    """About 0.95 % births a year, to women of 20-42 living in a family or couple."""
    age = pop.age
    t = pop.h_type[pop.p_hh]
    eligible = (pop.p_sex == 1) & (age >= 20) & (age <= 42) & (t != OTHER)
    weight = eligible * np.exp(-(((age - 31) / 5.0) ** 2))
    mothers = sample_without_replacement(weight, round(0.0095 * len(age)), rng)
    hh = pop.p_hh[mothers]
    ht = pop.h_type[hh]
    pop.h_type[hh] = np.where(
        ht == COUPLE, WITH_CHILDREN, np.where(ht == SINGLE, SINGLE_PARENT, ht)
    )
    sex = (rng.random(len(hh)) < 0.49).astype(np.int8)
    _add_persons(pop, hh, np.full(len(hh), pop.year - 1, np.int16), sex)


def _immigrate(pop: Population, geo: Geography, scale: float, rng: np.random.Generator) -> None:
    """Newcomers fill each gemeente's shortfall against its share of the year's target."""
    target = allocate(target_total(pop.year, scale), geo.g_population, rng)
    current = np.bincount(geo.b_gemeente[pop.buurt], minlength=len(target))
    shortfall = np.maximum(target - current, 0)
    n = int(target.sum() - current.sum())
    if n <= 0:
        return
    per_gem = allocate(n, shortfall.astype(np.float64), rng)
    sizes, types = _household_pool(n, rng)
    hh_local, h_gem, h_types = _cut_by_gemeente(sizes, types, per_gem)
    new_h = _add_households(pop, geo, h_gem, h_types, rng, decile_shift=-1)
    births, sexes = _member_demography(hh_local, h_types, pop.year, rng)
    _add_persons(pop, new_h[hh_local], births, sexes)


def _fix_household_types(pop: Population) -> None:
    size = np.bincount(pop.p_hh, minlength=len(pop.h_id))
    pop.h_type = np.where(size == 1, SINGLE, pop.h_type).astype(np.int8)
