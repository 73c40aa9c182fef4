"""Measure definitions (pure). Base measures aggregate facts; derived ones combine *protected*
base measures, so a suppressed component suppresses the derived value (reason ``derived``).

Kinds:

- ``count``: rows (``count: rows``) or distinct contributors (``count: holdings``), optional filter;
- ``sum``: sum of a magnitude column, optional filter (magnitude rules apply);
- ``mean``: ``numerator`` (a sum) / ``denominator`` (a count);
- ``rate``: ``numerator`` / ``denominator`` x ``per`` (the denominator may be ``cube.measure``);
- ``share``: ``numerator`` / ``denominator`` x 100;
- ``index``: over-representation,
  (numerator / denominator) / (ref_numerator / ref_denominator) x 100;
- ``change``: % change of ``base`` versus the previous period (needs ``period@year`` drill-down).
"""

from __future__ import annotations

from dataclasses import dataclass

from dimensions.model import Label

BASE_KINDS = frozenset({"count", "sum"})
DERIVED_KINDS = frozenset({"mean", "rate", "share", "index", "change"})
KINDS = BASE_KINDS | DERIVED_KINDS
FILTER_OPS = frozenset({"eq", "ne", "in", "lt", "le", "gt", "ge"})


@dataclass(frozen=True, slots=True)
class Filter:
    """``column op value``; booleans are written ``eq: true``."""

    column: str
    op: str
    value: bool | int | float | str | tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Measure:
    id: str
    label: Label
    kind: str
    unit: str
    description: str = ""
    count: str = "rows"  # count: rows | holdings
    column: str | None = None  # sum: the magnitude column
    filters: tuple[Filter, ...] = ()
    numerator: str | None = None
    denominator: str | None = None
    ref_numerator: str | None = None
    ref_denominator: str | None = None
    base: str | None = None  # change
    per: float = 1.0
    decimals: int = 0
    definition: Label | None = None  # what the figure counts, in Dutch and English
    unit_label: Label | None = None  # the unit in Dutch and English (``unit`` is the id)

    def __hash__(self) -> int:
        # Measures are parts of cache keys: hashing their labels and filters on every lookup
        # costs more than it saves. Equal measures have equal ids and kinds.
        return hash((self.id, self.kind))

    @property
    def is_base(self) -> bool:
        return self.kind in BASE_KINDS

    def components(self) -> tuple[str, ...]:
        """Measures this one is computed from (``cube.measure`` for other cubes)."""
        refs = (
            self.numerator,
            self.denominator,
            self.ref_numerator,
            self.ref_denominator,
            self.base,
        )
        return tuple(r for r in refs if r)
