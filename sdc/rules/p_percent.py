"""p % rule: unsafe if X − x1 − x2 < p/100 · x1 (the second largest contributor, subtracting
its own value from the total, would estimate the largest within p %).

Protection level (Handbook): p/100 · x1 − (X − x1 − x2). An all-zero cell is safe here.
"""

from __future__ import annotations

import numpy as np

from sdc.policy import Policy
from sdc.rules.base import RuleResult, magnitude_parts
from sdc.table import MeasureStats


def check(stats: MeasureStats, policy: Policy) -> RuleResult:
    total, x1, x2 = magnitude_parts(stats)
    needed = (policy.p_percent / 100.0) * x1 - (total - x1 - x2)
    unsafe = (x1 > 0) & (needed > 1e-9 * np.maximum(total, 1.0))
    return RuleResult(unsafe, np.where(unsafe, needed, 0.0))
