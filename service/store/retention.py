"""How long the state store keeps what it learns about clients, and the pruning that keeps it
so: rows of clients never seen again go after ``max_age_s``, and no table grows beyond
``max_rows`` (the oldest rows go first).

Pruning runs at most every ``every_s`` seconds per process, in a thread of its own started by
a write, so no request waits for it; several workers pruning at once delete the same rows.
Deletes go in batches of ``BATCH`` rows, so the embedded store's write lock is never held for
long.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("zicht.store")

BATCH = 5_000
DAY_S = 86_400.0
# What is pruned, by table: the column that says how old a row is.
TABLES = (("observations", "time"), ("flags", "time"), ("buckets", "last"))


@dataclass(frozen=True, slots=True)
class Retention:
    max_age_s: float = 30 * DAY_S
    max_rows: int = 1_000_000
    every_s: float = 60.0


DEFAULT_RETENTION = Retention()
Prune = Callable[[float, int], dict[str, int]]  # (before, max_rows) -> rows deleted by table


class Pruning:
    """Calls ``prune`` when it is due (``tick`` after each write), one run at a time."""

    def __init__(
        self,
        prune: Prune,
        retention: Retention,
        clock: Callable[[], float] = time.time,
        thread_ends: Callable[[], None] = lambda: None,
    ) -> None:
        """``thread_ends`` runs last in each pruning thread: a store that keeps a connection
        per thread closes that thread's there (else each run would leave one behind)."""
        self.prune, self.retention, self.clock = prune, retention, clock
        self.thread_ends = thread_ends
        self._last = clock()  # the first run waits a period: start-up stays quick
        self._lock = threading.Lock()
        self.runs = 0

    def tick(self) -> None:
        now = self.clock()
        if now - self._last < self.retention.every_s or self._lock.locked():
            return
        self._last = now
        threading.Thread(target=self._thread, name="zicht-store-prune", daemon=True).start()

    def _thread(self) -> None:
        try:
            self.run()
        finally:
            self.thread_ends()

    def run(self) -> dict[str, int]:
        """Prune now (the thread ``tick`` starts; tests call it directly)."""
        if not self._lock.acquire(blocking=False):
            return {}
        try:
            from service.store.base import StoreUnavailable

            before = self.clock() - self.retention.max_age_s
            try:
                deleted = self.prune(before, self.retention.max_rows)
            except StoreUnavailable:
                return {}  # the next run tries again; requests report the outage themselves
            self.runs += 1
            if any(deleted.values()):
                log.info(
                    "state store: pruned %s", ", ".join(f"{n} {t}" for t, n in deleted.items())
                )
            return deleted
        finally:
            self._lock.release()
