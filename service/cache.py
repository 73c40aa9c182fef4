"""Answer cache: protected answers keyed by release id + canonical query.

Answers are deterministic for a release (cell-key perturbation makes the same query give the
same noise), so caching them changes nothing a client can see. The key includes the release
id, and a release switch also clears the cache so memory is not held by a retired release.
Beside the answer an entry keeps what every request for it needs and what would otherwise be
recomputed from all its rows each time: the cell summary and population (audit, risk monitor),
the encoded engine report, and the serialised body and ETag per format. A cached GET costs a
dict lookup.

The cache is bounded twice: by entries (``cache_size``) and by bytes (``cache_max_bytes``),
the latter with each entry's estimated size. An entry's size is measured when it is stored (its
rows, sampled) and grows as bodies are rendered for more formats; the cache then accounts for
it again and evicts the least recently used answers beyond the bound. Answers range from one
row to tens of thousands, so a count alone bounds memory only loosely.
"""

from __future__ import annotations

import hashlib
import json
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cachetools import TTLCache

from cube.result import Answer, Rows
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
    size: int = 0  # estimated bytes held: answer, encoded parts and rendered bodies
    on_grow: Callable[[Entry], None] | None = None  # the cache holding it, told of new bodies

    @classmethod
    def of(
        cls, answer: Answer, release: str, canonical_query: str, roles: tuple[str, ...] = ()
    ) -> Entry:
        summary = cell_summary(answer)
        audit_summary, audit_report = json.dumps(summary)[1:-1], json.dumps(answer.summary.audit())
        return cls(
            answer,
            release,
            canonical_query,
            summary,
            summary["by_status"].get("suppressed", 0),
            answer_population(answer),
            audit_summary,
            audit_report,
            roles=roles,
            size=answer_bytes(answer) + len(audit_summary) + len(audit_report) + ENTRY_OVERHEAD,
        )

    def body(self, fmt: str) -> tuple[bytes, str]:
        """The answer serialised as ``fmt`` and its strong ETag (quoted), rendered once."""
        done = self.bodies.get(fmt)
        if done is None:
            tag = etag(self.release, self.canonical, fmt)
            done = self.bodies[fmt] = (render(self.answer, fmt, self.roles), tag)
            self.size += sys.getsizeof(done[0]) + 200  # the body, its ETag and the dict slot
            if self.on_grow is not None:
                self.on_grow(self)
        return done


ENTRY_OVERHEAD = 2_000  # the entry, its summary dict, key and the cache's bookkeeping
SAMPLED_ROWS = 32


def _deep_size(obj: Any, seen: set[int]) -> int:
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    size = sys.getsizeof(obj)
    if isinstance(obj, tuple | list):
        size += sum(_deep_size(x, seen) for x in obj)
    elif isinstance(obj, dict):
        size += sum(_deep_size(k, seen) + _deep_size(v, seen) for k, v in obj.items())
    elif hasattr(obj, "__slots__"):
        size += sum(_deep_size(getattr(obj, a, None), seen) for a in obj.__slots__)
    return size


def answer_bytes(answer: Answer) -> int:
    """Estimated bytes an answer holds: its rows measured on an even sample of up to
    ``SAMPLED_ROWS`` rows and scaled up, plus its summary (no row is walked twice)."""
    rows = answer.rows
    if not rows:
        return _deep_size(answer.summary, set())
    step = max(1, len(rows) // SAMPLED_ROWS)
    seen: set[int] = set()  # shared codes, labels and values are counted once, as held once
    if isinstance(rows, Rows):  # columns: one list per column, rows built only when read
        cols = rows.columns
        texts = [*cols.members, *cols.labels]
        at = range(0, len(rows), step)[:SAMPLED_ROWS]
        per_row = sum(_deep_size(col[i], seen) for col in texts for i in at) / len(at)
        # the distinct tuples of values, sampled the same way
        distinct = cols.distinct.tolist()
        shared = distinct[:: max(1, len(distinct) // SAMPLED_ROWS)][:SAMPLED_ROWS]
        held = sum(_deep_size(v, seen) for v in shared) / max(1, len(shared)) * len(distinct)
        per_row += held / len(rows)
        lists = sum(map(sys.getsizeof, texts)) + cols.distinct.nbytes + cols.which.nbytes
    else:
        sample = rows[::step][:SAMPLED_ROWS]
        per_row = sum(_deep_size(r, seen) for r in sample) / len(sample)
        lists = sys.getsizeof(rows)
    return int(per_row * len(rows)) + lists + _deep_size(answer.summary, set())


def etag(release: str, canonical_query: str, fmt: str) -> str:
    """A strong ETag: the answer is a function of release, query and format only."""
    digest = hashlib.sha256(f"{release}\n{canonical_query}\n{fmt}".encode()).hexdigest()
    return f'"{digest[:32]}"'


def _size_of(entry: Entry) -> int:
    return entry.size


class AnswerCache:
    """Thread-safe TTL cache bounded by entries and by bytes, with hit/miss counters (for
    /metrics)."""

    def __init__(self, size: int, ttl_s: float, max_bytes: int = 64 * 1024 * 1024):
        self.enabled = size > 0 and max_bytes > 0
        self.max_entries = max(size, 1)
        self._cache: TTLCache[tuple[str, str], Entry] = TTLCache(
            maxsize=max(max_bytes, 1), ttl=ttl_s, getsizeof=_size_of
        )
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self.too_large = 0  # answers larger than the whole cache: served, never kept

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
            entry.on_grow = self._regrown
            self._store((release, canonical_query), entry)
        return entry

    def _store(self, key: tuple[str, str], entry: Entry) -> None:
        with self._lock:
            try:
                self._cache[key] = entry  # evicts least recently used answers beyond the bytes
            except ValueError:  # larger than the whole cache
                self._cache.pop(key, None)
                entry.on_grow = None
                self.too_large += 1
                return
            while len(self._cache) > self.max_entries:
                self._cache.popitem()

    def _regrown(self, entry: Entry) -> None:
        """An entry rendered one more body: count its new size (evicting others if needed)."""
        key = (entry.release, entry.canonical)
        with self._lock:
            if self._cache.get(key) is not entry:
                return  # evicted or replaced meanwhile: not held by the cache any more
        self._store(key, entry)

    @property
    def bytes(self) -> int:
        """Estimated bytes the cached answers hold."""
        with self._lock:
            return int(self._cache.currsize)

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
