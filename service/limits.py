"""Request limits: per-client rate limit (429 + Retry-After) and the query time limit (503).

The body size limit is Flask's ``MAX_CONTENT_LENGTH`` (413), set in ``create_app``; the cells
limit is the engine's ``max_cells`` (422).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TypeVar

from cachetools import LRUCache

from cube.errors import QueryTimeout
from service.errors import RateLimited

T = TypeVar("T")


class RateLimiter:
    """Token bucket per client: ``burst`` at once, refilled at ``per_minute`` / 60 per second.

    Buckets live in an LRU so a flood of distinct clients cannot exhaust memory.
    """

    def __init__(
        self,
        per_minute: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = 100_000,
    ):
        self.enabled = per_minute > 0
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.clock = clock
        self._buckets: LRUCache[str, tuple[float, float]] = LRUCache(maxsize=max_clients)
        self._lock = threading.Lock()
        self.refused = 0

    def check(self, client: str) -> None:
        """Take one token for ``client`` or raise ``RateLimited`` with the wait in seconds."""
        if not self.enabled:
            return
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._buckets[client] = (tokens, now)
                self.refused += 1
                raise RateLimited(max(1, math.ceil((1.0 - tokens) / self.rate)))
            self._buckets[client] = (tokens - 1.0, now)

    def try_take(self, client: str) -> bool:
        """Take one token for ``client`` if there is one; if not, change nothing.

        For the cached fast path (``service.fastpath``): a refused request goes on to the full
        path, whose ``check`` refuses it (429, counted) the way it always does.
        """
        if not self.enabled:
            return True
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < 1.0:
                return False
            self._buckets[client] = (tokens - 1.0, now)
            return True


class QueryRunner:
    """Runs engine calls on a bounded pool and gives up waiting after ``timeout_s``.

    A Python thread cannot be killed, so a query that overruns keeps its worker until the
    engine's own time limit stops it; the client gets 503 ``query_timeout`` at once instead of
    a hang. The pool is bounded, so runaway queries cannot take more than ``workers`` threads.
    """

    def __init__(self, timeout_s: float, workers: int):
        self.timeout_s = timeout_s
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="zicht-query")
        self.timeouts = 0

    def run(self, fn: Callable[[], T]) -> T:
        future = self._pool.submit(fn)
        try:
            return future.result(timeout=self.timeout_s)
        except FutureTimeout:
            # Not cancelled: the job releases its engine reference when it ends.
            self.timeouts += 1
            raise QueryTimeout(
                f"the query took longer than {self.timeout_s:g} s; narrow it down and retry"
            ) from None

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
