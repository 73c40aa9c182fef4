"""The state every serving process shares: audit log, rate-limit buckets and risk-monitor memory.

``Store`` is the one interface; ``service.store.open_store`` picks an implementation from the
settings: ``embedded`` (one machine: JSON Lines audit files and a SQLite database in WAL mode
in the data home, no server to run), ``postgresql`` (several machines) or ``memory`` (one
process, nothing kept: unit tests).

The policy (token arithmetic, risk rules) stays with its owner (``service.limits``,
``service.monitor``); a store only makes each read-modify-write atomic across processes, so
two workers can never both take the last token or miss each other's observation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from cube.errors import UserError

T = TypeVar("T")

Bucket = tuple[float, float]  # (tokens, wall-clock time of the last update)


@dataclass(frozen=True, slots=True)
class Observation:
    """One answer a client received, as the risk monitor remembers it."""

    time: float
    # Short digests, not query texts: the audit log records the same ``query_id`` next to the
    # full query.
    canonical: str  # query_id of the canonical query
    comparable: str  # digest of cube + measures + drill-down: answers that can be subtracted
    shape: str  # digest of comparable + cut dimensions/levels/forms
    population: float | None
    suppressed: int


@dataclass(frozen=True, slots=True)
class Flag:
    time: float
    client: str
    kind: str
    message: str
    queries: tuple[str, ...]


Check = Callable[[Sequence[Observation]], list[Flag]]
Step = Callable[[Bucket | None], tuple[Bucket, T]]


class StoreUnavailable(UserError):
    """The shared store could not be written: nothing is answered without its audit record."""

    error_type = "store_unavailable"
    http_status = 503

    def __init__(self) -> None:
        super().__init__("the service's state store is unavailable; retry later")


class Store(Protocol):
    kind: str

    def append_audit(self, fields: str, client: str) -> None:
        """Record one answer (``fields``: its ``json.dumps`` without braces) and return only
        once the record is durable. On failure nothing partial remains and it raises."""
        ...

    def recent_audit(self, limit: int, client: str | None = None) -> list[dict[str, Any]]:
        """The newest ``limit`` records, newest first, optionally of one client."""
        ...

    def update_bucket(self, client: str, step: Step[T]) -> T:
        """Atomically: read the client's bucket (None if it has none), store ``step``'s new
        bucket, return ``step``'s result."""
        ...

    def forget_buckets(self, before: float) -> None:
        """Drop buckets last updated before ``before`` (they are full again anyway)."""
        ...

    def observe(self, client: str, obs: Observation, window: int, check: Check) -> list[Flag]:
        """Atomically: ``check`` the client's last ``window`` observations (oldest first),
        append ``obs`` and record the flags ``check`` returns; return them."""
        ...

    def flags(self, limit: int, client: str | None = None) -> list[Flag]:
        """The newest ``limit`` flags, newest first."""
        ...

    def risk_summary(self) -> tuple[int, dict[str, int]]:
        """(clients with observations, flags by kind)."""
        ...

    def prune(self, before: float, max_rows: int) -> dict[str, int]:
        """Delete risk-monitor answers, flags and buckets last written before ``before``, then
        the oldest rows beyond ``max_rows`` in each; return the rows deleted by table. (Each
        store also does this on its own, see ``service.store.retention``.)"""
        ...

    def problems(self) -> list[str]:
        """What stops the store from working now (for /ready); empty when it works."""
        ...

    def close(self) -> None: ...
