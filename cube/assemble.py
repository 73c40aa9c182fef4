"""Assemble the answer: rows with codes and labels, values with statuses, order, page, summary."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from cube.axes import RoleAxis
from cube.derive import Output
from cube.plan import Plan
from cube.protect import ProtectedParts
from cube.result import Row, Summary, Value
from sdc.status import REASON_NAMES, STATUS_NAMES

TOTAL_LABEL = {"nl": "Totaal", "en": "Total"}


def _sort_keys(plan: Plan, grid: np.ndarray, outputs: list[Output]) -> list[np.ndarray]:
    """lexsort keys (last = primary) for the order the planner resolved."""
    keys: list[np.ndarray] = []
    for order in plan.order:
        if order.item is not None:
            col = grid[:, order.item].astype(np.float64)
            col = np.where(col < 0, np.inf, col)  # totals after members
            keys.append(-col if order.desc else col)
        elif order.output is not None:
            v = outputs[order.output].value
            keys.append(np.where(np.isnan(v), np.inf, -v if order.desc else v))  # nulls last
    return keys[::-1]


def _values(o: Output, rows: list[int]) -> list[Value]:
    """The output's published values for ``rows``. Equal (value, status, reason) triples share
    one immutable ``Value`` (counts repeat a lot), found with numpy, not per cell in Python:
    answers have tens of thousands of rows."""
    if not rows:
        return []
    at = np.asarray(rows, dtype=np.int64)
    value, status, reason = o.value[at], o.status[at], o.reason[at]
    # NaN never equals itself: unique on the bit pattern groups all NaNs as one value
    _, vcode = np.unique(value.astype(np.float64).view(np.int64), return_inverse=True)
    code = (vcode.reshape(-1) * 256 + status.astype(np.int64)) * 256 + reason.astype(np.int64)
    unique, first, inverse = np.unique(code, return_index=True, return_inverse=True)
    made = np.empty(len(unique), dtype=object)
    for u, i in enumerate(first.tolist()):
        made[u] = Value(
            _published(float(value[i]), o.decimals),
            STATUS_NAMES[int(status[i])],
            REASON_NAMES[int(reason[i])],
        )
    out: list[Value] = made[inverse.reshape(-1)].tolist()
    return out


def _published(v: float, decimals: int | None) -> float | None:
    if v != v:  # NaN: no value (suppressed or undefined)
        return None
    if decimals:
        return round(v, decimals)
    return float(round(v)) if decimals == 0 else float(v)


def _members(levels: list[Any], coords: np.ndarray, lang: str, total: str) -> tuple[list, list]:
    """Codes and labels of every row, per item; a negative coordinate is a total. Taken from
    object arrays with the total appended last (index -1), not looked up row by row."""
    codes, labels = [], []
    for d, lax in enumerate(levels):
        col = coords[:, d]
        code_of = np.empty(len(lax.codes) + 1, dtype=object)
        code_of[:-1], code_of[-1] = list(lax.codes), None
        label_of = np.empty(len(lax.labels) + 1, dtype=object)
        label_of[:-1], label_of[-1] = [lb.get(lang) for lb in lax.labels], total
        codes.append(code_of[col].tolist())  # -1 picks the appended total
        labels.append(label_of[col].tolist())
    return codes, labels


def assemble(
    release_id: str,
    axes: Mapping[str, RoleAxis],
    plan: Plan,
    grid: np.ndarray,
    outputs: list[Output],
    protected: ProtectedParts,
) -> dict[str, Any]:
    """The answer's fields: rows of the requested page with codes and labels (from ``axes``,
    the main cube's), in the planned order, and the summary."""
    q = plan.query
    n = len(grid)
    keys = _sort_keys(plan, grid, outputs)
    order = np.lexsort(keys) if keys else np.arange(n)
    start = min(q.offset, n)
    stop = n if q.limit is None else min(n, start + q.limit)
    levels = [axes[it.role].levels[it.level] for it in plan.items]
    total = TOTAL_LABEL[q.lang]
    page = order[start:stop].tolist()
    codes, labels = _members(levels, grid[page], q.lang, total)
    values = [_values(o, page) for o in outputs]
    rows = [
        Row(tuple(m), tuple(lb), tuple(v))
        for m, lb, v in zip(
            zip(*codes, strict=True) if codes else [()] * len(page),
            zip(*labels, strict=True) if labels else [()] * len(page),
            zip(*values, strict=True) if values else [()] * len(page),
            strict=True,
        )
    ]
    return {
        "query": q,
        "release": release_id,
        "drilldown": tuple(it.text for it in plan.items),
        "measures": tuple(o.info for o in outputs),
        "rows": tuple(rows),
        "total_rows": n,
        "truncated": bool(stop < n),
        "summary": _summary(plan, outputs, page, protected),
    }


def _summary(
    plan: Plan, outputs: list[Output], page: list[int], protected: ProtectedParts
) -> Summary:
    """The published values of the page by status and by reason, counted on the arrays."""
    by_status: dict[str, int] = {}
    by_reason: dict[str, int] = {}
    at = np.asarray(page, dtype=np.int64)
    for o in outputs:
        for code, count in zip(*np.unique(o.status[at], return_counts=True), strict=True):
            name = STATUS_NAMES[int(code)]
            by_status[name] = by_status.get(name, 0) + int(count)
        for code, count in zip(*np.unique(o.reason[at], return_counts=True), strict=True):
            reason = REASON_NAMES[int(code)]
            if reason:
                by_reason[reason] = by_reason.get(reason, 0) + int(count)
    return Summary(
        plan.cube.policy.id,
        len(page) * len(outputs),
        dict(sorted(by_status.items())),
        dict(sorted(by_reason.items())),
        protected.reports,
    )
