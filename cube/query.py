"""The query contract as frozen types (``openapi.yaml`` is its JSON form).

``service/`` turns HTTP or CLI input into a ``Query``; nothing below it sees a request dict.
Drill-down items are written ``role@level`` (``residence@gemeente``, ``period@year``).
Measures of another cube are written ``cube.measure`` (``population.inhabitants``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Totals = Literal["none", "grand", "margins"]
Relation = Literal["neighbours", "descendants", "peers"]


@dataclass(frozen=True, slots=True)
class Cut:
    """Restrict one dimension role of the cube (``role``: ``region``, ``residence``, ``period``;
    the API calls it ``dimension``).

    Exactly one form: ``members`` (a set of codes at ``level``), a range ``from_``..``to``
    (inclusive, at ``level``), or a ``relation`` of the region member ``of`` (neighbours of a
    gemeente, descendants at ``level`` of a region, peers of a gemeente). ``exclude`` inverts it.
    """

    role: str
    level: str
    members: tuple[str, ...] = ()
    from_: str | None = None
    to: str | None = None
    relation: Relation | None = None
    of: str | None = None
    include_self: bool = False
    exclude: bool = False

    @property
    def dimension(self) -> str:
        """The role, under the name the API gives it (``bench/http_load.py`` reads it)."""
        return self.role


@dataclass(frozen=True, slots=True)
class Order:
    by: str
    desc: bool = False


@dataclass(frozen=True, slots=True)
class Derived:
    """An ad-hoc measure: ``numerator / denominator * per`` computed on protected values."""

    name: str
    numerator: str
    denominator: str
    per: float = 1.0


@dataclass(frozen=True, slots=True)
class Ranking:
    """Composite ranking over several measures (kansrijke zoekgebieden).

    ``method`` ``rank``: mean of the per-measure ranks (1 = highest); ``zscore``: mean of the
    per-measure z-scores. Cells with a suppressed component get no composite.
    """

    measures: tuple[str, ...]
    method: Literal["rank", "zscore"] = "rank"
    name: str = "composite"


@dataclass(frozen=True, slots=True)
class Query:
    cube: str
    measures: tuple[str, ...]
    drilldown: tuple[str, ...] = ()
    cuts: tuple[Cut, ...] = ()
    totals: Totals = "none"
    order: tuple[Order, ...] = ()
    limit: int | None = None
    offset: int = 0
    derived: tuple[Derived, ...] = ()
    ranking: Ranking | None = None
    lang: Literal["nl", "en"] = "nl"
    options: tuple[tuple[str, str], ...] = field(default=())
