"""Fact queries on Apache Spark: the release's facts as Parquet views, the planner's statements
rendered as Spark SQL from their trees (``cube.dialects``).

Where Spark runs: a Spark Connect server (master ``sc://host:port``; the service starts no JVM of
its own and talks gRPC, over TLS with a bearer token where configured), or for development a
master driven in-process (``local[N]``, ``spark://…``). What runs where: members, metadata and the
model checks read the release's DuckDB file (small); the fact scans and aggregations — values and
disclosure statistics — run on Spark, reading the Parquet export (``zicht export``) at a location
that Spark reaches (a local path for a local master; object storage or a shared file system for a
cluster). One session per process, shared by all threads; each thread's backend tags its
statements, so ``interrupt()`` cancels only its own query.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
import os
import threading
import time
import urllib.parse
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cube.backend import BackendError, Interrupted, render_for
from cube.rollups import SCHEMA as ROLLUP_SCHEMA
from layout.facts import EXPORT_ROLLUP_DIR as ROLLUP_DIR

if TYPE_CHECKING:
    from cube.statement import Statement

DEFAULT_CONF: dict[str, str] = {
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.ansi.enabled": "true",  # overflow fails loudly instead of wrapping a cell key
    "spark.driver.memory": "2g",
    "spark.ui.showConsoleProgress": "false",
}
# A local master's executors are threads of the driver: it listens on loopback only.
LOCAL_CONF: dict[str, str] = {
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
}
# What a Spark Connect client may set for its session: the SQL settings the answers depend on.
CONNECT_CONF = ("spark.sql.session.timeZone", "spark.sql.ansi.enabled")
CANCEL_WAIT_S = 60.0
CONNECT_RETRIES = 4
_session_lock = threading.Lock()
_group_ids = itertools.count(1)


def is_connect(master: str) -> bool:
    return master.startswith("sc://")


def connect_url(master: str, tls: bool = False, token: str = "") -> str:
    """``sc://host:port`` with the client's parameters (``/;use_ssl=true;token=…``)."""
    base = master.split("/;", 1)[0].rstrip("/")
    params = [p for p in master.split("/;", 1)[1].split(";") if p] if "/;" in master else []
    if tls:
        params.append("use_ssl=true")
    if token:
        params.append(f"token={urllib.parse.quote(token, safe='')}")
    return base + ("/;" + ";".join(params) if params else "")


def spark_session(
    master: str = "local[2]",
    conf: Mapping[str, str] | None = None,
    *,
    tls: bool = False,
    token: str = "",
) -> Any:
    """The process's session: a Spark Connect client, or an in-process driver (the JVM starts
    once)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise BackendError("the spark backend needs pyspark: pip install 'zicht[spark]'") from None
    with _session_lock:
        if is_connect(master):
            return _connect_session(SparkSession, master, conf or {}, tls, token)
        # A Spark Connect session made earlier in this process leaves pyspark's process-wide
        # switch on, and every later builder would then ask for a remote URL: a driver of our
        # own is asked for here, so the switch goes.
        os.environ.pop("SPARK_CONNECT_MODE_ENABLED", None)
        builder = (
            SparkSession.builder.master(master).appName("zicht").config("spark.api.mode", "classic")
        )
        local = LOCAL_CONF if master.startswith("local") else {}
        for key, value in {**DEFAULT_CONF, **local, **(conf or {})}.items():
            builder = builder.config(key, value)
        session = builder.getOrCreate()
        session.sparkContext.setLogLevel("ERROR")
        return session


def _connect_session(
    session_class: Any, master: str, conf: Mapping[str, str], tls: bool, token: str
) -> Any:
    try:
        # A session of its own (not getOrCreate: that returns any Connect session this process
        # already has, whatever server it talks to); the engine's close stops it.
        session = session_class.builder.remote(connect_url(master, tls, token)).create()
        _bounded_retries(session)
        session.version  # noqa: B018 -- the first call over the wire: reachable, TLS and token good
    except Exception as exc:  # grpc and pyspark errors: never echo the URL (it may hold a token)
        raise BackendError(f"cannot reach the Spark Connect server ({type(exc).__name__})") from exc
    settings = {k: DEFAULT_CONF[k] for k in CONNECT_CONF} | dict(conf)
    for key, value in settings.items():
        try:
            session.conf.set(key, value)
        except Exception as exc:
            raise BackendError(
                f"the Spark Connect server refused setting {key} ({type(exc).__name__}): "
                "set it on the server"
            ) from exc
    return session


def _bounded_retries(session: Any) -> None:
    """The client's default retries an unreachable server for about ten minutes; a query has
    seconds. A few quick retries ride out a restart; past them the query fails as a backend
    error. (The client takes its policy only through this attribute.)"""
    from pyspark.sql.connect.client.retries import DefaultPolicy

    client = getattr(session, "_client", None)
    if client is not None and hasattr(client, "set_retry_policies"):
        client.set_retry_policies([DefaultPolicy(max_retries=CONNECT_RETRIES, max_backoff=2000)])


def _is_local(location: str) -> bool:
    scheme = urllib.parse.urlsplit(location).scheme
    return len(scheme) <= 1 or scheme == "file"


def check_export(location: str, facts: tuple[str, ...], exported: tuple[str, ...]) -> None:
    """Before any session starts: the export exists and holds every fact the cubes read. A local
    export is checked on disk; a remote one by what the manifest lists (the service need not
    hold credentials for the store that Spark reads)."""
    if not location:
        raise BackendError("the release has no Parquet export: run `zicht export`")
    if _is_local(location):
        root = Path(urllib.parse.urlsplit(location).path if "://" in location else location)
        missing = [f for f in facts if not (root / f).is_dir()]
    else:
        missing = [f for f in facts if f not in exported]
    if missing:
        raise BackendError(
            f"the release has no Parquet export of {', '.join(missing)}: run `zicht export`"
        )


_VIEW_SETS = itertools.count(1)


def register_views(
    session: Any, location: str, facts: tuple[str, ...], rollups: tuple[str, ...] = ()
) -> dict[str, str]:
    """One temporary view per fact and per rollup table over its Parquet files; returns the
    name the planner's SQL uses (``fact``, ``zicht_rollups.table``) → view name. The files
    carry every column with its release type, so nothing is guessed from directory names."""
    # Names of this engine's own: an in-process driver is one session for the whole process,
    # and an engine closed after another opened on the same export (a reload) drops its views.
    tag = f"{hashlib.sha256(location.encode()).hexdigest()[:10]}_{next(_VIEW_SETS)}"
    base = location.rstrip("/")
    sources = [(f, f, f"{base}/{f}") for f in facts] + [
        (f"{ROLLUP_SCHEMA}.{t}", t, f"{base}/{ROLLUP_DIR}/{t}") for t in rollups
    ]
    views = {}
    for name, short, path in sources:
        try:
            frame = session.read.parquet(path)
        except Exception as exc:
            raise BackendError(
                f"Spark cannot read the Parquet export of {short} ({type(exc).__name__})"
            ) from exc
        views[name] = f"zicht_{tag}_{short}"
        frame.createOrReplaceTempView(views[name])
    return views


def to_spark(sql: Statement | str, tables: Mapping[str, str] | None = None) -> str:
    """``sql`` as Spark SQL, fact and rollup tables renamed to the backend's views."""
    return render_for(sql, "spark", "Spark", tables)


