"""Primary rules, run in this order; the first rule that flags a cell gives its reason."""

from __future__ import annotations

from sdc.rules import dominance, p_percent, threshold
from sdc.rules.base import Rule, RuleResult

BOTH = frozenset({"count", "magnitude"})
MAGNITUDE = frozenset({"magnitude"})

RULES: tuple[Rule, ...] = (
    Rule("threshold", BOTH, threshold.check),
    Rule("dominance", MAGNITUDE, dominance.check),
    Rule("p_percent", MAGNITUDE, p_percent.check),
)

__all__ = ["RULES", "Rule", "RuleResult"]
