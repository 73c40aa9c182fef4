"""Prometheus metrics, one registry per app (tests build many apps in one process).

Under ``zicht serve --workers N`` every worker keeps its counters in a file of a directory the
supervisor made (prometheus_client's multiprocess mode, see ``share_between_workers``), and
/metrics, whichever worker answers it, reports the sums over all workers: requests, latency,
cells, cache lookups, audit records, refusals and time-outs of the whole service, and
``zicht_worker_requests_total{worker}`` to see how the load spreads. The risk figures come
from the state store, which the workers share anyway.

Figures a process keeps as plain integers (cache, audit, limits, time-outs) are carried into
the counters by their increase, after each request and before each scrape.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import values as prometheus_values
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
SHARED_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client's own name for it
# Process figures carried into counters: figure name -> (counter name, its labels).
COUNTED = ("cache_hits", "cache_misses", "audit", "rate_limited", "timeouts")


def share_between_workers(directory: Path, worker: int) -> None:
    """Make this (freshly forked) worker process keep its metrics in ``directory``, in files
    named by its index: a replacement worker carries on its predecessor's counts, so the
    service's counters never go back, and the directory holds one set of files per index.

    Call it before the app is built (its metrics are created then)."""
    os.environ[SHARED_DIR_ENV] = str(directory)
    prometheus_values.ValueClass = prometheus_values.MultiProcessValue(lambda: worker)


def worker_gone(directory: Path, worker: int) -> None:
    """Drop a dead worker's gauges (its cache went with it); its counters stay counted."""
    mark_process_dead(worker, str(directory))  # type: ignore[arg-type]


def _shared_dir() -> str | None:
    if getattr(prometheus_values.ValueClass, "_multiprocess", False):
        return os.environ.get(SHARED_DIR_ENV)
    return None


class _StateCollector(Collector):
    """Reads at scrape time what lives in the state store (risk) or is this worker's own
    (the release it serves), and the cache hit ratio over the counters reported."""

    def __init__(
        self, read: Callable[[], dict[str, Any]], lookups: Callable[[], tuple[float, float]]
    ):
        self.read = read
        self.lookups = lookups

    def collect(self) -> Iterator[Any]:
        s = self.read()
        hits, misses = self.lookups()
        yield GaugeMetricFamily(
            "zicht_cache_hit_ratio",
            "Answer cache hits / lookups",
            hits / (hits + misses) if hits + misses else 0.0,
        )
        yield GaugeMetricFamily(
            "zicht_store_up", "1 when the state store answered this scrape, else 0", s["store_up"]
        )
        if s["risk_flags"] is not None:  # they live in the store
            # What the store remembers: flags older than its retention are forgotten, so the
            # figure can fall, which a counter must never do (Prometheus would see a reset).
            flags = GaugeMetricFamily(
                "zicht_risk_flags",
                "Risk monitor flags remembered (those older than the store's retention are gone)",
                labels=["kind"],
            )
            for kind, n in sorted(s["risk_flags"].items()):
                flags.add_metric([kind], n)
            yield flags
            yield GaugeMetricFamily(
                "zicht_risk_clients", "Clients the risk monitor remembers", s["risk_clients"]
            )
        info = GaugeMetricFamily("zicht_release_info", "Serving release", labels=["release"])
        if s["release"]:
            info.add_metric([s["release"]], 1)
        yield info


