"""Prometheus metrics, one registry per app (tests build many apps in one process)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _StateCollector(Collector):
    """Reads live figures (cache, monitor, audit, limits) at scrape time."""

    def __init__(self, read: Callable[[], dict[str, Any]]):
        self.read = read

    def collect(self) -> Iterator[Any]:
        s = self.read()
        yield GaugeMetricFamily("zicht_cache_entries", "Answers in the cache", s["cache_entries"])
        yield GaugeMetricFamily(
            "zicht_cache_bytes", "Estimated bytes the cached answers hold", s["cache_bytes"]
        )
        hits = CounterMetricFamily("zicht_cache_lookups", "Answer cache lookups", labels=["result"])
        hits.add_metric(["hit"], s["cache_hits"])
        hits.add_metric(["miss"], s["cache_misses"])
        yield hits
        yield GaugeMetricFamily(
            "zicht_cache_hit_ratio", "Answer cache hits / lookups", s["cache_hit_ratio"]
        )
        flags = CounterMetricFamily(
            "zicht_risk_flags", "Risk monitor flags raised", labels=["kind"]
        )
        for kind, n in sorted(s["risk_flags"].items()):
            flags.add_metric([kind], n)
        yield flags
        yield GaugeMetricFamily(
            "zicht_risk_clients", "Clients the risk monitor remembers", s["risk_clients"]
        )
        yield CounterMetricFamily("zicht_audit_records", "Audit records written", s["audit"])
        yield CounterMetricFamily(
            "zicht_rate_limited", "Requests refused by the rate limit", s["rate_limited"]
        )
        yield CounterMetricFamily(
            "zicht_query_timeouts", "Queries that exceeded the time limit", s["timeouts"]
        )
        info = GaugeMetricFamily("zicht_release_info", "Serving release", labels=["release"])
        if s["release"]:
            info.add_metric([s["release"]], 1)
        yield info


class Metrics:
    def __init__(self, read_state: Callable[[], dict[str, Any]]):
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "zicht_http_requests",
            "HTTP requests by route and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "zicht_http_request_duration_seconds",
            "HTTP request duration by route",
            ["route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.cells = Counter(
            "zicht_answer_cells",
            "Published cells by disclosure status",
            ["status"],
            registry=self.registry,
        )
        self.registry.register(_StateCollector(read_state))
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

    def count_cells(self, by_status: dict[str, int]) -> None:
        for status, n in by_status.items():
            child = self._per_status.get(status)
            if child is None:
                child = self._per_status[status] = self.cells.labels(status)
            child.inc(n)

    def render(self) -> bytes:
        return generate_latest(self.registry)
