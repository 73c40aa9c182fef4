"""(n, k) dominance rule: unsafe if the n largest holdings exceed k % of the cell (strict).

Upper protection level (Handbook, "upper protection levels"): 100/k · (x1 + … + xn) − X.
A cell whose total is 0 (all contributions zero) has nothing to dominate and is safe here;
the threshold rule still applies to it.
"""

from __future__ import annotations

import numpy as np

from sdc.policy import Policy
from sdc.rules.base import RuleResult, magnitude_parts
from sdc.table import MeasureStats


def check(stats: MeasureStats, policy: Policy) -> RuleResult:
    total, x1, x2 = magnitude_parts(stats)
    top = x1 if policy.dominance_n == 1 else x1 + x2
    # 100·top/X > k rewritten without division: zero totals need no special case.
    needed = (100.0 / policy.dominance_k) * top - total
    unsafe = (total > 0) & (needed > 1e-9 * np.maximum(total, 1.0))
    return RuleResult(unsafe, np.where(unsafe, needed, 0.0))
