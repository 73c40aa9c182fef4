"""Minimum-frequency rule on distinct holdings: 1..threshold-1 contributors is unsafe.

An empty cell (0 contributors) is safe and is published as 0: that a combination does not
occur is not information about a person (τ-ARGUS: ``0 < freq < MinFreq``).
"""

from __future__ import annotations

import numpy as np

from sdc.policy import Policy
from sdc.rules.base import RuleResult
from sdc.table import MeasureStats


def check(stats: MeasureStats, policy: Policy) -> RuleResult:
    n = np.asarray(stats.contributors)
    unsafe = (n > 0) & (n < policy.threshold)
    return RuleResult(unsafe, np.where(unsafe, level(stats, policy), 0.0))


def level(stats: MeasureStats, policy: Policy) -> np.ndarray:
    """Frequency safety range: ``threshold_range`` % of the value, at least 1 for counts.

    Like τ-ARGUS' FREQ(MinFreq, range) there is no theory-derived level; the minimum of 1
    makes sure a suppressed count can never be pinned to a single integer.
    """
    magnitude = np.abs(np.asarray(stats.value, dtype=np.float64))
    lvl = magnitude * (policy.threshold_range / 100.0)
    if stats.kind == "count":
        lvl = np.maximum(lvl, 1.0)
    return lvl
