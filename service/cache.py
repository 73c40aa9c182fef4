"""Answer cache: protected answers keyed by release id + canonical query.

Answers are deterministic for a release (cell-key perturbation makes the same query give the
same noise), so caching them changes nothing a client can see. The key includes the release
id, and a release switch also clears the cache so memory is not held by a retired release.
Serialised bodies are kept per format beside the answer: a cached GET costs a dict lookup.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field

from cachetools import TTLCache

from cube.result import Answer


@dataclass(slots=True)
class Entry:
    answer: Answer
    bodies: dict[str, bytes] = field(default_factory=dict)


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

    def get(self, release: str, canonical_query: str) -> Entry | None:
        if not self.enabled:
            return None
        with self._lock:
            entry = self._cache.get((release, canonical_query))
            if entry is None:
                self.misses += 1
            else:
                self.hits += 1
            return entry

    def put(self, release: str, canonical_query: str, answer: Answer) -> Entry:
        entry = Entry(answer)
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
