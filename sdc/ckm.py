"""Cell key method: deterministic, bounded, unbiased noise looked up in a perturbation table.

Cell key ``ck`` = sum of the record keys of the cell mod 2**32 (computed by the cube); it is
turned into ``u = (ck mod 2**bits) / 2**bits`` in [0, 1). A ptable row ``i`` lists the
probability of each deviation ``d``; the cell gets the first ``d`` whose cumulative
probability exceeds ``u`` (τ-ARGUS / cellKey convention ``u < ub``). The same contributors
always give the same ``ck`` and so the same noise, whatever query reaches the cell.

Table generation (as the ``ptable`` package): for each row the maximum-entropy distribution
over the allowed deviations with mean 0 (unbiased) and variance V (or the closest variance
the allowed set permits). Allowed: |d| <= D, never a negative result, no result in 1..js
and, for rows >= ``floor`` (the threshold), no result in 1..floor-1: a published count is
0 or at least the threshold *by construction* of the table, with no clamping and no bias.

The tables of the shipped policies are stored solved, bit for bit, in ``ptables.json``
(``python -m sdc.ptables`` writes it): a process looks them up instead of importing SciPy and
solving again, and a SciPy upgrade cannot move a cell-key boundary of a published value.
``tests/sdc/test_sdc_ckm.py`` solves every stored table again and fails if the stored one is
not that solution.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

STORED = Path(__file__).with_name("ptables.json")


@dataclass(frozen=True, slots=True, eq=False)
class PTable:
    """Rows 0..max_row of deviation probabilities; rows beyond max_row equal the last row."""

    low: int  # deviation of column 0 (negative)
    probs: np.ndarray  # (max_row + 1, n_deviations)

    @property
    def max_row(self) -> int:
        return int(self.probs.shape[0] - 1)

    @property
    def deviations(self) -> np.ndarray:
        return np.arange(self.probs.shape[1]) + self.low

    def upper_bounds(self) -> np.ndarray:
        """Cumulative probabilities; 1.0 from each row's last possible deviation on."""
        return _upper_bounds(self).copy()

    def deviation(self, rows: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Per cell, the first deviation of its row whose upper bound exceeds its ``u``."""
        rows = np.minimum(np.asarray(rows, dtype=np.int64), self.max_row)
        ub = _upper_bounds(self)
        if len(rows) <= _SMALL:
            return np.argmax(u[:, None] < ub[rows], axis=1) + self.low
        # Each row's bounds never decrease, so the first bound above u is a binary search;
        # cells grouped by row (a stable sort of small integers), one search per row in use.
        small = np.int16 if self.max_row < 2**15 else np.int32  # int16: numpy's radix sort
        order = np.argsort(rows.astype(small), kind="stable")
        by_row = rows[order]
        starts = np.flatnonzero(np.r_[True, by_row[1:] != by_row[:-1]])
        ends = np.r_[starts[1:], len(order)]
        found = np.empty(len(rows), dtype=np.int64)
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
            at = order[a:b]
            found[at] = np.searchsorted(ub[by_row[a]], u[at], side="right")
        found[found == ub.shape[1]] = 0  # no bound above u (u >= 1: never a cell key)
        return found + self.low

    @staticmethod
    def from_rows(rows: dict[int, dict[int, float]]) -> PTable:
        """Explicit table, e.g. a published example: {row: {deviation: probability}}."""
        low = min(min(r) for r in rows.values())
        high = max(max(r) for r in rows.values())
        probs = np.zeros((max(rows) + 1, high - low + 1))
        for i, row in rows.items():
            for d, p in row.items():
                probs[i, d - low] = p
        return PTable(low, probs)


# Up to this many cells one comparison matrix (cells x deviations) is cheaper than sorting
# them by row.
_SMALL = 2_000


@lru_cache(maxsize=64)
def _upper_bounds(table: PTable) -> np.ndarray:
    """``PTable.upper_bounds`` once per table (read-only): every answer looks up its cells'
    noise in it."""
    cum = np.cumsum(table.probs, axis=1)
    for i, row in enumerate(table.probs):
        cum[i, np.flatnonzero(row > 0)[-1] :] = 1.0
    cum.setflags(write=False)
    return cum


@lru_cache(maxsize=32)
def generate_ptable(
    D: int, V: float, js: int = 0, floor: int = 0, tail: int = 0, tail_mass: float = 0.0
) -> PTable:
    """The table for these parameters: the stored solution if ``ptables.json`` has one,
    else ``solve_ptable``'s."""
    stored = stored_ptables().get((D, float(V), js, floor, tail, float(tail_mass)))
    return stored if stored is not None else solve_ptable(D, V, js, floor, tail, tail_mass)


Params = tuple[int, float, int, int, int, float]


@lru_cache(maxsize=1)
def stored_ptables() -> dict[Params, PTable]:
    """The solved tables of ``ptables.json`` by their parameters (none if it is absent)."""
    try:
        data = json.loads(STORED.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    out = {}
    for entry in data["tables"]:
        key = (entry["D"], float(entry["V"]), entry["js"], entry["floor"], entry["tail"])
        probs = np.array([[float.fromhex(x) for x in row] for row in entry["probs"]])
        out[(*key, float(entry["tail_mass"]))] = PTable(int(entry["low"]), probs)
    return out


def solve_ptable(
    D: int, V: float, js: int = 0, floor: int = 0, tail: int = 0, tail_mass: float = 0.0
) -> PTable:
    """Solve the table for maximum deviation D, variance V, blocked 1..js, threshold floor.

    With ``tail`` > D, every row also puts ``tail_mass`` on the deviations D < |d| <= tail
    that it allows on both sides (uniformly, so the mean stays 0): a published count is then
    not known to lie within ±D of the truth, and an attacker intersecting bounded noise cannot
    corner a hidden group at the edge of ±D (docs/disclosure-control.md, "Threat model").
    """
    width = max(D, tail)
    max_row = max(js + 1, floor) + width
    low = -max(width, js)
    probs = np.zeros((max_row + 1, width - low + 1))
    for i in range(max_row + 1):
        allowed = _allowed_deviations(i, D, js, floor)
        probs[i, allowed - low] = _max_entropy(allowed, V)
        extra = _tail_deviations(i, D, js, floor, tail) if tail_mass > 0 else np.zeros(0)
        if len(extra):
            probs[i] *= 1.0 - tail_mass
            probs[i, extra - low] += tail_mass / len(extra)
    return PTable(low, probs)


def _tail_deviations(i: int, D: int, js: int, floor: int, tail: int) -> np.ndarray:
    """Deviations beyond D up to ``tail`` that row ``i`` allows in both directions."""
    if tail <= D:
        return np.zeros(0, dtype=np.int64)
    wide = set(_allowed_deviations(i, tail, js, floor).tolist())
    return np.array(sorted(d for d in wide if abs(d) > D and -d in wide), dtype=np.int64)


def _allowed_deviations(i: int, D: int, js: int, floor: int) -> np.ndarray:
    lowest = max(js + 1, floor) if i >= floor else js + 1
    results = [j for j in range(max(0, i - D), i + D + 1) if j == 0 or j >= lowest]
    if i <= js and 0 not in results:
        results.append(0)  # a blocked small count may always drop to 0, even beyond D
    return np.array(sorted(results)) - i


def _max_entropy(d: np.ndarray, V: float) -> np.ndarray:
    """Max-entropy p on deviations d with mean 0 and variance V clipped to what d allows."""
    if len(d) == 1:
        return np.ones(1)
    lo, hi = d.min(), d.max()
    if lo >= 0 or hi <= 0:
        return (d == 0).astype(float)  # only "no change" has mean 0
    v_max = float(-lo * hi)
    v_min = 0.0 if 0 in d else float(-d[d < 0].max() * d[d > 0].min())
    if v_max - 1e-9 <= V or v_min >= v_max - 1e-9:
        return _two_point(d, lo, hi)
    if v_min + 1e-9 >= V:
        return (
            (d == 0).astype(float) if v_min == 0 else _two_point(d, d[d < 0].max(), d[d > 0].min())
        )
    return _exponential_family(d.astype(float), V)


def _two_point(d: np.ndarray, a: int, b: int) -> np.ndarray:
    p = np.zeros(len(d))
    p[d == a], p[d == b] = b / (b - a), -a / (b - a)
    return p


def _exponential_family(d: np.ndarray, V: float) -> np.ndarray:
    from scipy.optimize import root

    # Maximum entropy under moment constraints: p(d) ∝ exp(a·d + b·d²).
    def probs(theta):
        z = theta[0] * d + theta[1] * d**2
        w = np.exp(z - z.max())
        return w / w.sum()

    def moments(theta):
        p = probs(theta)
        return [p @ d, p @ d**2 - V]

    sol = root(moments, x0=[0.0, 0.0], method="hybr")
    p = probs(sol.x)
    if not sol.success or abs(p @ d) > 1e-9 or abs(p @ d**2 - V) > 1e-7:
        raise ArithmeticError("perturbation table generation did not converge")
    return p


def uniform_keys(cell_key: np.ndarray, key_bits: int = 32) -> np.ndarray:
    """Cell keys as u in [0, 1): integer arithmetic, so every query plan gives the same u."""
    ck = np.asarray(cell_key, dtype=np.int64) % (1 << key_bits)
    return ck.astype(np.float64) / float(1 << key_bits)


def perturb_counts(values: np.ndarray, u: np.ndarray, table: PTable) -> np.ndarray:
    n = np.rint(np.asarray(values, dtype=np.float64)).astype(np.int64)
    return (n + table.deviation(n, u)).astype(np.float64)


def perturb_magnitudes(
    values: np.ndarray, x1: np.ndarray, u: np.ndarray, table: PTable, delta: float
) -> np.ndarray:
    """x̂ = x + δ·x1·v, v looked up at row a = |x|/(δ·x1), linearly interpolated.

    Works on |x| and restores the sign, so the noise never flips the sign of a cell (rows
    below D never go under 0). Cells with x1 == 0 (empty or all-zero) are left unchanged.
    """
    x = np.asarray(values, dtype=np.float64)
    scale = delta * np.abs(np.asarray(x1, dtype=np.float64))
    a = np.divide(np.abs(x), scale, out=np.zeros_like(x), where=scale > 0)
    lo = np.floor(a)
    frac = a - lo
    lo_rows = np.minimum(lo, table.max_row).astype(np.int64)
    hi_rows = np.minimum(lo + 1, table.max_row).astype(np.int64)
    v = (1 - frac) * table.deviation(lo_rows, u) + frac * table.deviation(hi_rows, u)
    # Exact arithmetic keeps a + v >= 0; the clip only absorbs floating-point rounding.
    return np.sign(x) * np.maximum(np.abs(x) + scale * v, 0.0)
