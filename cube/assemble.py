"""Assemble the answer: rows with codes and labels, values with statuses, order, page, summary."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from cube.axes import PerAxis, RoleAxis
from cube.derive import Output
from cube.plan import Plan
from cube.protect import ProtectedParts
from cube.result import Rows, Summary, Value
from sdc.status import REASON_NAMES, STATUS_NAMES

TOTAL_LABEL = {"nl": "Totaal", "en": "Total"}
_STATUSES, _REASONS = len(STATUS_NAMES), len(REASON_NAMES)


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


def _values(o: Output, at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The output's distinct published values for the cells ``at`` (an object array of
    ``Value``) and, per cell, the index of its own. Equal (value, status, reason) triples share
    one immutable ``Value`` (counts repeat a lot), found with numpy, not per cell in Python:
    answers have tens of thousands of rows."""
    value, status, reason = o.value[at], o.status[at], o.reason[at]
    # NaN never equals itself: unique on the bit pattern groups all NaNs as one value
    _, vcode = np.unique(value.astype(np.float64).view(np.int64), return_inverse=True)
    # (value, status, reason) numbered densely without a second sort: statuses and reasons
    # are few, so every combination has a slot in one small table
    code = (vcode.reshape(-1) * _STATUSES + status) * _REASONS + reason
    used = np.zeros((int(vcode.max(initial=0)) + 1) * _STATUSES * _REASONS, dtype=np.int64)
    used[code] = 1
    slot = np.cumsum(used) - 1
    inverse = slot[code]
    first = np.empty(int(slot[-1]) + 1 if len(code) else 0, dtype=np.int64)
    first[inverse] = np.arange(len(code))  # any cell of a triple stands for it
    made = np.empty(len(first), dtype=object)
    decimals = o.decimals
    triples = zip(
        value[first].astype(np.float64).tolist(),
        status[first].tolist(),
        reason[first].tolist(),
        strict=True,
    )
    for u, (v, st, r) in enumerate(triples):  # Python scalars: no numpy scalar per field
        made[u] = Value(_published(v, decimals), STATUS_NAMES[st], REASON_NAMES[r])
    return made, inverse


def _value_tuples(
    outputs: list[Output], at: np.ndarray
) -> tuple[list[tuple[Value, ...]], np.ndarray]:
    """The distinct tuples of values (one value per output) of the cells ``at`` and, per
    cell, the index of its own: rows with equal values share one tuple, fewer
    objects to build and for the garbage collector to walk afterwards (41,700 rows of one
    measure: a few hundred tuples instead of one per row)."""
    if len(at) == 0:
        return [], np.zeros(0, dtype=np.int64)
    if not outputs:
        return [()], np.zeros(len(at), dtype=np.int64)
    if len(outputs) == 1:  # the value's own index is the tuple's: no combined code to find
        made, inverse = _values(outputs[0], at)
        return [(v,) for v in made.tolist()], inverse
    code = np.zeros(len(at), dtype=np.int64)
    parts = []
    for o in outputs:
        made, inverse = _values(o, at)
        parts.append((made, inverse))
        # Renumbered after each output, so the combined code stays below the row count.
        code = np.unique(code * len(made) + inverse, return_inverse=True)[1].reshape(-1)
    first = np.unique(code, return_index=True)[1]
    columns = [made[inverse[first]].tolist() for made, inverse in parts]
    return list(zip(*columns, strict=True)), code


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
        code_of, label_of = _member_arrays(lax, lang, total)
        codes.append(code_of[col].tolist())  # -1 picks the appended total
        labels.append(label_of[col].tolist())
    return codes, labels


_ARRAYS = PerAxis(256)


def _member_arrays(lax: Any, lang: str, total: str) -> tuple[np.ndarray, np.ndarray]:
    """A level's codes and labels in ``lang`` as object arrays, the total last; built once per
    level (a level of buurten has some 14,000 labels: building them took most of assembling
    a page of one gemeente's buurten); callers only index the arrays."""

    def make() -> tuple[np.ndarray, np.ndarray]:
        code_of = np.empty(len(lax.codes) + 1, dtype=object)
        code_of[:-1], code_of[-1] = list(lax.codes), None
        label_of = np.empty(len(lax.labels) + 1, dtype=object)
        label_of[:-1], label_of[-1] = [lb.get(lang) for lb in lax.labels], total
        return code_of, label_of

    return _ARRAYS.get(lax, (lang, total), make)  # type: ignore[no-any-return]


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
    page = order[start:stop]
    codes, labels = _members(levels, grid[page], q.lang, total)
    rows = Rows(codes, labels, *_value_tuples(outputs, page))
    return {
        "query": q,
        "release": release_id,
        "drilldown": tuple(it.text for it in plan.items),
        "measures": tuple(o.info for o in outputs),
        "rows": rows,
        "total_rows": n,
        "truncated": bool(stop < n),
        "summary": _summary(plan, outputs, order[start:stop], stop - start == n, protected),
    }


def _summary(
    plan: Plan, outputs: list[Output], at: np.ndarray, whole: bool, protected: ProtectedParts
) -> Summary:
    """The published values of the page (cells ``at``; ``whole``: every cell) by status and
    by reason, counted on the code arrays."""
    statuses = np.zeros(len(STATUS_NAMES), dtype=np.int64)
    reasons = np.zeros(len(REASON_NAMES), dtype=np.int64)
    for o in outputs:
        status, reason = (o.status, o.reason) if whole else (o.status[at], o.reason[at])
        statuses += np.bincount(status, minlength=len(STATUS_NAMES))
        reasons += np.bincount(reason, minlength=len(REASON_NAMES))
    by_status = {STATUS_NAMES[i]: int(c) for i, c in enumerate(statuses.tolist()) if c}
    by_reason = {str(REASON_NAMES[i]): int(c) for i, c in enumerate(reasons.tolist()) if c and i}
    return Summary(
        plan.cube.policy.id,
        len(at) * len(outputs),
        {k: by_status[k] for k in sorted(by_status)},
        {k: by_reason[k] for k in sorted(by_reason)},
        protected.reports,
    )
