"""What ``answer()`` returns: protected cells with statuses, and the disclosure report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cube.query import Query


@dataclass(frozen=True, slots=True)
class Value:
    """One published cell value. ``value`` is None when suppressed (shown as ``x``)."""

    value: float | None
    status: str  # safe | perturbed | suppressed
    reason: str | None = None  # threshold | dominance | p_percent | secondary | derived


@dataclass(frozen=True, slots=True)
class MeasureInfo:
    id: str
    label: str
    unit: str
    kind: str  # count | sum | mean | rate | share | index | change | derived | composite


@dataclass(frozen=True, slots=True)
class Row:
    members: tuple[str | None, ...]  # one code per drill-down item; None = total over it
    labels: tuple[str | None, ...]
    values: tuple[Value, ...]  # one per Answer.measures

    @property
    def is_total(self) -> bool:
        return any(m is None for m in self.members)


@dataclass(frozen=True, slots=True)
class Answer:
    query: Query
    release: str
    drilldown: tuple[str, ...]
    measures: tuple[MeasureInfo, ...]
    rows: tuple[Row, ...]
    total_rows: int
    truncated: bool
    report: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)
