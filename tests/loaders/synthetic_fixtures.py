"""Shared, cached synthetic data for the generator tests: generated once per session."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from loaders import contracts
from loaders.synthetic import generate

SCALE = 0.005  # ~90,000 inhabitants: fast, yet enough events for the signal tests
SEED = 7
_CACHE: dict[tuple[float, int], tuple[Path, dict[str, int]]] = {}


def generated(factory: pytest.TempPathFactory, scale: float = SCALE, seed: int = SEED):
    """(directory, row counts) of one generator run, shared by every test module."""
    key = (scale, seed)
    if key not in _CACHE:
        out = factory.mktemp(f"synthetic-{seed}")
        _CACHE[key] = (out, generate(out, scale=scale, seed=seed))
    return _CACHE[key]


def connect(directory: Path) -> duckdb.DuckDBPyConnection:
    """In-memory DuckDB with one view per generated file (named as the dataset)."""
    con = duckdb.connect()
    for ds in contracts.DATASETS:
        path = directory / ds.file
        reader = "read_csv" if ds.file.endswith(".csv") else "read_parquet"
        extra = ", all_varchar = true" if reader == "read_csv" else ""
        con.execute(f"CREATE VIEW {ds.name} AS SELECT * FROM {reader}('{path}'{extra})")
    return con


def scalar(con: duckdb.DuckDBPyConnection, sql: str) -> float:
    row = con.execute(sql).fetchone()
    assert row is not None
    return row[0]
