"""What ``answer()`` returns: protected cells with statuses, and their summary."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any, NamedTuple, TypeVar, overload

import numpy as np

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


T = TypeVar("T")


class RowColumns(NamedTuple):
    """Rows as columns: codes and labels per drill-down item, and each row's tuple of values
    as an index (``which``) into the distinct tuples (equal rows share one)."""

    members: tuple[Sequence[str | None], ...]
    labels: tuple[Sequence[str | None], ...]
    distinct: np.ndarray  # object array of tuples of ``Value``
    which: np.ndarray  # int64, one per row

    def per_row(self, make: Callable[[tuple[Value, ...]], T]) -> list[T]:
        """``make`` of every row's values, called once per distinct tuple."""
        return _objects([make(d) for d in self.distinct.tolist()])[self.which].tolist()


def _objects(items: Sequence[Any]) -> np.ndarray:
    """A one-dimensional object array of ``items`` (numpy would unpack tuples into a second
    dimension if given them at once)."""
    out = np.empty(len(items), dtype=object)
    for k, item in enumerate(items):
        out[k] = item
    return out


class Rows(Sequence[Row]):
    """An answer's rows, held as columns and made into ``Row`` objects as they are read.

    An answer of a buurt table has tens of thousands of rows; held as one tuple per row (and
    one per row's codes and labels) they were 125,000 objects that the garbage collector
    walked again and again for as long as the answer stayed cached. Held here: one list of
    codes and one of labels per drill-down item (their strings shared with the member
    tables), the distinct tuples of values and, per row, the index of its own (an integer
    array); each ``Row`` is built when it is read and freed when its reader is done. Equal
    to any sequence of the same rows."""

    __slots__ = ("columns",)

    def __init__(
        self,
        members: Sequence[Sequence[str | None]],
        labels: Sequence[Sequence[str | None]],
        distinct: Sequence[tuple[Value, ...]] | np.ndarray,
        which: Sequence[int] | np.ndarray,
    ) -> None:
        self.columns = RowColumns(
            tuple(members),
            tuple(labels),
            distinct if isinstance(distinct, np.ndarray) else _objects(distinct),
            np.asarray(which, dtype=np.int64),
        )

    @classmethod
    def of(cls, rows: Sequence[Row], items: int) -> Rows:
        """``rows`` as columns (``items``: how many drill-down items each has); equal tuples
        of values are held once."""
        if isinstance(rows, Rows):
            return rows
        index: dict[tuple[Value, ...], int] = {}
        which = [index.setdefault(r.values, len(index)) for r in rows]
        members = [[r.members[i] for r in rows] for i in range(items)]
        labels = [[r.labels[i] for r in rows] for i in range(items)]
        return cls(members, labels, list(index), which)

    def __len__(self) -> int:
        return len(self.columns.which)

    def _values(self) -> list[tuple[Value, ...]]:
        c = self.columns
        return c.distinct[c.which].tolist()  # type: ignore[no-any-return]

    def __iter__(self) -> Iterator[Row]:
        c, n = self.columns, len(self)
        members = zip(*c.members, strict=True) if c.members else repeat((), n)
        labels = zip(*c.labels, strict=True) if c.labels else repeat((), n)
        # ``tuple.__new__`` builds each row in C (``Row._make`` is a Python call per row)
        return map(tuple.__new__, repeat(Row), zip(members, labels, self._values(), strict=True))

    @overload
    def __getitem__(self, i: int) -> Row: ...

    @overload
    def __getitem__(self, i: slice) -> Rows: ...

    def __getitem__(self, i: int | slice) -> Row | Rows:
        c = self.columns
        if isinstance(i, slice):
            return Rows(
                [m[i] for m in c.members], [lb[i] for lb in c.labels], c.distinct, c.which[i]
            )
        values = c.distinct[c.which[i]]  # raises IndexError as a tuple would
        return Row(tuple(m[i] for m in c.members), tuple(lb[i] for lb in c.labels), values)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(other) == len(self) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Rows({list(self)!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        c = self.columns
        return (Rows, (c.members, c.labels, c.distinct.tolist(), c.which))


def row_columns(rows: Sequence[Row], items: int) -> RowColumns:
    """``rows`` as columns (``items``: how many drill-down items each has): what ``Rows``
    holds, or taken from rows built by hand."""
    return Rows.of(rows, items).columns


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
