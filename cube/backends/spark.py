"""Fact queries on Apache Spark: the release's facts as Parquet views, the planner's SQL
translated to Spark SQL (``cube.backends.spark_sql``).

What runs where: members, metadata and the model checks read the release's DuckDB file (small);
the fact scans and aggregations — values and disclosure statistics — run on Spark, reading the
Parquet export (``zicht export``) that every executor must be able to reach (a shared file system
or object store for a cluster). One ``SparkSession`` per process, shared by all threads; each
thread's backend runs its statements in its own job group, so ``interrupt()`` cancels only its
own query.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import threading
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cube.backend import BackendError, Interrupted
from cube.backends.spark_sql import to_spark

DEFAULT_CONF: dict[str, str] = {
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.ansi.enabled": "true",  # overflow fails loudly instead of wrapping a cell key
    "spark.driver.memory": "2g",
    "spark.ui.showConsoleProgress": "false",
}
CANCEL_WAIT_S = 60.0
_session_lock = threading.Lock()
_group_ids = itertools.count(1)


def spark_session(master: str = "local[2]", conf: Mapping[str, str] | None = None) -> Any:
    """The process's SparkSession (created on first use: the JVM starts once)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise BackendError("the spark backend needs pyspark: pip install 'zicht[spark]'") from None
    with _session_lock:
        builder = SparkSession.builder.master(master).appName("zicht")
        for key, value in {**DEFAULT_CONF, **(conf or {})}.items():
            builder = builder.config(key, value)
        session = builder.getOrCreate()
        session.sparkContext.setLogLevel("ERROR")
        return session


def _facts_in(parquet_dir: Path, facts: tuple[str, ...]) -> dict[str, Path]:
    missing = [f for f in facts if not (parquet_dir / f).is_dir()]
    if missing:
        raise BackendError(
            f"the release has no Parquet export of {', '.join(missing)}: run `zicht export`"
        )
    return {f: parquet_dir / f for f in facts}


def register_views(session: Any, parquet_dir: Path, facts: tuple[str, ...]) -> dict[str, str]:
    """One temporary view per fact over its partitioned Parquet; returns fact → view name.

    The schema comes from a data file (the files keep the partition columns with their release
    types), so the directory names only serve partition pruning, never type guessing."""
    tag = hashlib.sha256(str(parquet_dir.absolute()).encode()).hexdigest()[:10]
    views = {}
    for fact, path in _facts_in(parquet_dir, facts).items():
        sample = next(path.rglob("*.parquet"), None)
        if sample is None:
            raise BackendError(f"the Parquet export of {fact} has no data files")
        schema = session.read.parquet(str(sample)).schema
        frame = session.read.schema(schema).option("basePath", str(path)).parquet(str(path))
        views[fact] = f"zicht_{tag}_{fact}"
        frame.createOrReplaceTempView(views[fact])
    return views


@functools.lru_cache(maxsize=2048)
def _translated(sql: str, tables: tuple[tuple[str, str], ...]) -> str:
    return to_spark(sql, dict(tables))


class SparkBackend:
    """One thread's backend: statements run in this backend's own Spark job group."""

    name = "spark"

    def __init__(self, session: Any, views: Mapping[str, str]):
        self.session = session
        self.views = tuple(sorted(views.items()))
        self.group = f"zicht-{next(_group_ids)}"
        self._stopped = threading.Event()
        self._idle = threading.Event()
        self._idle.set()

    def rows(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        spark_sql = _translated(sql, self.views)
        self._stopped.clear()
        self._idle.clear()
        context = self.session.sparkContext
        context.setJobGroup(self.group, "zicht query", interruptOnCancel=True)
        try:
            frame = self.session.sql(spark_sql)
            with warnings.catch_warnings():
                # pyspark reads results over a local socket it leaves to the garbage collector
                warnings.simplefilter("ignore", ResourceWarning)
                rows = frame.collect()
        except Exception as exc:  # py4j and pyspark errors: never echo their SQL or values
            if self._stopped.is_set():
                raise Interrupted from None
            raise BackendError(f"Spark could not run the query ({type(exc).__name__})") from exc
        finally:
            context.setLocalProperty("spark.jobGroup.id", None)
            self._idle.set()
        if self._stopped.is_set():
            raise Interrupted
        return list(frame.columns), [tuple(r) for r in rows]

    def interrupt(self) -> None:
        """Cancel this backend's job group until its statement returns: a job that Spark had
        not yet submitted at the first cancel would otherwise run on (up to ``CANCEL_WAIT_S``)."""
        self._stopped.set()
        deadline = time.monotonic() + CANCEL_WAIT_S
        while True:
            self.session.sparkContext.cancelJobGroup(self.group)
            if self._idle.wait(0.25) or time.monotonic() > deadline:
                return


class SparkBackends:
    """Backend factory for one engine: views registered once, a backend per thread."""

    def __init__(self, session: Any, views: Mapping[str, str]):
        self.session, self.views = session, dict(views)

    def __call__(self, engine: Any) -> SparkBackend:
        return SparkBackend(self.session, self.views)

    def close(self) -> None:
        for view in self.views.values():
            self.session.catalog.dropTempView(view)


def open_spark(db_path: Path, facts: tuple[str, ...], options: Mapping[str, str]) -> SparkBackends:
    """Options: ``master`` (default ``local[2]``), ``parquet_dir`` (default: ``parquet`` beside
    the release's DuckDB file), and any ``spark.*`` configuration."""
    parquet_dir = Path(options.get("parquet_dir") or db_path.parent / "parquet")
    _facts_in(parquet_dir, facts)  # before the JVM starts: a missing export fails fast
    conf = {k: v for k, v in options.items() if k.startswith("spark.")}
    session = spark_session(options.get("master") or "local[2]", conf)
    return SparkBackends(session, register_views(session, parquet_dir, facts))
