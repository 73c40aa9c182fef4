"""What ``answer()`` returns: protected cells with statuses, and their summary."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any, NamedTuple, overload

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


class Row(NamedTuple):
    """One row of an answer. A named tuple, not a dataclass: answers have up to 100,000 rows,
    and a tuple is built in a third of the time of a frozen dataclass (41,700 rows: 12 against
    30 ms); equally immutable and typed."""

    members: tuple[str | None, ...]  # one code per drill-down item; None = total over it
    labels: tuple[str | None, ...]
    values: tuple[Value, ...]  # one per Answer.measures

    @property
    def is_total(self) -> bool:
        return any(m is None for m in self.members)


class Rows(Sequence[Row]):
    """An answer's rows, held as columns and made into ``Row`` objects as they are read.

    An answer of a buurt table has tens of thousands of rows; held as one tuple per row (and
    one per row's codes and labels) they were 125,000 objects that the garbage collector
    walked again and again for as long as the answer stayed cached. Held here: one list of
    codes and one of labels per drill-down item (their strings shared with the member
    tables) and one list of value tuples (equal rows share one); each ``Row`` is built when
    it is read and freed when its reader is done. Equal to any sequence of the same rows."""

    __slots__ = ("_labels", "_members", "_values")

    def __init__(
        self,
        members: Sequence[list[str | None]],
        labels: Sequence[list[str | None]],
        values: list[tuple[Value, ...]],
    ) -> None:
        self._members, self._labels, self._values = tuple(members), tuple(labels), values

    @property
    def columns(
        self,
    ) -> tuple[tuple[list[str | None], ...], tuple[list[str | None], ...], list[tuple[Value, ...]]]:
        """What the rows hold: codes and labels per drill-down item, value tuples per row."""
        return self._members, self._labels, self._values

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[Row]:
        n = len(self._values)
        members = zip(*self._members, strict=True) if self._members else repeat((), n)
        labels = zip(*self._labels, strict=True) if self._labels else repeat((), n)
        # ``tuple.__new__`` builds each row in C (``Row._make`` is a Python call per row)
        return map(tuple.__new__, repeat(Row), zip(members, labels, self._values, strict=True))

    @overload
    def __getitem__(self, i: int) -> Row: ...

    @overload
    def __getitem__(self, i: slice) -> Rows: ...

    def __getitem__(self, i: int | slice) -> Row | Rows:
        if isinstance(i, slice):
            return Rows(
                [m[i] for m in self._members], [lb[i] for lb in self._labels], self._values[i]
            )
        values = self._values[i]  # raises IndexError as a tuple would
        return Row(tuple(m[i] for m in self._members), tuple(lb[i] for lb in self._labels), values)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Rows):
            return (self._members, self._labels, self._values) == (
                other._members,
                other._labels,
                other._values,
            )
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(other) == len(self) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Rows({list(self)!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Rows, (self._members, self._labels, self._values))


Columns = tuple[
    Sequence[Sequence[str | None]], Sequence[Sequence[str | None]], Sequence[tuple[Value, ...]]
]


def columns_of(rows: Sequence[Row], items: int) -> Columns:
    """``rows`` as columns (codes and labels per drill-down item of ``items``, value tuples
    per row): what ``Rows`` holds, or taken from rows built by hand."""
    if isinstance(rows, Rows):
        return rows.columns
    members = [[r.members[i] for r in rows] for i in range(items)]
    labels = [[r.labels[i] for r in rows] for i in range(items)]
    return members, labels, [r.values for r in rows]


@dataclass(frozen=True, slots=True)
class Summary:
    """What an answer's rows publish, counted once: their values by status and by suppression
    reason, under the cube's policy. ``parts`` holds the disclosure-control report of every
    protected table (risk figures that would narrow down true values): for the audit log only,
    never in an answer a client reads (``public``)."""

    policy: str
    cells: int  # values in the rows (rows x measures)
    by_status: Mapping[str, int]  # sorted by status
    by_reason: Mapping[str, int]  # sorted by reason; reasons of suppressed or derived values
    parts: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def count(
        cls, rows: Iterable[Row], policy: str, parts: Mapping[str, Any] | None = None
    ) -> Summary:
        """Counted from rows built by hand (the engine counts its arrays: cube/assemble.py)."""
        statuses: Counter[str] = Counter()
        reasons: Counter[str] = Counter()
        for row in rows:
            for v in row.values:
                statuses[v.status] += 1
                if v.reason:
                    reasons[v.reason] += 1
        return cls(
            policy,
            sum(statuses.values()),
            dict(sorted(statuses.items())),
            dict(sorted(reasons.items())),
            dict(parts or {}),
        )

    def counts(self) -> dict[str, Any]:
        return {
            "cells": self.cells,
            "by_status": dict(self.by_status),
            "by_reason": dict(self.by_reason),
        }

    def public(self) -> dict[str, Any]:
        """What a client may read: the policy and the counts."""
        return {"policy": self.policy, **self.counts()}

    def audit(self) -> dict[str, Any]:
        """Everything, for the audit log."""
        return {**self.public(), "parts": dict(self.parts)}


@dataclass(frozen=True, slots=True)
class Answer:
    query: Query
    release: str
    drilldown: tuple[str, ...]
    measures: tuple[MeasureInfo, ...]
    rows: Sequence[Row]  # ``Rows`` from the engine; any sequence of rows built by hand
    total_rows: int
    truncated: bool
    summary: Summary
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def report(self) -> dict[str, Any]:
        """The summary in the shape the benchmark reads (``cells``: rows before paging)."""
        return {
            "policy": self.summary.policy,
            "cells": self.total_rows,
            "values_by_status": dict(self.summary.by_status),
            "values_by_reason": dict(self.summary.by_reason),
            "parts": dict(self.summary.parts),
        }
