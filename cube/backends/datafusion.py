"""Fact queries on Apache DataFusion, in process: the release's Parquet export (``zicht
export``) read where it lies, the planner's statements rendered from their trees in the
``datafusion`` entry of ``cube.dialects``.

What runs where: members, metadata and the model checks read the release's DuckDB file; the fact
scans and aggregations (values and disclosure statistics) run in DataFusion over the exported
facts and the exported rollup tables, as Spark reads them. Nothing starts outside the process:
no server, no JVM. One ``SessionContext`` per engine, shared by its threads (DataFusion plans and
runs statements from several threads at once).

Stopping a statement: DataFusion's Python API cannot cancel a running plan, so each statement
runs on a thread of its own; ``interrupt()`` makes the waiting ``rows()`` raise ``Interrupted``
at once (the query's time limit holds) while the plan runs to its end in the background and its
result is dropped. The planner's statements are bounded scans, so that end is near.

Limits: a local export only (a path or ``file://``), in clear keys (an export with encrypted
columns needs keys DataFusion is not given: refused when the engine opens).
"""

from __future__ import annotations

import threading
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cube.backend import BackendError, Interrupted, render_for
from cube.rollups import SCHEMA as ROLLUP_SCHEMA
from layout.facts import EXPORT_ROLLUP_DIR as ROLLUP_DIR

if TYPE_CHECKING:
    from cube.statement import Statement

POLL_S = 0.05  # how often a waiting rows() looks whether it was interrupted
DEFAULT_PARTITIONS = 2  # threads a statement's plan runs on (``target_partitions``)
# Filters evaluated while the Parquet pages are decoded (the cuts select a few gemeenten and
# years of rows in release order): 12 % less time over the bench mix at scale 0.3.
DEFAULT_CONF = {
    "datafusion.execution.parquet.pushdown_filters": "true",
    "datafusion.execution.parquet.reorder_filters": "true",
}


def export_problems(
    options: Mapping[str, str], facts: tuple[str, ...]
) -> tuple[dict[str, Path], list[str]]:
    """What the planner's SQL names (``fact``, ``zicht_rollups.table``) → its export directory,
    and every problem of the options and the export at once."""
    problems = []
    if options.get("encrypted_columns"):
        problems.append(
            "the datafusion backend reads exports in clear keys only: export with --clear-keys"
        )
    partitions = options.get("target_partitions") or str(DEFAULT_PARTITIONS)
    if not partitions.isdigit() or int(partitions) < 1:
        problems.append("target_partitions: a positive number of threads")
    memory = options.get("memory_limit_mb") or "0"
    if not memory.isdigit():
        problems.append("memory_limit_mb: a whole number of MiB (0: no limit)")
    location = options.get("parquet_dir", "")
    parts = urllib.parse.urlsplit(location)
    if not location:
        return {}, [*problems, "the release has no Parquet export: run `zicht export`"]
    if len(parts.scheme) > 1 and parts.scheme != "file":  # object storage: no credentials here
        return {}, [*problems, "the datafusion backend reads a local Parquet export only"]
    root = Path(parts.path if parts.scheme == "file" else location)
    rollups = tuple(t for t in (options.get("exported_rollups") or "").split(",") if t)
    found = {f: root / f for f in facts}
    found |= {f"{ROLLUP_SCHEMA}.{t}": root / ROLLUP_DIR / t for t in rollups}
    missing = [name for name, path in found.items() if not path.is_dir()]
    if missing:
        problems.append(
            f"the release has no Parquet export of {', '.join(missing)}: run `zicht export`"
        )
    return found, problems


def table_name(name: str) -> str:
    """The name a table is registered under (``zicht_rollups.t`` → ``zicht_rollups__t``)."""
    return name.replace(".", "__")


def to_datafusion(sql: Statement | str, tables: Mapping[str, str]) -> str:
    """``sql`` as DataFusion's SQL, tables renamed to the registered ones."""
    return render_for(sql, "datafusion", "DataFusion", tables)


def integers(table: Any) -> Any:
    """Exact integer sums (``DECIMAL(38, 0)``, ``cube.dialects``) as 64-bit integers, as
    DuckDB's and Spark's sums read; a checked cast: a sum that does not fit fails the query."""
    import pyarrow as pa

    for i, field in enumerate(table.schema):
        if pa.types.is_decimal(field.type) and field.type.scale == 0:
            table = table.set_column(i, field.name, table.column(i).cast(pa.int64()))
    return table


