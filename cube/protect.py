"""Protection stage: every part's cells go through ``sdc.protect`` under its cube's policy.

Each part (the main cube, a denominator cube, a previous period) is protected as its own
table, so a cell reached through any query gets the same perturbed value (cell key method).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from cube.plan import Plan
from cube.run import Results
from sdc.policy import Policy
from sdc.protect import Protected as SdcProtected
from sdc.protect import ProtectedMeasure, protect
from sdc.status import DERIVED, PERTURBED, SAFE, SUPPRESSED
from sdc.table import CellTable

Protected = ProtectedMeasure
__all__ = ["DERIVED", "PERTURBED", "SAFE", "SUPPRESSED", "Protected", "protect_parts"]


class ProtectedParts(dict[tuple[str, int], dict[str, ProtectedMeasure]]):
    """Per part key, per base measure: the protected values; plus the per-part reports."""

    reports: dict[str, Any]


def protect_parts(plan: Plan, grid: np.ndarray, results: Results) -> ProtectedParts:
    """Protect each part on its own cells, then broadcast to the answer's cells."""
    out = ProtectedParts()
    out.reports = {}
    for part in plan.parts:
        res = results[part.key]
        table = CellTable(coords=res.grid.astype(np.int32), measures=res.stats)
        result: SdcProtected = protect(table, _policy(plan, part.cube.policy))
        out[part.key] = {name: _broadcast(pm, res.inverse) for name, pm in result.measures.items()}
        name = part.cube.id if part.shift == 0 else f"{part.cube.id}@{part.shift:+d}y"
        out.reports[name] = result.report()
    return out


def _broadcast(pm: ProtectedMeasure, inverse: np.ndarray) -> ProtectedMeasure:
    if len(inverse) == len(pm.published) and (inverse == np.arange(len(inverse))).all():
        return pm
    return ProtectedMeasure(pm.published[inverse], pm.status[inverse], pm.reason[inverse], pm.facts)


def _policy(plan: Plan, policy: Policy) -> Policy:
    """The cube's policy with the query's options (they may only add protection: rounding)."""
    options = dict(plan.query.options)
    if "rounding" in options:
        policy = replace(policy, rounding_base=int(options["rounding"]))
    return policy
