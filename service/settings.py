"""Service settings, declared once as data (datasette's ``Setting(name, default, help)``).

Each field of ``Settings`` carries its help text in its metadata, so name, type, default and
help live in one place. Values load in layers: defaults → an optional TOML or YAML file
(``--config`` or ``ZICHT_CONFIG``) → environment variables ``ZICHT_<NAME>`` → explicit
overrides (command-line options). The result is one frozen object passed down explicitly.

``docs/settings.md`` is generated from these declarations (``python -m service.settings``) and a
test fails when it is out of date.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from loaders.files import FileModes, group_id

ENV_PREFIX = "ZICHT_"
ENV_CONFIG = "ZICHT_CONFIG"
# The PostgreSQL store's connection string: only ever from the environment (it may hold a
# password), so it is in no settings file, no settings page and no log.
DSN_ENV = "ZICHT_STORE_DSN"
BACKENDS = ("duckdb", "datafusion", "spark")  # cube.backends.OPENERS (not imported: no engine here)
STORES = ("embedded", "postgresql")
SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def _s(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True, slots=True)
class Settings:
    home: str = _s(
        "",
        "Data directory with releases and the audit log (empty: $ZICHT_HOME or "
        "~/.local/share/zicht).",
    )
    host: str = _s("127.0.0.1", "Address `zicht serve` listens on.")
    port: int = _s(8000, "TCP port `zicht serve` listens on.")
    threads: int = _s(4, "Worker threads of the WSGI server (waitress), in each worker process.")
    workers: int = _s(
        0,
        "Worker processes of `zicht serve` (0: one per core). Each serves the current release "
        "with its own engine, cache and threads; they share the audit log, the rate limits and "
        "the risk monitor through the state store (`store`).",
    )
    duckdb_threads: int = _s(
        0,
        "Threads each worker process's DuckDB runs a statement on, and on which it protects "
        "the measures of a table of 4,000 cells or more at once (1: in turn) (0: the cores "
        "divided among the worker processes, at least 1, so that several workers do not "
        "oversubscribe them; `zicht query`: one per core).",
    )
    store: str = _s(
        "embedded",
        "Where the audit log, rate-limit buckets and risk-monitor memory live: `embedded` (one "
        "machine: `<home>/audit/` JSON Lines and `<home>/state/state.sqlite3`, no server) or "
        f"`postgresql` (several machines; the connection string is read from `{DSN_ENV}` only, "
        "never from a file, and never logged).",
    )
    store_schema: str = _s("zicht", "PostgreSQL schema of the store's tables (created if missing).")
    send_buffer_bytes: int = _s(
        1_048_576,
        "Socket send buffer of each connection in bytes (`SO_SNDBUF`; 0: the system's default). "
        "waitress writes an answer in pieces of this size: a large one lets a dashboard answer "
        "of a few hundred kB go out in one system call.",
    )
    fast_path: bool = _s(
        True,
        "Answer cached GET aggregate requests on a lean path beside Flask (`service/fastpath.py`): "
        "the same responses and the same audit, rate limit and monitor, at a fraction of the cost.",
    )
    max_cells: int = _s(100_000, "Largest number of cells one answer may have (else 422).")
    query_timeout_s: float = _s(
        10.0, "Time limit of one query in seconds (else 503 `query_timeout`)."
    )
    max_body_bytes: int = _s(65_536, "Largest accepted request body in bytes (else 413).")
    cache_size: int = _s(2048, "Answers kept in the in-memory cache (0 disables caching).")
    cache_max_bytes: int = _s(
        67_108_864,
        "Bytes the answer cache may hold in each worker process (estimated per answer, rendered "
        "bodies included; the least recently used answers go first; 0 disables caching). "
        "Memory stays flat under load whatever the answers' sizes.",
    )
    cache_ttl_s: float = _s(600.0, "Seconds an answer stays in the cache.")
    http_max_age_s: int = _s(300, "`Cache-Control: max-age` sent with cacheable GET answers.")
    rate_limit_per_minute: float = _s(
        600.0, "Sustained requests per minute per client (token bucket; 0 disables the limit)."
    )
    rate_limit_burst: int = _s(60, "Requests a client may send at once before the rate limit.")
    admin_token: str = _s(
        "", "Bearer token for /api/v1/admin (empty: admin resources refuse every request)."
    )
    api_keys: str = _s(
        "",
        "Known API keys as `id=key,id2=key2`; a client sending `X-API-Key` is audited by key id.",
    )
    audit_salt: str = _s(
        "",
        "Salt for hashing client addresses in the audit log (empty: a "
        "random salt kept in <home>/audit/.salt).",
    )
    trust_forwarded_for: bool = _s(
        False, "Take the client address from `X-Forwarded-For` (only behind a trusted proxy)."
    )
    cors_origins: str = _s(
        "", "CORS: comma-separated allowed origins, `*` for any, empty for no cross-origin access."
    )
    monitor_threshold: int = _s(
        10,
        "Risk monitor: flag two answers for one client whose "
        "populations differ by fewer units than this.",
    )
    monitor_window: int = _s(200, "Risk monitor: recent answers remembered per client.")
    monitor_similar_limit: int = _s(
        30,
        "Risk monitor: near-identical queries (same shape, "
        "other cut) per client in the window before a flag.",
    )
    monitor_small_cell_limit: int = _s(
        100,
        "Risk monitor: suppressed cells one client may receive in the window before a sweep flag.",
    )
    release_poll_s: float = _s(
        5.0,
        "Seconds between checks of the data home's `current` pointer: a release published or "
        "rolled back by `zicht load`/`zicht releases` is picked up without a restart (0: never).",
    )
    log_level: str = _s("INFO", "Python logging level of the service.")
    backend: str = _s(
        "duckdb",
        "Where fact queries run: `duckdb` (embedded, the release's file), `datafusion` (Apache "
        "DataFusion in the service's process over the release's local Parquet export in clear "
        "keys, `pip install 'zicht[datafusion]'`) or `spark` (the release's Parquet export; see "
        "`zicht export`). Members and metadata stay on DuckDB.",
    )
    spark_master: str = _s(
        "local[2]",
        "Where Spark runs when `backend` is `spark`: a Spark Connect server `sc://host:port` "
        "(the service starts no JVM of its own), or for development a master the service "
        "drives in-process (`local[N]`, `spark://host:7077`).",
    )
    spark_conf: str = _s(
        "",
        "Spark configuration for `backend: spark`, `key=value` pairs separated by `;` (e.g. "
        "`spark.executor.memory=4g;spark.sql.shuffle.partitions=64`); every key starts with "
        "`spark.`. With Spark Connect only session (SQL) settings can be set from here; the "
        "cluster's own settings belong to the Spark Connect server.",
    )
    spark_connect_tls: bool = _s(False, "Talk to the Spark Connect server over TLS.")
    spark_connect_token: str = _s(
        "",
        "Bearer token sent to the Spark Connect server (needs `spark_connect_tls`: a token never "
        "travels in clear). Give it in the environment, not in a file others can read.",
    )
    datafusion_threads: int = _s(
        2, "Threads each DataFusion statement runs on when `backend` is `datafusion`."
    )
    datafusion_memory_limit_mb: int = _s(
        0,
        "Memory (MiB) the DataFusion statements of one worker may hold together when `backend` "
        "is `datafusion`; grouping spills to temporary files past it, and a statement that "
        "cannot spill fails instead of the process (0: no limit).",
    )
    file_group: str = _s(
        "",
        "Group (name or id) that may read releases, exports, demo inputs and the audit log: "
        "they are created 0640 in directories 0750, owned by this group (empty: 0600 and 0700, "
        "owner only). Read by `zicht serve`, `load`, `demo`, `export` and `rollups`.",
    )

    connection_limit: int = _s(
        1000,
        "Open client connections `zicht serve` accepts at once; more wait in the listen backlog. "
        "Slow or idle clients are closed by `header_timeout_s` and `idle_timeout_s`, so they "
        "cannot hold all of them for long.",
    )
    header_timeout_s: float = _s(
        10.0,
        "Seconds a client may take to send one whole request (headers and body) from its "
        "first byte; a slower connection is closed (slowloris).",
    )
    idle_timeout_s: float = _s(
        30.0,
        "Seconds a connection may stay idle (keep-alive between requests) before it is closed.",
    )
    shutdown_drain_s: float = _s(
        10.0,
        "On SIGTERM or SIGINT `zicht serve` stops accepting connections and lets requests in "
        "flight finish for at most this many seconds, then syncs the audit log and exits 0.",
    )

    store_retention_days: float = _s(
        30.0,
        "Days the state store keeps a client's risk-monitor answers, the risk flags and "
        "rate-limit buckets after they were last written: a client not seen for longer is "
        "forgotten (the audit log, which also lists each answer's flags, is never pruned). "
        "Checked about once a minute by each worker.",
    )
    store_max_rows: int = _s(
        1_000_000,
        "Most rows the state store keeps in each of its tables (risk-monitor answers, risk "
        "flags, rate-limit buckets): beyond it the oldest go first, so many one-off clients "
        "cannot fill the disk.",
    )


@dataclass(frozen=True, slots=True)
class Setting:
    name: str
    default: Any
    type: type
    help: str

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()


_TYPES: dict[str, type] = {"str": str, "int": int, "float": float, "bool": bool}

SETTINGS: tuple[Setting, ...] = tuple(
    Setting(f.name, f.default, _TYPES[str(f.type)], f.metadata["help"])
    for f in fields(Settings)
    if f.default is not MISSING
)
BY_NAME = {s.name: s for s in SETTINGS}


class SettingsError(Exception):
    """Settings that cannot be used; ``problems`` lists every one of them."""

    def __init__(self, problems: list[str]):
        super().__init__("invalid settings: " + "; ".join(problems))
        self.problems = problems


def convert(setting: Setting, raw: Any) -> Any:
    """Convert a raw value (file or environment) to the setting's type, or raise ValueError."""
    if setting.type is bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off", ""):
            return False
        raise ValueError(f"expected a boolean, got {raw!r}")
    if setting.type is int and isinstance(raw, bool | float):
        raise ValueError(f"expected an integer, got {raw!r}")
    try:
        return setting.type(raw)
    except (TypeError, ValueError):
        raise ValueError(f"expected {setting.type.__name__}, got {raw!r}") from None