class DataFusionBackend:
    """One thread's backend on its engine's session."""

    name = "datafusion"

    def __init__(self, context: Any, tables: Mapping[str, str]):
        self.context = context
        self.tables = dict(tables)
        self._stopped = threading.Event()

    def rows(self, sql: Statement | str) -> tuple[list[str], list[tuple[Any, ...]]]:
        table = self._run(to_datafusion(sql, self.tables))
        columns = [col.to_pylist() for col in table.columns]
        return list(table.column_names), list(zip(*columns, strict=True))

    def _run(self, text: str) -> Any:
        self._stopped.clear()
        done = threading.Event()
        outcome: list[Any] = []

        def work() -> None:
            try:
                frame = self.context.sql(text)
                batches = frame.collect()
                import pyarrow as pa

                # the batches' schema (nullability may differ from the plan's)
                table = pa.Table.from_batches(batches) if batches else frame.schema().empty_table()
                outcome.append(integers(table))
            except BaseException as exc:  # handed to the waiting thread
                outcome.append(exc)
            finally:
                done.set()

        threading.Thread(target=work, name="zicht-datafusion", daemon=True).start()
        while not done.wait(POLL_S):
            if self._stopped.is_set():
                raise Interrupted
        if self._stopped.is_set():
            raise Interrupted
        result = outcome[0]
        if isinstance(result, BaseException):
            # DataFusion's messages quote the statement and its literals: never passed on
            raise BackendError(
                f"DataFusion could not run the query ({type(result).__name__})"
            ) from result
        return result

    def interrupt(self) -> None:
        self._stopped.set()


class DataFusionBackends:
    """Backend factory for one engine: the export registered once, a backend per thread."""

    def __init__(self, context: Any, tables: Mapping[str, str]):
        self.context, self.tables = context, dict(tables)

    def __call__(self, engine: Any) -> DataFusionBackend:
        return DataFusionBackend(self.context, self.tables)

    def close(self) -> None:
        for name in self.tables.values():
            self.context.deregister_table(name)


def open_datafusion(
    db_path: Path, facts: tuple[str, ...], options: Mapping[str, str]
) -> DataFusionBackends:
    """Options: ``parquet_dir`` (the export's local path, as the release's manifest names it),
    ``exported_rollups`` (the rollup tables it carries), ``encrypted_columns`` (refused when
    set), ``target_partitions`` (threads per statement, default 2), ``memory_limit_mb`` (the
    memory the engine's statements may hold together, sorts and aggregations spilling to
    temporary files past it; default 0: no limit) and any ``datafusion.*`` configuration key."""
    found, problems = export_problems(options, facts)  # before the session: fail fast
    if problems:
        raise BackendError("; ".join(problems))
    partitions = int(options.get("target_partitions") or DEFAULT_PARTITIONS)
    memory_mb = int(options.get("memory_limit_mb") or 0)
    try:
        import datafusion
    except ImportError:
        raise BackendError(
            "the datafusion backend needs datafusion: pip install 'zicht[datafusion]'"
        ) from None
    config = datafusion.SessionConfig().with_target_partitions(partitions)
    for key, value in {**DEFAULT_CONF, **options}.items():
        if key.startswith("datafusion."):
            try:
                config = config.set(key, value)
            except Exception as exc:  # DataFusion names the key and value: this says which
                raise BackendError(f"DataFusion refused setting {key[:80]}") from exc
    runtime = datafusion.RuntimeEnvBuilder()
    if memory_mb:  # shared by the engine's statements; past it a statement fails, never the process
        runtime = runtime.with_fair_spill_pool(memory_mb * 2**20).with_disk_manager_os()
    context = datafusion.SessionContext(config, runtime)
    tables = {}
    for name, path in found.items():
        tables[name] = table_name(name)
        try:
            context.register_parquet(tables[name], str(path))
        except Exception as exc:
            raise BackendError(
                f"DataFusion cannot read the Parquet export of {name} ({type(exc).__name__})"
            ) from exc
    return DataFusionBackends(context, tables)
