"""Answer cache: protected answers keyed by release id + canonical query.

Answers are deterministic for a release (cell-key perturbation makes the same query give the
same noise), so caching them changes nothing a client can see. The key includes the release
id, and a release switch also clears the cache so memory is not held by a retired release.
Beside the answer an entry keeps what every request for it needs and what would otherwise be
recomputed from all its rows each time: the cell summary and population (audit, risk monitor),
the encoded engine report, and the serialised body and ETag per format. A cached GET costs a
dict lookup.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from cachetools import TTLCache

from cube.result import Answer
from service.formats import cell_summary, render
from service.monitor import answer_population


@dataclass(slots=True)
class Entry:
    answer: Answer
    release: str
    canonical: str
    summary: dict[str, Any]  # ``formats.cell_summary``
    suppressed: int
    population: float | None  # ``monitor.answer_population``
    audit_summary: str  # the summary and
    audit_report: str  # the engine's full summary (``Summary.audit``), encoded for the audit
    bodies: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # format → body, ETag
    roles: tuple[str, ...] = ()  # the cube's roles in model order (SDMX formats)

    @classmethod
    def of(
        cls, answer: Answer, release: str, canonical_query: str, roles: tuple[str, ...] = ()
    ) -> Entry:
        summary = cell_summary(answer)
        return cls(
            answer,
            release,
            canonical_query,
            summary,
            summary["by_status"].get("suppressed", 0),
            answer_population(answer),
            json.dumps(summary)[1:-1],
            json.dumps(answer.summary.audit()),
            roles=roles,
        )

    def body(self, fmt: str) -> tuple[bytes, str]:
        """The answer serialised as ``fmt`` and its strong ETag (quoted), rendered once."""
        done = self.bodies.get(fmt)
        if done is None:
            tag = etag(self.release, self.canonical, fmt)
            done = self.bodies[fmt] = (render(self.answer, fmt, self.roles), tag)
        return done


def etag(release: str, canonical_query: str, fmt: str) -> str:
    """A strong ETag: the answer is a function of release, query and format only."""
    digest = hashlib.sha256(f"{release}\n{canonical_query}\n{fmt}".encode()).hexdigest()
    return f'"{digest[:32]}"'


class AnswerCache:
    """Thread-safe TTL cache with hit/miss counters (for /metrics)."""

    def __init__(self, size: int, ttl_s: float):
        self.enabled = size > 0
        self._cache: TTLCache[tuple[str, str], Entry] = TTLCache(maxsize=max(size, 1), ttl=ttl_s)
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, release: str, canonical_query: str, *, count_miss: bool = True) -> Entry | None:
        if not self.enabled:
            return None
        with self._lock:
            entry = self._cache.get((release, canonical_query))
            if entry is None:
                self.misses += count_miss
            else:
                self.hits += 1
            return entry

    def contains(self, release: str, canonical_query: str) -> bool:
        """Whether an answer is cached, without counting a lookup."""
        with self._lock:
            return self.enabled and (release, canonical_query) in self._cache

    def put(
        self, release: str, canonical_query: str, answer: Answer, roles: tuple[str, ...] = ()
    ) -> Entry:
        entry = Entry.of(answer, release, canonical_query, roles)
        if self.enabled:
            with self._lock:
                self._cache[(release, canonical_query)] = entry
        return entry

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._cache)

    @property
    def hit_ratio(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0