def read_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a TOML (``.toml``) or YAML (``.yaml``/``.yml``) settings file into a flat dict."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError([f"cannot read settings file {p}: {exc.strerror}"]) from None
    import tomllib  # a process without a settings file parses neither TOML nor YAML

    import yaml

    try:
        data = tomllib.loads(text) if p.suffix == ".toml" else yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError):
        raise SettingsError([f"settings file {p} is not valid TOML/YAML"]) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SettingsError([f"settings file {p} must hold a mapping of setting names"])
    return data


def load_settings(
    config: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Defaults → file → environment → overrides; collects every problem before raising."""
    env = os.environ if environ is None else environ
    problems: list[str] = []
    values: dict[str, Any] = {}
    config = config or env.get(ENV_CONFIG)
    layers: list[tuple[str, Mapping[str, Any]]] = []
    if config:
        layers.append((f"file {config}", read_file(config)))
    layers.append(("environment", {s.name: env[s.env] for s in SETTINGS if s.env in env}))
    layers.append(("option", {k: v for k, v in (overrides or {}).items() if v is not None}))
    for where, layer in layers:
        for name, raw in layer.items():
            setting = BY_NAME.get(name)
            if setting is None:
                problems.append(f"{where}: unknown setting {name!r}")
                continue
            try:
                values[name] = convert(setting, raw)
            except ValueError as exc:
                problems.append(f"{where}: {name}: {exc}")
    settings = replace(Settings(), **values)
    problems.extend(validate(settings))
    if settings.store == "postgresql" and not env.get(DSN_ENV):
        problems.append(f"store: `postgresql` needs its connection string in ${DSN_ENV}")
    if problems:
        raise SettingsError(problems)
    return settings


def validate(s: Settings) -> list[str]:
    """Range checks that no single type conversion can express."""
    problems = []
    for name in (
        "port",
        "threads",
        "max_cells",
        "max_body_bytes",
        "monitor_window",
        "connection_limit",
        "store_max_rows",
    ):
        if getattr(s, name) < 1:
            problems.append(f"{name}: must be at least 1")
    for name in (
        "cache_size",
        "cache_max_bytes",
        "duckdb_threads",
        "cache_ttl_s",
        "http_max_age_s",
        "rate_limit_per_minute",
        "release_poll_s",
        "send_buffer_bytes",
        "shutdown_drain_s",
    ):
        if getattr(s, name) < 0:
            problems.append(f"{name}: must not be negative")
    if s.store_retention_days <= 0:
        problems.append("store_retention_days: must be positive")
    if s.query_timeout_s <= 0:
        problems.append("query_timeout_s: must be positive")
    if s.datafusion_threads < 1:
        problems.append("datafusion_threads: must be at least 1")
    if s.datafusion_memory_limit_mb < 0:
        problems.append("datafusion_memory_limit_mb: must not be negative (0: no limit)")
    if s.backend not in BACKENDS:
        problems.append("backend: must be `duckdb`, `datafusion` or `spark`")
    if s.store not in STORES:
        problems.append("store: must be `embedded` or `postgresql`")
    if not SCHEMA_NAME.fullmatch(s.store_schema):
        problems.append("store_schema: must be a lower-case SQL name (a-z, 0-9, _)")
    if s.workers < 0:
        problems.append("workers: must not be negative (0: one per core)")
    problems.extend(spark_problems(s))
    if s.rate_limit_burst < 1:
        problems.append("rate_limit_burst: must be at least 1")
    try:
        parse_api_keys(s.api_keys)
    except ValueError as exc:
        problems.append(f"api_keys: {exc}")
    if s.file_group:
        try:
            group_id(s.file_group)
        except KeyError:
            problems.append(f"file_group: no group {s.file_group!r} on this system")
    for name in ("header_timeout_s", "idle_timeout_s"):
        if getattr(s, name) <= 0:
            problems.append(f"{name}: must be positive")
    return problems


def parse_spark_conf(text: str) -> dict[str, str]:
    """``spark.a=1;spark.b=x`` → {key: value}; ValueError names a bad item (never a value)."""
    conf: dict[str, str] = {}
    for n, item in enumerate(filter(None, (p.strip() for p in text.split(";")))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip().startswith("spark."):
            raise ValueError(f"item {n + 1}: expected `spark.<name>=<value>`")
        conf[key.strip()] = value.strip()
    return conf


def spark_problems(s: Settings) -> list[str]:
    problems = []
    try:
        parse_spark_conf(s.spark_conf)
    except ValueError as exc:
        problems.append(f"spark_conf: {exc}")
    if s.spark_connect_token and not s.spark_connect_tls:
        problems.append("spark_connect_token: needs spark_connect_tls (no token in clear)")
    if (s.spark_connect_token or s.spark_connect_tls) and not s.spark_master.startswith("sc://"):
        problems.append("spark_connect_tls/token: only for a Spark Connect master (sc://)")
    return problems


def file_modes(home: str | None = None) -> FileModes:
    """The modes for files a command writes, from the ``file_group`` setting (environment or
    ``ZICHT_CONFIG``): for the commands other than ``serve``, which take no ``--config``."""
    return FileModes(load_settings(overrides={"home": home}).file_group)


def parse_api_keys(text: str) -> dict[str, str]:
    """``id=key,id2=key2`` → {key: id}."""
    keys: dict[str, str] = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        key_id, sep, key = item.partition("=")
        if not sep or not key_id or not key:
            raise ValueError("expected `id=key` items separated by commas")
        keys[key] = key_id
    return keys


def render_doc() -> str:
    """The Markdown page ``docs/settings.md`` (generated; do not edit by hand)."""
    lines = [
        "# Service settings",
        "",
        "<!-- Generated by `python -m service.settings > docs/settings.md`; do not edit. -->",
        "",
        "Settings load in layers: defaults, then an optional TOML or YAML file (`zicht serve "
        "--config FILE` or `ZICHT_CONFIG`), then environment variables `ZICHT_<NAME>`, then "
        "command-line options. Unknown names and bad values are all reported at once.",
        "",
        "| name | environment | type | default | meaning |",
        "|---|---|---|---|---|",
    ]
    for s in SETTINGS:
        default = f"`{s.default!r}`" if s.default != "" else "(empty)"
        lines.append(f"| `{s.name}` | `{s.env}` | {s.type.__name__} | {default} | {s.help} |")
    from loaders.load import DEFAULT_MEMORY_LIMIT, ENV_MEMORY_LIMIT

    lines += [
        "",
        "## Loading",
        "",
        "`zicht load` and `zicht demo` read one more variable (not a service setting):",
        "",
        "| environment | default | meaning |",
        "|---|---|---|",
        f"| `{ENV_MEMORY_LIMIT}` | `{DEFAULT_MEMORY_LIMIT}` | DuckDB's memory limit while a load "
        "builds a release and its rollups (`SET memory_limit`, e.g. `4GB`; `zicht rollups` "
        "too); beyond it DuckDB spills to the load's staging directory (the rollups: a "
        "temporary directory beside the release), removed afterwards. |",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render_doc())