class Metrics:
    def __init__(
        self,
        read_state: Callable[[], dict[str, Any]],
        read_counts: Callable[[], dict[str, int]] | None = None,
        worker: Callable[[], int | None] = lambda: None,
    ):
        """``read_state``: the scrape-time figures (store, release); ``read_counts``: the
        process's plain counts (``COUNTED`` plus ``cache_entries`` and ``cache_bytes``), cheap
        enough to read after every request; ``worker``: this process's worker index."""
        self.shared = _shared_dir()
        self.registry = CollectorRegistry()
        reg = self.registry
        self.requests = Counter(
            "zicht_http_requests",
            "HTTP requests by route and status",
            ["route", "method", "status"],
            registry=reg,
        )
        self.latency = Histogram(
            "zicht_http_request_duration_seconds",
            "HTTP request duration by route",
            ["route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=reg,
        )
        self.cells = Counter(
            "zicht_answer_cells", "Published cells by disclosure status", ["status"], registry=reg
        )
        self.lookups = Counter(
            "zicht_cache_lookups", "Answer cache lookups", ["result"], registry=reg
        )
        self.counted: dict[str, Any] = {
            "cache_hits": self.lookups.labels("hit"),
            "cache_misses": self.lookups.labels("miss"),
            "audit": Counter("zicht_audit_records", "Audit records written", registry=reg),
            "rate_limited": Counter(
                "zicht_rate_limited", "Requests refused by the rate limit", registry=reg
            ),
            "timeouts": Counter(
                "zicht_query_timeouts", "Queries that exceeded the time limit", registry=reg
            ),
        }
        # Summed over the live workers (each sets its own file's value).
        self.gauges = {
            "cache_entries": Gauge(
                "zicht_cache_entries",
                "Answers in the cache",
                registry=reg,
                multiprocess_mode="livesum",
            ),
            "cache_bytes": Gauge(
                "zicht_cache_bytes",
                "Estimated bytes the cached answers hold",
                registry=reg,
                multiprocess_mode="livesum",
            ),
        }
        self.worker = worker
        self.by_worker = Counter(
            "zicht_worker_requests", "HTTP requests by worker process", ["worker"], registry=reg
        )
        self._worker_child: Any = None
        self.read_counts = read_counts
        self._carried: dict[str, int] = dict.fromkeys(COUNTED, 0)
        self._carry_lock = threading.Lock()
        self._merged_lookups = (0.0, 0.0)
        self.state = _StateCollector(read_state, self._lookups)
        if self.shared is None:
            self.registry.register(self.state)
        # Labelled children, looked up once: ``labels()`` costs more than the increment, and
        # every request counts itself and its cells (a child is never removed, so keeping a
        # reference is safe; two threads adding the same key store the same child).
        self._per_request: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._per_status: dict[str, Any] = {}

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        children = self._per_request.get(key)
        if children is None:
            counter = self.requests.labels(route, method, str(status))
            children = self._per_request[key] = (counter, self.latency.labels(route))
        children[0].inc()
        children[1].observe(seconds)
        if self._worker_child is None:
            index = self.worker()
            if index is None:
                return self.carry()
            self._worker_child = self.by_worker.labels(str(index))
        self._worker_child.inc()
        self.carry()

    def carry(self) -> None:
        """Bring the process's plain counts into the counters (by their increase) and gauges."""
        if self.read_counts is None:
            return
        with self._carry_lock:
            counts = self.read_counts()
            for name in COUNTED:
                step = counts[name] - self._carried[name]
                if step > 0:
                    self._carried[name] = counts[name]
                    self.counted[name].inc(step)
            for name, gauge in self.gauges.items():
                gauge.set(counts[name])

    def _lookups(self) -> tuple[float, float]:
        if self.shared is None:
            return float(self._carried["cache_hits"]), float(self._carried["cache_misses"])
        return self._merged_lookups

    def count_cells(self, by_status: dict[str, int]) -> None:
        for status, n in by_status.items():
            child = self._per_status.get(status)
            if child is None:
                child = self._per_status[status] = self.cells.labels(status)
            child.inc(n)

    def render(self) -> bytes:
        self.carry()
        if self.shared is None:
            return generate_latest(self.registry)
        merged = CollectorRegistry()
        families = list(MultiProcessCollector(None, path=self.shared).collect())  # type: ignore[arg-type]
        hits = misses = 0.0
        for family in families:
            if family.name == "zicht_cache_lookups":
                for sample in family.samples:
                    if sample.name.endswith("_total"):
                        if sample.labels.get("result") == "hit":
                            hits += sample.value
                        else:
                            misses += sample.value
        self._merged_lookups = (hits, misses)
        merged.register(_Fixed(families))
        merged.register(self.state)
        return generate_latest(merged)


class _Fixed(Collector):
    def __init__(self, families: list[Any]):
        self.families = families

    def collect(self) -> Iterator[Any]:
        yield from self.families
