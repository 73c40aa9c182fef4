"""What a primary (sensitivity) rule returns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sdc.policy import Policy
from sdc.table import MeasureStats


@dataclass(frozen=True, slots=True, eq=False)
class RuleResult:
    """``unsafe`` per cell, and the protection level (0 where safe).

    The level is symmetric (lower = upper, as τ-ARGUS derives it): a suppressed cell's
    feasibility interval must reach at least ``value ± level`` (the lower side stops at 0 for
    cells that cannot be negative).
    """

    unsafe: np.ndarray  # bool
    level: np.ndarray  # float64 >= 0


@dataclass(frozen=True, slots=True)
class Rule:
    name: str  # the reason published for cells it flags
    kinds: frozenset[str]  # measure kinds it applies to
    check: Callable[[MeasureStats, Policy], RuleResult]


def magnitude_parts(stats: MeasureStats) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X, x1, x2) on which dominance-type rules are evaluated, per cell.

    Cells without negative contributions use the plain total. In a cell *with* a negative
    contribution the rules run on absolute contributions of that cell only: X is the sum of
    absolute contributions when the cube supplies it, otherwise max(|value|, x1 + x2), a lower
    bound of that sum, which makes the rule stricter (never laxer) for that cell.
    """
    negative = stats.negative_mask()
    x1, x2 = np.abs(stats.x1), np.abs(stats.x2)
    total = np.asarray(stats.value, dtype=np.float64).copy()
    if negative.any():
        bound = np.maximum(np.abs(total), x1 + x2)
        if stats.abs_value is not None:
            bound = np.maximum(bound, np.asarray(stats.abs_value, dtype=np.float64))
        total = np.where(negative, bound, total)
    return total, x1, x2
