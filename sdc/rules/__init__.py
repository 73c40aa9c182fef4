"""Primary rules, run in this order; the first rule that flags a cell gives its reason."""

from __future__ import annotations

from sdc.rules import dominance, p_percent, threshold
from sdc.rules.base import Rule, RuleResult

BOTH = frozenset({"count", "magnitude"})

# Dominance and p % apply to counts too: a count of rows (transactions, registrations) is a
# magnitude per holding, whose two largest contributions the cube supplies; a count of
# holdings has contributions of 1 (x1 = x2 = 1, or 0 when not supplied) and never fails them
# before it fails the threshold.
RULES: tuple[Rule, ...] = (
    Rule("threshold", BOTH, threshold.check),
    Rule("dominance", BOTH, dominance.check),
    Rule("p_percent", BOTH, p_percent.check),
)

__all__ = ["RULES", "Rule", "RuleResult"]
