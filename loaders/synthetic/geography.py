"""Synthetic buurten inside the real wijken, plus the spatial weights every other module uses.

Real: the 342 gemeenten (with their 2024 populations), the 3,352 wijken with CBS income
figures, the gemeente boundaries (for centroids). Synthetic: how a gemeente's inhabitants
spread over its wijken, the buurten inside each wijk (codes ``BU`` + wijk digits + 2 digits,
Dutch-sounding names), and "hot spot" multipliers that put signal into the events.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass
from importlib import resources

import numpy as np
from numpy.typing import NDArray

from dimensions import regions
from loaders.synthetic import params

NEIGHBOURS_K = 6  # nearest gemeenten by centroid stand in for "neighbouring gemeente"
PERSONS_PER_BUURT = 1_600  # real NL: ~14,500 buurten for 17.9 M inhabitants

_DIRECTIONS = ("Noord", "Oost", "Zuid", "West", "Centrum", "Midden")
_STEMS = (
    "Bloemen", "Vogel", "Schilders", "Componisten", "Bomen", "Kerk", "Molen", "Haven", "Park",
    "Dorps", "Sterren", "Rivieren", "Zeehelden", "Professoren", "Vruchten", "Edelstenen",
    "Planten", "Stations", "Tuin", "Beek", "Vaart", "Dijk", "Weide", "Akker", "Burgemeesters",
)  # fmt: skip
_SUFFIXES = ("buurt", "wijk", "kwartier")
_PLACES = (
    "De Akkers", "Het Hof", "De Hoven", "Oude Dorp", "De Weiden", "Het Zand", "De Gaarden",
    "Bedrijventerrein", "Buitengebied", "De Horst", "Het Veld", "De Kamp", "Op de Berg",
    "Het Laar", "De Brink", "De Meent", "Nieuwland", "Oudeland",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Geography:
    """Arrays indexed by gemeente (g_*), wijk (w_*) and buurt (b_*), all in code order."""

    g_code: tuple[str, ...]
    g_population: NDArray[np.float64]  # real 2024 inhabitants
    g_density: NDArray[np.float64]
    g_unit: NDArray[np.int64]  # index into units
    units: tuple[str, ...]  # politie-eenheid codes RE01..RE10
    g_neighbours: NDArray[np.int64]  # (G, NEIGHBOURS_K) nearest gemeenten by centroid
    g_wijk_start: NDArray[np.int64]  # wijken of gemeente g: w_start[g]:w_start[g+1]
    w_code: tuple[str, ...]
    w_gemeente: NDArray[np.int64]
    w_buurt_start: NDArray[np.int64]
    b_code: tuple[str, ...]
    b_name: tuple[str, ...]
    b_wijk: NDArray[np.int64]
    b_gemeente: NDArray[np.int64]
    b_weight: NDArray[np.float64]  # share of the gemeente's inhabitants living here
    b_low40: NDArray[np.float64]  # share of households in national deciles 1-4
    b_high20: NDArray[np.float64]  # share of households in national deciles 9-10
    b_plantation_hot: NDArray[np.float64]  # multiplier for cleared plantations
    b_flip_hot: NDArray[np.float64]  # multiplier for doorsluiswoningen
    b_foundation_hot: NDArray[np.float64]  # multiplier for foundation-owned property

    @property
    def g_buurt_start(self) -> NDArray[np.int64]:
        """Buurten of gemeente g: ``b[g_buurt_start[g]:g_buurt_start[g+1]]`` (contiguous)."""
        return self.w_buurt_start[self.g_wijk_start]

    @property
    def g_urban(self) -> NDArray[np.float64]:
        """Urbanity in [0, 1] from log density: ~0 for rural gemeenten, 1 for the big cities."""
        x = np.log10(np.maximum(self.g_density, 10.0))
        return np.asarray(np.clip((x - 2.0) / 1.8, 0.0, 1.0), dtype=np.float64)


def build(rng: np.random.Generator) -> Geography:
    """Lay out buurten and weights (deterministic for a given generator state)."""
    gems = regions.gemeenten()
    g_index = {g.code: i for i, g in enumerate(gems)}
    wijken = regions.wijken()
    units = tuple(a.code for a in regions.politie_eenheden())
    w_gem = np.array([g_index[w.gemeente_code] for w in wijken], dtype=np.int64)
    g_pop = np.array([g.population_2024 for g in gems], dtype=np.float64)
    w_share = _wijk_shares(w_gem, len(gems), rng)
    w_nb = np.clip(1 + rng.poisson(g_pop[w_gem] * w_share / PERSONS_PER_BUURT), 1, 60)
    low40, high20 = _wijk_income(wijken, w_gem, len(gems))
    b_wijk = np.repeat(np.arange(len(wijken)), w_nb)
    b_share = rng.gamma(2.0, size=len(b_wijk))
    b_share /= np.bincount(b_wijk, weights=b_share)[b_wijk]
    b_low40 = np.clip(low40[b_wijk] + rng.normal(0, 0.05, len(b_wijk)), 0.03, 0.95)
    b_high20 = np.clip(high20[b_wijk] + rng.normal(0, 0.03, len(b_wijk)), 0.01, 0.9)
    b_high20 = np.minimum(b_high20, 0.98 - b_low40)
    codes, names = _buurt_codes_and_names(wijken, w_nb, rng)
    b_gem = w_gem[b_wijk]
    return Geography(
        g_code=tuple(g.code for g in gems),
        g_population=g_pop,
        g_density=np.array([g.density for g in gems], dtype=np.float64),
        g_unit=np.array([units.index(g.politie_eenheid_code) for g in gems], dtype=np.int64),
        units=units,
        g_neighbours=_nearest_neighbours([g.code for g in gems]),
        g_wijk_start=_starts(w_gem, len(gems)),
        w_code=tuple(w.code for w in wijken),
        w_gemeente=w_gem,
        w_buurt_start=np.concatenate(([0], np.cumsum(w_nb))).astype(np.int64),
        b_code=codes,
        b_name=names,
        b_wijk=b_wijk,
        b_gemeente=b_gem,
        b_weight=w_share[b_wijk] * b_share,
        b_low40=b_low40,
        b_high20=b_high20,
        b_plantation_hot=_plantation_hot(gems, b_gem, b_low40, rng),
        b_flip_hot=_wijk_flags(b_wijk, low40, 0.04, 25.0, rng),
        b_foundation_hot=_wijk_flags(b_wijk, low40, 0.05, 10.0, rng),
    )


def _starts(group: NDArray[np.int64], n_groups: int) -> NDArray[np.int64]:
    counts = np.bincount(group, minlength=n_groups)
    return np.concatenate(([0], np.cumsum(counts))).astype(np.int64)


def _wijk_shares(w_gem: NDArray[np.int64], n_gem: int, rng: np.random.Generator) -> np.ndarray:
    """Share of its gemeente's population per wijk (wijk populations are not in the files)."""
    raw = rng.gamma(1.5, size=len(w_gem))
    return np.asarray(raw / np.bincount(w_gem, weights=raw, minlength=n_gem)[w_gem])


