"""Vectorised sampling helpers shared by the generator modules (numpy only, no row loops)."""

from __future__ import annotations

import datetime as dt

import numpy as np
from numpy.typing import NDArray

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]

_EPOCH = dt.date(1970, 1, 1)


def allocate(total: int, weights: NDArray[np.floating], rng: np.random.Generator) -> IntArray:
    """Split ``total`` into integer parts proportional to ``weights`` (largest remainder).

    Ties in the remainders are broken at random so no group is favoured systematically.
    """
    w = np.asarray(weights, dtype=np.float64)
    if total <= 0 or w.sum() <= 0:
        return np.zeros(len(w), dtype=np.int64)
    exact = w / w.sum() * total
    base = np.floor(exact).astype(np.int64)
    short = int(total - base.sum())
    if short > 0:
        order = np.lexsort((rng.random(len(w)), -(exact - base)))
        base[order[:short]] += 1
    return base


def choose_in_groups(
    group: NDArray[np.integer],
    item_weights: NDArray[np.floating],
    group_starts: NDArray[np.integer],
    rng: np.random.Generator,
) -> IntArray:
    """For each entry of ``group``, draw one item of that group with probability ∝ its weight.

    Items are laid out contiguously by group: group ``g`` owns items
    ``group_starts[g]:group_starts[g + 1]``. One searchsorted on the cumulative weights
    replaces a Python loop over groups. A group whose weights are all zero draws uniformly.
    """
    w = np.asarray(item_weights, dtype=np.float64)
    starts = np.asarray(group_starts, dtype=np.int64)
    sizes = np.diff(starts)
    cum = np.concatenate(([0.0], np.cumsum(w)))
    totals = cum[starts[1:]] - cum[starts[:-1]]
    zero = totals[group] <= 0
    lo = cum[starts[group]]
    target = lo + rng.random(len(group)) * totals[group]
    idx = np.searchsorted(cum, target, side="right") - 1
    # Clip into the group: float rounding can land one item outside at the edges.
    idx = np.clip(idx, starts[group], starts[np.asarray(group) + 1] - 1)
    if zero.any():
        g = np.asarray(group)[zero]
        idx[zero] = starts[g] + (rng.random(int(zero.sum())) * sizes[g]).astype(np.int64)
    idx[sizes[group] == 0] = -1
    return idx.astype(np.int64)


def sample_without_replacement(
    weights: NDArray[np.floating], k: int, rng: np.random.Generator
) -> IntArray:
    """``k`` distinct indices drawn with probability ∝ ``weights`` (Efraimidis-Spirakis keys).

    Returned in ascending index order so the result does not depend on partition internals.
    """
    w = np.asarray(weights, dtype=np.float64)
    positive = np.flatnonzero(w > 0)
    k = min(k, len(positive))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    keys = rng.exponential(size=len(positive)) / w[positive]
    chosen = np.argpartition(keys, k - 1)[:k] if k < len(positive) else np.arange(len(positive))
    return np.sort(positive[chosen]).astype(np.int64)


def day_numbers(year: int | NDArray[np.integer], rng: np.random.Generator, n: int) -> IntArray:
    """``n`` uniformly random dates inside ``year`` (scalar or per entry) as days since 1970."""
    years = np.broadcast_to(np.asarray(year, dtype=np.int64), (n,))
    start = year_start_days(years)
    length = year_start_days(years + 1) - start
    return start + (rng.random(n) * length).astype(np.int64)


def year_start_days(years: NDArray[np.integer] | int) -> IntArray:
    """Days since 1970-01-01 of 1 January of each year (proleptic Gregorian)."""
    # datetime64[Y] counts years since 1970, hence the offset.
    y = np.asarray(years, dtype=np.int64) - 1970
    return y.astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)


def year_of_days(days: NDArray[np.integer]) -> IntArray:
    """Calendar year of each day number (days since 1970-01-01)."""
    d = np.asarray(days, dtype="datetime64[D]")
    return d.astype("datetime64[Y]").astype(np.int64) + 1970


def pareto_weights(n: int, alpha: float, rng: np.random.Generator) -> FloatArray:
    """Heavy-tailed positive weights: a few units get a large share (dominance matters)."""
    return (1.0 + rng.pareto(alpha, size=n)).astype(np.float64)
