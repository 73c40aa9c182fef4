"""A store for one process that keeps nothing on disk: unit tests, and the parts of the service
(``RateLimiter``, ``RiskMonitor``) used on their own."""

from __future__ import annotations

import json
import threading
from collections import Counter, deque
from datetime import UTC, datetime
from typing import Any

from cachetools import LRUCache

from service.audit import audit_line
from service.store.base import Bucket, Check, Flag, Observation, Step, T

MAX_CLIENTS = 10_000
MAX_FLAGS = 1_000
MAX_RECORDS = 100_000


class MemoryStore:
    kind = "memory"

    def __init__(self, max_clients: int = MAX_CLIENTS) -> None:
        self._lock = threading.Lock()
        self._audit: deque[tuple[str, str]] = deque(maxlen=MAX_RECORDS)
        self._buckets: LRUCache[str, Bucket] = LRUCache(maxsize=max_clients * 10)
        self._clients: LRUCache[str, deque[Observation]] = LRUCache(maxsize=max_clients)
        self._flags: deque[Flag] = deque(maxlen=MAX_FLAGS)
        self._counts: Counter[str] = Counter()

    def append_audit(self, fields: str, client: str) -> None:
        line = audit_line(fields, datetime.now(UTC))
        with self._lock:
            self._audit.append((client, line))

    def recent_audit(self, limit: int, client: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            lines = [ln for c, ln in reversed(self._audit) if client is None or c == client]
        return [json.loads(ln) for ln in lines[:limit]]

    def update_bucket(self, client: str, step: Step[T]) -> T:
        with self._lock:
            bucket, result = step(self._buckets.get(client))
            self._buckets[client] = bucket
            return result

    def forget_buckets(self, before: float) -> None:
        with self._lock:
            for client, (_, last) in list(self._buckets.items()):
                if last < before:
                    del self._buckets[client]

    def observe(self, client: str, obs: Observation, window: int, check: Check) -> list[Flag]:
        with self._lock:
            history = self._clients.get(client)
            if history is None or history.maxlen != window:
                history = self._clients[client] = deque(history or (), maxlen=window)
            flags = check(tuple(history))
            history.append(obs)
            self._flags.extend(flags)
            self._counts.update(f.kind for f in flags)
            return flags

    def flags(self, limit: int, client: str | None = None) -> list[Flag]:
        with self._lock:
            chosen = [f for f in reversed(self._flags) if client is None or f.client == client]
        return chosen[:limit]

    def risk_summary(self) -> tuple[int, dict[str, int]]:
        with self._lock:
            return len(self._clients), dict(self._counts)

    def prune(self, before: float, max_rows: int) -> dict[str, int]:
        """As the other stores; here the LRU bounds above already cap each table."""
        with self._lock:
            gone = {"observations": 0, "flags": 0, "buckets": 0}
            for client, history in list(self._clients.items()):
                while history and history[0].time < before:
                    history.popleft()
                    gone["observations"] += 1
                if not history:
                    del self._clients[client]
            while self._flags and (self._flags[0].time < before or len(self._flags) > max_rows):
                self._flags.popleft()
                gone["flags"] += 1
            for client, (_, last) in list(self._buckets.items()):
                if last < before:
                    del self._buckets[client]
                    gone["buckets"] += 1
            return gone

    def problems(self) -> list[str]:
        return []

    def close(self) -> None:
        pass
