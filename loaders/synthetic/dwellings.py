"""Dwellings with owners and WOZ values, and their sales (transfers) back to 1995.

Owners: owner-occupiers (one dwelling each), housing corporations (thousands of social-rent
dwellings in their region), private landlords and companies with Pareto-sized portfolios
(a few national investors with thousands), foundations concentrated in some wijken.
Doorsluiswoningen (>= 5 sales in 20 years) concentrate in "flip" hot-spot wijken.
The owner of a dwelling is the same in every year (a simplification, see the docs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from dimensions import regions
from loaders.synthetic import params
from loaders.synthetic.geography import Geography
from loaders.synthetic.population import OWNER, PRIVATE, SOCIAL, draw_decile, draw_tenure
from loaders.synthetic.sampling import (
    allocate,
    choose_in_groups,
    pareto_weights,
    sample_without_replacement,
    year_of_days,
    year_start_days,
)
from loaders.synthetic.writer import Coded

OWNER_TYPES = ("private_person", "company", "foundation", "housing_corporation")
PERSON, COMPANY, FOUNDATION, CORPORATION = range(4)
PRIVATE_OWNER_BASE = 500_000_000  # owner ids: not linked to population person ids
LEGAL_OWNER_BASE = 900_000_000
# WOZ value index (2024 = 1) and a house-price index for transfer prices (2024 = 1).
_WOZ_INDEX = dict(
    zip(params.YEARS, (0.56, 0.58, 0.61, 0.65, 0.70, 0.76, 0.81, 0.90, 0.96, 1.0), strict=True)
)
_PRICE_KNOTS = ((1995, 0.20), (2000, 0.38), (2008, 0.55), (2013, 0.45), (2015, 0.50),
                (2019, 0.70), (2022, 0.97), (2024.99, 1.0))  # fmt: skip


@dataclass(frozen=True, slots=True)
class Dwellings:
    buurt: NDArray[np.int64]
    built: NDArray[np.int64]  # in stock on 1 January of Y iff built < Y
    owner: NDArray[np.int64]  # dense owner index
    owner_ids: NDArray[np.int64]
    owner_type: NDArray[np.int64]  # per owner
    owner_unexplained: NDArray[np.bool_]  # per owner: no income/wealth to explain 2+ dwellings
    owner_professional: NDArray[np.bool_]  # per owner
    owner_single_director: NDArray[np.bool_]  # per owner
    woz_2024: NDArray[np.int64]
    unexplained_purchase: dict[int, NDArray[np.int64]]  # year -> dwelling indices
    transfers: dict[str, object]  # transfer columns (contract names)

    @property
    def dwelling_id(self) -> NDArray[np.int64]:
        return np.arange(1, len(self.buurt) + 1, dtype=np.int64)


def build(geo: Geography, scale: float, rng: np.random.Generator) -> Dwellings:
    n = round(params.DWELLINGS_2024 * scale)
    weight = geo.b_weight * geo.g_population[geo.b_gemeente]
    buurt = np.repeat(np.arange(len(weight)), allocate(n, weight, rng))
    decile = draw_decile(geo, buurt, np.ones(n, np.int8), rng)
    tenure = draw_tenure(decile, rng)
    built = _build_years(n, rng)
    owner_kind, owner = _owners(geo, buurt, tenure, rng)
    doorsluis = _doorsluis(geo, buurt, tenure, rng)
    # Flipped dwellings are mostly held by companies.
    owner_kind, owner = _flipper_owners(geo, buurt, doorsluis, owner_kind, owner, rng)
    dense, owner_ids, kinds = _dense_owners(owner_kind, owner)
    woz = _woz(geo, buurt, tenure, rng)
    transfers, unexplained = _transfers(
        geo, buurt, tenure, built, doorsluis, woz, kinds[dense], scale, rng
    )
    return Dwellings(
        buurt=buurt,
        built=built,
        owner=dense,
        owner_ids=owner_ids,
        owner_type=kinds,
        owner_unexplained=_unexplained_owners(geo, buurt, dense, kinds, rng),
        owner_professional=(kinds != PERSON)
        & (kinds != CORPORATION)
        & (rng.random(len(kinds)) < 0.08),
        owner_single_director=(kinds == FOUNDATION) & (rng.random(len(kinds)) < 0.35),
        woz_2024=woz,
        unexplained_purchase=unexplained,
        transfers=transfers,
    )


def _build_years(n: int, rng: np.random.Generator) -> np.ndarray:
    u = rng.random(n)
    old = 1900 + (rng.random(n) * 95).astype(np.int64)
    mid = 1995 + (rng.random(n) * 20).astype(np.int64)
    new = 2015 + (rng.random(n) * 9).astype(np.int64)  # 2015..2023: in stock by 2024
    return np.where(u < 0.075, new, np.where(u < 0.25, mid, old)).astype(np.int64)


def _owners(
    geo: Geography, buurt: np.ndarray, tenure: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Owner kind and a kind-local owner number for every dwelling."""
    n = len(buurt)
    gem = geo.b_gemeente[buurt]
    kind = np.full(n, PERSON, np.int64)
    owner = np.arange(n, dtype=np.int64)  # owner-occupiers own just their own dwelling
    social = tenure == SOCIAL
    kind[social] = CORPORATION
    owner[social] = _corporation(gem[social], rng)
    private = np.flatnonzero(tenure == PRIVATE)
    fh = geo.b_foundation_hot[buurt[private]]
    p_found = 0.10 * fh / (0.90 + 0.10 * fh)
    u = rng.random(len(private))
    pkind = np.where(u < p_found, FOUNDATION, np.where(u < p_found + 0.38, COMPANY, PERSON))
    kind[private] = pkind
    prov = _provincie_index()[gem[private]]
    # Private landlords hold at most dozens; a few companies (national investors) thousands.
    for k, per_owner, alpha, cap in (
        (PERSON, 3, 1.3, 60.0),
        (COMPANY, 8, 0.9, 1e9),
        (FOUNDATION, 4, 1.2, 300.0),
    ):
        sel = pkind == k
        owner[private[sel]] = _portfolio_owner(prov[sel], per_owner, alpha, rng, cap)
    return kind, owner


