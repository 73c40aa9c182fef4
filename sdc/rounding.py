"""Optional rounding of published values (after perturbation) and what a rounded value reveals."""

from __future__ import annotations

import numpy as np


def round_published(values: np.ndarray, base: int, threshold: int | None = None) -> np.ndarray:
    """Round to the nearest multiple of ``base`` (halves up); a non-zero value never becomes 0.

    With ``threshold`` (counts): a positive value never rounds below the threshold but up to
    the first multiple of ``base`` at or above it, so "0 or at least the threshold" survives
    rounding (matters only when the threshold is not a multiple of the base).
    """
    x = np.asarray(values, dtype=np.float64)
    out = np.sign(x) * np.floor(np.abs(x) / base + 0.5) * base
    # Zero-restricted: only a true 0 is published as 0 (the API promises that a 0 is a 0).
    out = np.where((x != 0) & (out == 0), np.sign(x) * base, out)
    if threshold is not None:
        floor = np.ceil(threshold / base) * base
        out = np.where((x > 0) & (out < threshold), floor, out)
    return out


def rounding_interval(published: float, base: int, steps: int = 0) -> tuple[float, float]:
    """Original values consistent with a zero-restricted (controlled) rounding to ``base``.

    τ-ARGUS manual §2.14: a published 0 means z in [0, b-1], otherwise z in
    [a-b+1, a+b-1]; with K steps, [0, (K+1)b-1] if a < (K+1)b else [a-(K+1)b+1, a+(K+1)b-1].
    Rounding to the nearest multiple is a special case, so these bounds also hold for it.
    """
    width = (steps + 1) * base
    if published < width:
        return 0.0, float(width - 1)
    return float(published - width + 1), float(published + width - 1)
