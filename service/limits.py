"""Request limits: per-client rate limit (429 + Retry-After) and the query time limit (503).

The body size limit is Flask's ``MAX_CONTENT_LENGTH`` (413), set in ``create_app``; the cells
limit is the engine's ``max_cells`` (422).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TypeVar

from cube.errors import QueryTimeout
from service.errors import RateLimited
from service.store.base import Bucket, Store, StoreUnavailable
from service.store.memory import MemoryStore

T = TypeVar("T")
FORGET_EVERY = 10_000  # checks between two clean-ups of full buckets


class RateLimiter:
    """Token bucket per client: ``burst`` at once, refilled at ``per_minute`` / 60 per second.

    The buckets live in the state store, so every worker process (and machine) draws on the
    same bucket; the clock is the wall clock for the same reason. Buckets that have been full
    again for a while are dropped from the store now and then.
    """

    def __init__(
        self,
        per_minute: float,
        burst: int,
        clock: Callable[[], float] = time.time,
        store: Store | None = None,
    ):
        self.enabled = per_minute > 0
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.clock = clock
        self.store: Store = store if store is not None else MemoryStore()
        self.refused = 0  # in this process (a /metrics counter)
        self._updates = 0

    def _refill(self, bucket: Bucket | None, now: float) -> float:
        tokens, last = bucket if bucket is not None else (self.burst, now)
        # Another machine's clock may be a little ahead: time never runs backwards here.
        return min(self.burst, tokens + max(0.0, now - last) * self.rate)

    def check(self, client: str) -> None:
        """Take one token for ``client`` or raise ``RateLimited`` with the wait in seconds."""
        if not self.enabled:
            return
        now = self.clock()

        def step(bucket: Bucket | None) -> tuple[Bucket, float]:
            tokens = self._refill(bucket, now)
            return ((tokens, now), tokens) if tokens < 1.0 else ((tokens - 1.0, now), tokens)

        tokens = self.store.update_bucket(client, step)
        self._housekeeping(now)
        if tokens < 1.0:
            self.refused += 1
            raise RateLimited(max(1, math.ceil((1.0 - tokens) / self.rate)))

    def try_take(self, client: str) -> bool:
        """Take one token for ``client`` if there is one; if not (or the store cannot be
        reached), change nothing.

        For the cached fast path (``service.fastpath``): a refused request goes on to the full
        path, whose ``check`` refuses it (429, counted; or 503 without a store) the way it
        always does.
        """
        if not self.enabled:
            return True
        now = self.clock()

        def step(bucket: Bucket | None) -> tuple[Bucket, bool]:
            tokens = self._refill(bucket, now)
            if tokens < 1.0:
                return bucket if bucket is not None else (self.burst, now), False
            return (tokens - 1.0, now), True

        try:
            taken = self.store.update_bucket(client, step)
        except StoreUnavailable:
            return False
        self._housekeeping(now)
        return taken

    def _housekeeping(self, now: float) -> None:
        self._updates += 1
        if self._updates % FORGET_EVERY == 0:
            with contextlib.suppress(StoreUnavailable):
                self.store.forget_buckets(now - self.burst / self.rate - 60.0)


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
            raise QueryTimeout.after(self.timeout_s) from None

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