@functools.lru_cache(maxsize=256)
def _translated(sql: str, tables: tuple[tuple[str, str], ...]) -> str:
    return to_spark(sql, dict(tables))


class SparkBackend:
    """One thread's backend: its statements carry this backend's own tag (tags are per thread,
    in an in-process driver and in a Spark Connect client alike)."""

    name = "spark"

    def __init__(self, session: Any, views: Mapping[str, str]):
        self.session = session
        self.views = tuple(sorted(views.items()))
        self.tag = f"zicht-{next(_group_ids)}"
        self._stopped = threading.Event()
        self._idle = threading.Event()
        self._idle.set()

    def rows(self, sql: Statement | str) -> tuple[list[str], list[tuple[Any, ...]]]:
        if isinstance(sql, str):
            spark_sql = _translated(sql, self.views)
        else:
            spark_sql = to_spark(sql, dict(self.views))
        self._stopped.clear()
        self._idle.clear()
        self.session.addTag(self.tag)
        try:
            frame = self.session.sql(spark_sql)
            with warnings.catch_warnings():
                # pyspark reads results over a local socket it leaves to the garbage collector
                warnings.simplefilter("ignore", ResourceWarning)
                rows = frame.collect()
            columns = list(frame.columns)
        except Exception as exc:  # py4j, grpc and pyspark errors: never echo their SQL or values
            if self._stopped.is_set():
                raise Interrupted from None
            raise BackendError(f"Spark could not run the query ({type(exc).__name__})") from exc
        finally:
            self.session.removeTag(self.tag)
            self._idle.set()
        if self._stopped.is_set():
            raise Interrupted
        return columns, [tuple(r) for r in rows]

    def interrupt(self) -> None:
        """Interrupt this backend's tagged operations until its statement returns: one that Spark
        had not yet started at the first call would otherwise run on (up to ``CANCEL_WAIT_S``)."""
        self._stopped.set()
        deadline = time.monotonic() + CANCEL_WAIT_S
        while True:
            try:
                self.session.interruptTag(self.tag)
            except Exception:  # the session is going away: nothing left to interrupt
                return
            if self._idle.wait(0.25) or time.monotonic() > deadline:
                return


class SparkBackends:
    """Backend factory for one engine: views registered once, a backend per thread."""

    def __init__(self, session: Any, views: Mapping[str, str], owned: bool = False):
        self.session, self.views, self.owned = session, dict(views), owned

    def __call__(self, engine: Any) -> SparkBackend:
        return SparkBackend(self.session, self.views)

    def close(self) -> None:
        """Drop the views; a Spark Connect session of this engine's own is stopped too (an
        in-process driver serves the whole process and stays)."""
        try:
            for view in self.views.values():
                self.session.catalog.dropTempView(view)
        finally:
            if self.owned:
                with contextlib.suppress(Exception):  # the server may be gone: nothing to free
                    self.session.stop()


def open_spark(db_path: Path, facts: tuple[str, ...], options: Mapping[str, str]) -> SparkBackends:
    """Options: ``master`` (default ``local[2]``; ``sc://host:port`` for Spark Connect, with
    ``connect_tls`` and ``connect_token``), ``parquet_dir`` (the export's local path or URI, as
    the release's manifest names it), ``exported_facts`` (what a remote export holds, from the
    manifest), ``exported_rollups`` (the rollup tables the export carries) and any ``spark.*``
    configuration."""
    location = options.get("parquet_dir", "")
    exported = tuple(f for f in (options.get("exported_facts") or "").split(",") if f)
    rollups = tuple(t for t in (options.get("exported_rollups") or "").split(",") if t)
    check_export(location, facts, exported)  # before any session starts: fail fast
    conf = {k: v for k, v in options.items() if k.startswith("spark.")}
    master = options.get("master") or "local[2]"
    tls = options.get("connect_tls", "").lower() == "true"
    session = spark_session(master, conf, tls=tls, token=options.get("connect_token", ""))
    return SparkBackends(
        session, register_views(session, location, facts, rollups), owned=is_connect(master)
    )