def _wijk_income(
    wijken: tuple[regions.Wijk, ...], w_gem: NDArray[np.int64], n_gem: int
) -> tuple[np.ndarray, np.ndarray]:
    """Low-40 % and high-20 % household shares per wijk; gaps get the gemeente mean."""
    low = np.array([np.nan if w.pct_low40 is None else w.pct_low40 for w in wijken]) / 100
    high = np.array([np.nan if w.pct_high20 is None else w.pct_high20 for w in wijken]) / 100
    for arr, national in ((low, 0.40), (high, 0.20)):
        known = ~np.isnan(arr)
        sums = np.bincount(w_gem[known], weights=arr[known], minlength=n_gem)
        counts = np.bincount(w_gem[known], minlength=n_gem)
        g_mean = np.where(counts > 0, sums / np.maximum(counts, 1), national)
        arr[~known] = g_mean[w_gem[~known]]
    return low, high


def _plantation_hot(
    gems: tuple[regions.Gemeente, ...],
    b_gem: NDArray[np.int64],
    b_low40: NDArray[np.float64],
    rng: np.random.Generator,
) -> NDArray[np.float64]:
    """Known hot-spot gemeenten, random regional variation, and poorer buurten attract more."""
    g_factor = np.array([params.PLANTATION_HOTSPOTS.get(g.code, 1.0) for g in gems])
    g_factor *= rng.lognormal(0.0, 0.5, len(gems))
    b_factor = rng.lognormal(0.0, 0.9, len(b_gem)) * (0.3 + 2.0 * b_low40)
    return np.asarray(g_factor[b_gem] * b_factor, dtype=np.float64)


