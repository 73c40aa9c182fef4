"""Backends by name: ``duckdb`` (embedded, the default), ``spark`` and ``datafusion`` (both
read the release's Parquet export); another engine (Trino, ...) registers an opener here.

An opener takes the release's DuckDB file, the fact tables and string options, and returns a
factory that gives each thread its backend (``Engine.backend_factory``); ``None`` means the
engine's own DuckDB cursor. A factory may have ``close()``, called when the engine closes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from cube.backend import BackendError


def _open_duckdb(db_path: Path, facts: tuple[str, ...], options: Mapping[str, str]) -> None:
    return None


def _open_spark(db_path: Path, facts: tuple[str, ...], options: Mapping[str, str]) -> Any:
    from cube.backends.spark import open_spark  # imported late: pyspark is an optional extra

    return open_spark(db_path, facts, options)


def _open_datafusion(db_path: Path, facts: tuple[str, ...], options: Mapping[str, str]) -> Any:
    from cube.backends.datafusion import open_datafusion  # imported late: an optional extra

    return open_datafusion(db_path, facts, options)


Opener = Callable[[Path, tuple[str, ...], Mapping[str, str]], Any]
OPENERS: dict[str, Opener] = {
    "duckdb": _open_duckdb,
    "spark": _open_spark,
    "datafusion": _open_datafusion,
}
NAMES = tuple(OPENERS)


def open_backend(
    name: str, db_path: Path, facts: tuple[str, ...], options: Mapping[str, str] | None = None
) -> Any:
    """The per-thread backend factory for backend ``name`` (None: the embedded DuckDB)."""
    opener = OPENERS.get(name)
    if opener is None:
        raise BackendError(f"unknown backend {name[:40]!r}; known: {', '.join(NAMES)}")
    return opener(db_path, facts, options or {})
