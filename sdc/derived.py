"""Derived measures computed from *protected* components, with status propagation.

Rules (docs/disclosure-control.md, "Derived measures"):
- a suppressed component makes the result suppressed with reason ``derived`` (never
  recomputed from true values: that would leak the suppressed component);
- otherwise the result is ``perturbed`` if any component is, else ``safe``;
- an undefined result (division by zero, e.g. a rate over a published 0) is published as
  ``None`` with status ``safe`` and no reason: nothing is hidden, the figure does not exist
  (CBS shows "." for it). The three cases stay distinguishable by their status.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sdc import status as st
from sdc.protect import ProtectedMeasure


def combine(fn: Callable[..., np.ndarray], *parts: ProtectedMeasure) -> ProtectedMeasure:
    """Apply ``fn`` to the published values of ``parts`` with status propagation."""
    values = [np.asarray(p.published, dtype=np.float64) for p in parts]
    suppressed = np.logical_or.reduce([p.status == st.SUPPRESSED for p in parts])
    perturbed = np.logical_or.reduce([p.status == st.PERTURBED for p in parts])
    with np.errstate(divide="ignore", invalid="ignore"):
        result = np.asarray(fn(*values), dtype=np.float64)
    undefined = ~np.isfinite(result)
    result = np.where(undefined, np.nan, result)
    result[suppressed] = np.nan
    # no figure, so no noise in it: an undefined result is safe whatever its components are
    status = np.where(perturbed & ~undefined, st.PERTURBED, st.SAFE).astype(np.int8)
    status[suppressed] = st.SUPPRESSED
    reason = np.where(suppressed, st.DERIVED, st.NO_REASON).astype(np.int8)
    return ProtectedMeasure(result, status, reason)


def ratio(
    numerator: ProtectedMeasure, denominator: ProtectedMeasure, per: float = 1.0
) -> ProtectedMeasure:
    """numerator / denominator × per (a rate per 1,000 inhabitants: per=1000)."""
    return combine(lambda a, b: a / b * per, numerator, denominator)


def mean(total: ProtectedMeasure, count: ProtectedMeasure) -> ProtectedMeasure:
    """Mean = protected sum / protected count."""
    return ratio(total, count)


def share(part: ProtectedMeasure, whole: ProtectedMeasure) -> ProtectedMeasure:
    """Share of a part in a whole, in %."""
    return ratio(part, whole, per=100.0)


def index(share_group: ProtectedMeasure, share_reference: ProtectedMeasure) -> ProtectedMeasure:
    """Over-representation index = share in the group / share in the reference × 100."""
    return ratio(share_group, share_reference, per=100.0)


def change(current: ProtectedMeasure, previous: ProtectedMeasure) -> ProtectedMeasure:
    """Change versus the previous period in %: (a − b) / b × 100."""
    return combine(lambda a, b: (a - b) / b * 100.0, current, previous)