def _wijk_flags(
    b_wijk: NDArray[np.int64],
    w_low40: np.ndarray,
    share: float,
    factor: float,
    rng: np.random.Generator,
) -> NDArray[np.float64]:
    """Mark ``share`` of the wijken (poorer ones more likely) as hot: multiplier ``factor``."""
    p = share * w_low40 / w_low40.mean()
    hot = rng.random(len(w_low40)) < p
    return np.where(hot, factor, 1.0)[b_wijk].astype(np.float64)


def _buurt_codes_and_names(
    wijken: tuple[regions.Wijk, ...], w_nb: NDArray[np.int64], rng: np.random.Generator
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    # A loop over ~3,400 wijken (not persons): names need string formatting anyway.
    codes: list[str] = []
    names: list[str] = []
    for w, n in zip(wijken, w_nb.tolist(), strict=True):
        codes.extend(f"BU{w.code[2:]}{i:02d}" for i in range(n))
        names.extend(_names_for(w.name, n, rng))
    return tuple(codes), tuple(names)


def _names_for(wijk_name: str, n: int, rng: np.random.Generator) -> list[str]:
    if n == 1:
        return [wijk_name]
    pool = [f"{wijk_name} {d}" for d in _DIRECTIONS if d not in wijk_name]
    pool += [f"{s}{x}" for s in _STEMS for x in _SUFFIXES] + list(_PLACES)
    picks = rng.permutation(len(pool))[: min(n, len(pool))]
    chosen = [pool[i] for i in picks]
    chosen += [f"{wijk_name} {i}" for i in range(len(chosen) + 1, n + 1)]
    return chosen


def _centroids(codes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(lon, lat) centroid of the largest polygon of each gemeente (shoelace formula)."""
    text = resources.files("dimensions").joinpath("data", "gemeente_2025.geojson").read_text()
    found: dict[str, tuple[float, float]] = {}
    for feature in json.loads(text)["features"]:
        geom = feature["geometry"]
        polys = [geom["coordinates"]] if geom["type"] == "Polygon" else geom["coordinates"]
        rings = [p[0] for p in polys]
        found[feature["properties"]["statcode"]] = max(
            (_ring_centroid(r) for r in rings), key=lambda c: abs(c[2])
        )[:2]
    lon = np.array([found[c][0] for c in codes])
    lat = np.array([found[c][1] for c in codes])
    return lon, lat


def _ring_centroid(ring: list[list[float]]) -> tuple[float, float, float]:
    area = cx = cy = 0.0
    for (x0, y0), (x1, y1) in itertools.pairwise(ring):
        cross = x0 * y1 - x1 * y0
        area += cross
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    if abs(area) < 1e-12:
        xs, ys = zip(*ring, strict=True)
        return sum(xs) / len(xs), sum(ys) / len(ys), 0.0
    return cx / (3 * area), cy / (3 * area), area / 2


def _nearest_neighbours(codes: list[str]) -> NDArray[np.int64]:
    lon, lat = _centroids(codes)
    # Equirectangular distance is plenty at the scale of the Netherlands.
    x = lon * math.cos(math.radians(52.2))
    d = np.hypot(x[:, None] - x[None, :], lat[:, None] - lat[None, :])
    np.fill_diagonal(d, np.inf)
    return np.argsort(d, axis=1, kind="stable")[:, :NEIGHBOURS_K].astype(np.int64)
