"""Cell status and reason codes shared by every stage (int8 arrays keep 10,000 cells cheap)."""

from __future__ import annotations

from typing import Final

SAFE: Final = 0
PERTURBED: Final = 1
SUPPRESSED: Final = 2
STATUS_NAMES: Final = ("safe", "perturbed", "suppressed")

NO_REASON: Final = 0
THRESHOLD: Final = 1
DOMINANCE: Final = 2
P_PERCENT: Final = 3
SECONDARY: Final = 4
DERIVED: Final = 5
REASON_NAMES: Final = (None, "threshold", "dominance", "p_percent", "secondary", "derived")
REASON_CODES: Final = {name: code for code, name in enumerate(REASON_NAMES) if name}
