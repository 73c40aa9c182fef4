"""The running service's state: the serving engine, cache, state store, monitor and limits.

``EngineHolder`` swaps releases without dropping in-flight requests: a request takes a
reference to the engine it started with (``use()``), a switch replaces the reference
atomically, and the old engine is closed when its last request has finished.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from cube.errors import NoRelease, NotFound, Problem, QueryTimeout, UserError
from cube.query import Query
from loaders import releases
from service.audit import load_salt
from service.cache import AnswerCache, Entry
from service.errors import BadReleaseId, ReleaseConflict
from service.limits import QueryRunner, RateLimiter
from service.monitor import RiskMonitor
from service.prepared import Prepared, PreparedQueries, prepare
from service.readiness import ReleaseFiles
from service.settings import Settings, parse_api_keys, parse_spark_conf
from service.store import StoreUnavailable, open_store

if TYPE_CHECKING:
    from service.metrics import Metrics

log = logging.getLogger("zicht.service")


class EngineLike(Protocol):
    """What the service needs of ``cube.engine.Engine``."""

    release_id: str

    def cubes(self) -> list[dict[str, Any]]: ...
    def cube(self, cube_id: str) -> dict[str, Any]: ...
    def members(
        self,
        cube_id: str,
        dimension: str,
        level: str | None = None,
        *,
        search: str | None = None,
        parent: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[dict[str, Any]], int]: ...
    def neighbours(self, gemeente_code: str) -> list[dict[str, Any]]: ...
    def boundaries(self, level: str, gemeente: str) -> dict[str, Any]: ...
    def answer(self, query: Query) -> Any: ...
    def close(self) -> None: ...


EngineFactory = Callable[[releases.Release, Settings], EngineLike]


def open_engine(release: releases.Release, settings: Settings) -> EngineLike:
    """The default factory: the real cube engine (imported late: it loads DuckDB and Ibis)."""
    from cube.engine import Engine

    return Engine.open(
        release,
        max_cells=settings.max_cells,
        query_timeout_s=settings.query_timeout_s,
        answer_cache_size=0,  # the service's AnswerCache is the one answer cache (cache_size)
        threads=settings.duckdb_threads,
        backend=settings.backend,
        backend_options=backend_options(release, settings),
        # compiled SQL kept for the next process: `zicht query` and new workers skip Ibis
        sql_cache=releases.data_home(settings.home or None) / "cache" / "sql",
        # what opening reads (members, model) kept too: a new process opens without DuckDB
        # reading every region and without YAML
        open_cache=releases.data_home(settings.home or None) / "cache" / "open",
    )


def backend_options(release: releases.Release, settings: Settings) -> dict[str, str]:
    """Options of a non-default backend: the release's Parquet export (a local path or a URI,
    with the facts and rollup tables it holds, and its encrypted columns), and for Spark where
    it runs, how to reach it and its configuration."""
    if settings.backend == "duckdb":
        return {}
    from loaders.export import export_entry

    entry = export_entry(release.path, release.manifest)
    if settings.backend == "datafusion":
        return {
            "parquet_dir": entry.location if entry else "",
            "exported_facts": ",".join(entry.facts) if entry else "",
            "exported_rollups": ",".join(entry.rollups) if entry else "",
            "encrypted_columns": ",".join(entry.encrypted_columns) if entry else "",
            "target_partitions": str(settings.datafusion_threads),
            "memory_limit_mb": str(settings.datafusion_memory_limit_mb),
        }
    options = {
        "master": settings.spark_master,
        "parquet_dir": entry.location if entry else "",
        "exported_facts": ",".join(entry.facts) if entry else "",
        "exported_rollups": ",".join(entry.rollups) if entry else "",
        **parse_spark_conf(settings.spark_conf),
    }
    if settings.spark_connect_tls:
        options["connect_tls"] = "true"
    if settings.spark_connect_token:
        options["connect_token"] = settings.spark_connect_token
    return options


class EngineHolder:
    def __init__(self, home: Path, settings: Settings, factory: EngineFactory):
        self.home, self.settings, self.factory = home, settings, factory
        self._lock = threading.Lock()
        self._engine: EngineLike | None = None
        self._in_flight: dict[int, int] = {}
        self._retired: dict[int, EngineLike] = {}
        self.switch_lock = threading.Lock()  # one switch at a time

    @property
    def release_id(self) -> str | None:
        engine = self._engine
        return engine.release_id if engine is not None else None

    def load_current(self) -> None:
        release = releases.current_release(self.home)
        if release is not None:
            self._swap(self.factory(release, self.settings))

    @contextmanager
    def use(self) -> Iterator[EngineLike]:
        with self._lock:
            engine = self._engine
            if engine is None:
                raise NoRelease("no data release is loaded yet")
            self._in_flight[id(engine)] = self._in_flight.get(id(engine), 0) + 1
        try:
            yield engine
        finally:
            self.release(engine)

    def hold(self, engine: EngineLike) -> EngineLike:
        """One more reference to ``engine`` (for work handed to another thread)."""
        with self._lock:
            self._in_flight[id(engine)] = self._in_flight.get(id(engine), 0) + 1
        return engine

    def release(self, engine: EngineLike) -> None:
        with self._lock:
            left = self._in_flight[id(engine)] = self._in_flight[id(engine)] - 1
            retired = self._retired.pop(id(engine), None) if left == 0 else None
        if retired is not None:
            retired.close()

    def _swap(self, new: EngineLike) -> None:
        with self._lock:
            old, self._engine = self._engine, new
            busy = old is not None and self._in_flight.get(id(old), 0) > 0
            if old is not None and busy:
                self._retired[id(old)] = old
        if old is not None and not busy:
            old.close()

    def activate(self, release_id: str) -> releases.Release:
        """Open ``release_id``, then publish it: a release that fails to open never serves."""
        with self.switch_lock:
            try:
                release = releases.get_release(self.home, release_id)
            except releases.InvalidReleaseId as exc:
                problem = Problem("path.release_id", str(exc))
                raise BadReleaseId("not a valid release id", [problem]) from None
            except releases.ReleaseError:
                raise NotFound("no such release") from None
            engine = self._open(release)
            releases.switch_release(self.home, release.id)
            self._swap(engine)
            return release

    def rollback(self) -> releases.Release:
        with self.switch_lock:
            previous = releases.current_release(self.home)
            try:
                target = releases.rollback(self.home)
            except releases.ReleaseError as exc:
                raise ReleaseConflict(str(exc)) from None
            try:
                engine = self._open(target)
            except ReleaseConflict:
                if previous is not None:
                    releases.switch_release(self.home, previous.id)
                raise
            self._swap(engine)
            return target

    def _open(self, release: releases.Release) -> EngineLike:
        try:
            return self.factory(release, self.settings)
        except Exception:
            log.exception("release %s could not be opened", release.id)
            raise ReleaseConflict("the release could not be opened; see the server log") from None

    def close(self) -> None:
        with self._lock:
            engine, self._engine = self._engine, None
        if engine is not None:
            engine.close()


@dataclass(frozen=True, slots=True)
class Answered:
    entry: Entry
    canonical: str
    release: str
    cached: bool


class Service:
    """Everything a view needs, built once per app from the settings."""

    def __init__(
        self, settings: Settings, home: Path, factory: EngineFactory, *, metrics: bool = True
    ):
        """``metrics``: build the Prometheus counters now (a server, which counts from its
        first request); without, they are built when first read, and a process that serves
        no /metrics (`zicht query`) neither builds them nor imports prometheus_client."""
        self.settings = settings
        self.home = home
        self.engines = EngineHolder(home, settings, factory)
        self.cache = AnswerCache(
            settings.cache_size, settings.cache_ttl_s, settings.cache_max_bytes
        )
        self.queries = PreparedQueries(max(settings.cache_size, 256))
        # Audit log, rate-limit buckets and risk memory: shared by every worker process.
        self.store = open_store(settings, home)
        self.audited = 0  # records this process wrote (a /metrics counter)
        self.worker: int | None = None  # index of this worker process under `--workers N`
        self.salt = load_salt(home / "audit", settings.audit_salt)
        self.api_keys = parse_api_keys(settings.api_keys)
        self.monitor = RiskMonitor(
            settings.monitor_threshold,
            settings.monitor_window,
            settings.monitor_similar_limit,
            settings.monitor_small_cell_limit,
            self.store,
        )
        self.limiter = RateLimiter(
            settings.rate_limit_per_minute, settings.rate_limit_burst, store=self.store
        )
        self.runner = QueryRunner(settings.query_timeout_s, settings.threads * 2)
        self._metrics: Metrics | None = self._new_metrics() if metrics else None
        self.release_files = ReleaseFiles()
        self._polled = time.monotonic()
        self._flights: dict[tuple[str, str], Future[Any]] = {}
        self._flights_lock = threading.Lock()
        self._refused = ""
        self._roles: dict[tuple[str, str], tuple[str, ...]] = {}

    def answer(self, query: Query | Prepared, client: str, fmt: str) -> Answered:
        """Cache → engine (with the time limit) → audit (durable) → risk monitor."""
        prepared = query if isinstance(query, Prepared) else prepare(query)
        answered = self._answer(prepared, client, fmt, cached_only=False)
        assert answered is not None
        return answered

    def answer_cached(self, prepared: Prepared, client: str, fmt: str) -> Answered | None:
        """``answer`` if the answer is cached; else None, with nothing done or counted."""
        return self._answer(prepared, client, fmt, cached_only=True)

    def _answer(
        self, prepared: Prepared, client: str, fmt: str, *, cached_only: bool
    ) -> Answered | None:
        started = time.perf_counter()
        key = prepared.canonical
        with self.engines.use() as engine:
            release = engine.release_id
            entry = self.cache.get(release, key, count_miss=not cached_only)
            if entry is None and cached_only:
                return None
            cached = entry is not None
            if entry is None:
                answer = self._single_flight(engine, key, prepared.query)
                roles = self.roles(engine, prepared.query.cube)
                entry = self.cache.put(release, key, answer, roles)
        flags = self.monitor.record(
            client,
            prepared.query_id,
            prepared.comparable,
            prepared.shape,
            entry.population,
            entry.suppressed,
        )
        duration_ms = round((time.perf_counter() - started) * 1000, 3)
        # The same record as ``json.dumps`` of the dict below, built from parts encoded once
        # per query and per answer: {client, cube, query_id, query, release, format, cached,
        # cells, by_status, by_reason, risk_flags, engine_report (the engine's full report,
        # risk figures included, for the audit only), duration_ms}.
        fields = [
            '"client": ' + json.dumps(client),
            prepared.audit_fields,
            '"release": ' + json.dumps(release),
            '"format": ' + json.dumps(fmt),
            '"cached": ' + ("true" if cached else "false"),
            entry.audit_summary,
            '"risk_flags": ' + json.dumps([f.kind for f in flags]),
            '"engine_report": ' + entry.audit_report,
            '"duration_ms": ' + json.dumps(duration_ms),
        ]
        self.store.append_audit(", ".join(fields), client)  # durable before the answer goes
        self.audited += 1
        if self._metrics is not None:
            self._metrics.count_cells(entry.summary["by_status"])
        return Answered(entry, key, release, cached)

    @property
    def metrics(self) -> Metrics:
        if self._metrics is None:
            self._metrics = self._new_metrics()
        return self._metrics

    def _new_metrics(self) -> Metrics:
        from service.metrics import Metrics

        return Metrics(self.figures, self.counts, lambda: self.worker)

    def roles(self, engine: EngineLike, cube: str) -> tuple[str, ...]:
        """A cube's dimension roles in model order (the SDMX formats' key), once per release."""
        known = self._roles.get((engine.release_id, cube))
        if known is None:
            dims = engine.cube(cube).get("dimensions", [])
            known = self._roles[(engine.release_id, cube)] = tuple(d["id"] for d in dims)
        return known

    def _single_flight(self, engine: EngineLike, key: str, query: Query) -> Any:
        """Identical queries arriving together are computed once (a cold popular dashboard
        query must not run N times); the others wait for the first one's result."""
        flight = (engine.release_id, key)
        with self._flights_lock:
            pending = self._flights.get(flight)
            leader = pending is None
            if pending is None:
                pending = self._flights[flight] = Future()
        if not leader:
            try:
                return pending.result(timeout=self.settings.query_timeout_s)
            except FutureTimeout:
                raise QueryTimeout.after(self.settings.query_timeout_s) from None
        try:
            answer = self._run(engine, query)
            pending.set_result(answer)
            return answer
        except BaseException as exc:
            pending.set_exception(exc)
            raise
        finally:
            with self._flights_lock:
                self._flights.pop(flight, None)

    def _run(self, engine: EngineLike, query: Query) -> Any:
        # The worker holds its own reference: a query that outlives its request's time limit
        # keeps its engine open until it ends, even across a release switch.
        held = self.engines.hold(engine)

        def job() -> Any:
            try:
                return held.answer(query)
            finally:
                self.engines.release(held)

        return self.runner.run(job)

    def activate(self, release_id: str) -> releases.Release:
        release = self.engines.activate(release_id)
        self.cache.clear()
        self.release_files.warm(self.home, release.id)
        return release

    def rollback(self) -> releases.Release:
        release = self.engines.rollback()
        self.cache.clear()
        self.release_files.warm(self.home, release.id)
        return release

    def load_current(self) -> None:
        """Open the release ``current`` names, and start checking its files for /ready."""
        self.engines.load_current()
        if self.engines.release_id is not None:
            self.release_files.warm(self.home, self.engines.release_id)

    def counts(self) -> dict[str, int]:
        """This process's plain counts, read after every request for /metrics."""
        return {
            "cache_hits": self.cache.hits,
            "cache_misses": self.cache.misses,
            "cache_entries": len(self.cache),
            "cache_bytes": self.cache.bytes,
            "audit": self.audited,
            "rate_limited": self.limiter.refused,
            "timeouts": self.runner.timeouts,
        }

    def figures(self) -> dict[str, Any]:
        """What /metrics reports; it still answers when the state store is down (the risk
        figures, which live there, are then left out and ``store_up`` says why)."""
        try:
            summary: dict[str, Any] | None = self.monitor.summary()
        except StoreUnavailable:
            summary = None
        return {
            "cache_entries": len(self.cache),
            "cache_bytes": self.cache.bytes,
            "cache_hits": self.cache.hits,
            "cache_misses": self.cache.misses,
            "cache_hit_ratio": self.cache.hit_ratio,
            "store_up": summary is not None,
            "risk_flags": summary["flags"] if summary else None,
            "risk_clients": summary["clients"] if summary else None,
            "audit": self.audited,
            "rate_limited": self.limiter.refused,
            "timeouts": self.runner.timeouts,
            "release": self.engines.release_id,
        }

    def follow_current(self) -> None:
        """Serve what the ``current`` pointer names, if another process switched it.

        Checked at most every ``release_poll_s`` seconds, on the request path (a stat and a
        tiny read); a release that fails to open is logged once and not retried.
        """
        interval = self.settings.release_poll_s
        now = time.monotonic()
        if interval <= 0 or now - self._polled < interval:
            return
        self._polled = now
        try:
            wanted = (self.home / "current").read_text(encoding="utf-8").strip()
        except OSError:
            return
        if not wanted or wanted in (self.engines.release_id, self._refused):
            return
        if not self.engines.switch_lock.acquire(blocking=False):
            return  # a switch is under way
        self.engines.switch_lock.release()
        try:
            self.activate(wanted)
            log.info("now serving release %s (published elsewhere)", wanted)
        except UserError:
            self._refused = wanted

    def close(self) -> None:
        self.runner.shutdown()
        self.engines.close()
        self.store.close()