def _provincie_index() -> np.ndarray:
    codes = [g.provincie_code for g in regions.gemeenten()]
    uniq = sorted(set(codes))
    return np.array([uniq.index(c) for c in codes], dtype=np.int64)


def _corporation(gem: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Gemeenten >= 60k inhabitants have their own corporation; smaller ones share a regional
    one per veiligheidsregio; a second regional corporation holds a quarter everywhere."""
    gems = regions.gemeenten()
    vr_codes = sorted({g.veiligheidsregio_code for g in gems})
    vr = np.array([vr_codes.index(g.veiligheidsregio_code) for g in gems])
    big = np.array([g.population_2024 >= 60_000 for g in gems])
    main = np.where(big, len(vr_codes) * 2 + np.arange(len(gems)), vr[np.arange(len(gems))])
    second = len(vr_codes) + vr
    return np.where(rng.random(len(gem)) < 0.75, main[gem], second[gem]).astype(np.int64)


def _portfolio_owner(
    group: np.ndarray, per_owner: int, alpha: float, rng: np.random.Generator, cap: float = 1e9
) -> np.ndarray:
    """Owners inside each group with Pareto-sized portfolios; owner number unique per group."""
    counts = np.bincount(group, minlength=int(group.max(initial=0)) + 1)
    owners = np.maximum(counts // per_owner, 1)
    starts = np.concatenate(([0], np.cumsum(owners))).astype(np.int64)
    weights = np.minimum(pareto_weights(int(starts[-1]), alpha, rng), cap)
    return choose_in_groups(group, weights, starts, rng)


def _doorsluis(
    geo: Geography, buurt: np.ndarray, tenure: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    hot = geo.b_flip_hot[buurt]
    p = 0.0012 * hot / hot.mean() * np.where(tenure == SOCIAL, 0.05, 1.0)
    return rng.random(len(buurt)) < p


def _flipper_owners(
    geo: Geography,
    buurt: np.ndarray,
    doorsluis: np.ndarray,
    kind: np.ndarray,
    owner: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    idx = np.flatnonzero(doorsluis & (rng.random(len(buurt)) < 0.6))
    kind, owner = kind.copy(), owner.copy()
    kind[idx] = COMPANY
    # Flipping companies (own number range) hold a handful each, within one gemeente.
    owner[idx] = 10_000_000 + _portfolio_owner(geo.b_gemeente[buurt[idx]], 4, 1.5, rng)
    return kind, owner


def _dense_owners(kind: np.ndarray, owner: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    key = kind * 1_000_000_000_000 + owner
    uniq, dense = np.unique(key, return_inverse=True)
    kinds = uniq // 1_000_000_000_000
    person = kinds == PERSON
    ids = np.where(
        person,
        PRIVATE_OWNER_BASE + np.cumsum(person),
        LEGAL_OWNER_BASE + np.cumsum(~person),
    ).astype(np.int64)
    return dense.astype(np.int64), ids, kinds.astype(np.int64)


def _unexplained_owners(
    geo: Geography,
    buurt: np.ndarray,
    owner: np.ndarray,
    kinds: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Private landlords without income or wealth to explain their dwellings (Den Haag and
    Rotterdam stand out); only owners of 2+ dwellings qualify (checked per year)."""
    hot = np.array([params.UNEXPLAINED_OWNERSHIP_HOTSPOTS.get(c, 1.0) for c in geo.g_code])
    owner_hot = np.ones(len(kinds))
    owner_hot[owner] = hot[geo.b_gemeente[buurt]]
    return (kinds == PERSON) & (rng.random(len(kinds)) < 0.12 * owner_hot)


def _woz(
    geo: Geography, buurt: np.ndarray, tenure: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    wealth = geo.b_high20[buurt] - geo.b_low40[buurt]
    base = 400_000 * np.exp(1.2 * wealth) * np.where(tenure == OWNER, 1.1, 0.8)
    return np.round(base * rng.lognormal(0.0, 0.3, len(buurt)), -3).astype(np.int64)


def woz_in(woz_2024: np.ndarray, year: int) -> np.ndarray:
    return np.round(woz_2024 * _WOZ_INDEX[year], -3).astype(np.int64)


def _price_index(days: np.ndarray) -> np.ndarray:
    years = 1970 + days / 365.2425
    xs, ys = zip(*_PRICE_KNOTS, strict=True)
    return np.interp(years, xs, ys)


def _transfers(
    geo: Geography,
    buurt: np.ndarray,
    tenure: np.ndarray,
    built: np.ndarray,
    doorsluis: np.ndarray,
    woz: np.ndarray,
    owner_kind: np.ndarray,
    scale: float,
    rng: np.random.Generator,
) -> tuple[dict[str, object], dict[int, np.ndarray]]:
    d, day = _sale_dates(tenure, built, doorsluis, rng)
    order = np.lexsort((day, d))
    d, day = d[order], day[order]
    last = np.concatenate((d[1:] != d[:-1], [True]))
    buyer = rng.choice(3, size=len(d), p=[0.85, 0.10, 0.05])
    buyer = np.where(doorsluis[d] & (rng.random(len(d)) < 0.6), COMPANY, buyer)
    buyer = np.where(last, owner_kind[d], buyer)
    price = woz[d] * 1.05 * _price_index(day) * rng.lognormal(0.0, 0.12, len(d))
    columns = {
        "transfer_id": np.arange(1, len(d) + 1, dtype=np.int64),
        "dwelling_id": d + 1,
        "transfer_date": day,
        "price": np.round(price, -2).astype(np.int64),
        "buyer_type": Coded(buyer, OWNER_TYPES),
    }
    return columns, _unexplained_purchases(geo, buurt, tenure, built, d, day, buyer, scale, rng)


def _sale_dates(
    tenure: np.ndarray, built: np.ndarray, doorsluis: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Ordinary sales (Poisson over the dwelling's life since 1995) plus the rapid resales of
    doorsluiswoningen (5-8 sales within a few years)."""
    n = len(tenure)
    start = year_start_days(np.maximum(built, params.TRANSFERS_FROM))
    end = year_start_days(params.LAST_YEAR + 1)
    rate = np.select([tenure == OWNER, tenure == PRIVATE], [0.045, 0.03], default=0.004)
    # At most 4 ordinary sales since 1995: five or more are the doorsluis signal, not noise.
    k = np.minimum(rng.poisson(rate * (end - start) / 365.25), 4)
    k = np.where((built >= params.TRANSFERS_FROM) & (tenure != SOCIAL), np.maximum(k, 1), k)
    d1 = np.repeat(np.arange(n), k)
    day1 = start[d1] + (rng.random(len(d1)) * (end - start[d1])).astype(np.int64)
    flips = np.flatnonzero(doorsluis)
    kf = 5 + rng.integers(0, 4, len(flips))
    d2 = np.repeat(flips, kf)
    # Flipping is fast: the resales fall within 3-12 years ending between 2012 and 2024.
    w_end = year_start_days(rng.integers(2012, params.LAST_YEAR + 1, len(flips)) + 1)
    w_start = np.maximum(w_end - rng.integers(3, 13, len(flips)) * 365, start[flips])
    span = w_end - w_start
    day2 = np.repeat(w_start, kf) + (rng.random(len(d2)) * np.repeat(span, kf)).astype(np.int64)
    return np.concatenate((d1, d2)), np.concatenate((day1, day2))


def _unexplained_purchases(
    geo: Geography,
    buurt: np.ndarray,
    tenure: np.ndarray,
    built: np.ndarray,
    d: np.ndarray,
    day: np.ndarray,
    buyer: np.ndarray,
    scale: float,
    rng: np.random.Generator,
) -> dict[int, np.ndarray]:
    """Exactly ~10,600 x scale dwellings a year bought with money the household cannot explain:
    more often rentals, company buyers, poorer and flip hot-spot buurten."""
    year = year_of_days(day)
    w = (1 + 2 * (tenure[d] == PRIVATE)) * (1 + (buyer == COMPANY)) * (0.3 + geo.b_low40[buurt[d]])
    w = w * np.sqrt(geo.b_flip_hot[buurt[d]])
    out: dict[int, np.ndarray] = {}
    for y in params.YEARS:
        cand = np.flatnonzero((year == y) & (built[d] < y))
        picked = sample_without_replacement(
            w[cand], 2 * round(params.UNEXPLAINED_PURCHASES_PER_YEAR * scale), rng
        )
        dwell = np.unique(d[cand[picked]])
        target = round(params.UNEXPLAINED_PURCHASES_PER_YEAR * scale)
        out[y] = np.sort(rng.permutation(dwell)[:target])
    return out


def year_columns(dw: Dwellings, geo: Geography, year: int) -> dict[str, object]:
    """The ``dwellings`` rows for the stock on 1 January of ``year``."""
    m = dw.built < year
    owner = dw.owner[m]
    counts = np.bincount(owner, minlength=len(dw.owner_ids))
    flagged = np.zeros(len(dw.buurt), bool)
    flagged[dw.unexplained_purchase[year]] = True
    return {
        "year": np.full(int(m.sum()), year, np.int16),
        "dwelling_id": dw.dwelling_id[m],
        "buurt_code": Coded(dw.buurt[m], geo.b_code),
        "owner_id": dw.owner_ids[owner],
        "owner_type": Coded(dw.owner_type[owner], OWNER_TYPES),
        "woz_value": woz_in(dw.woz_2024[m], year),
        "unexplained_ownership": dw.owner_unexplained[owner] & (counts[owner] >= 2),
        "unexplained_purchase": flagged[m],
        "owner_professional_director": dw.owner_professional[owner],
        "owner_single_director_foundation": dw.owner_single_director[owner],
    }
