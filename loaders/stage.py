"""Finding the input files and copying them into the staging database.

Each dataset may come as ``<stem>.parquet`` or ``<stem>.csv``. A file is copied once into a
staging table ``src_<dataset>`` with its original column types (CSV: all text, so that a bad
value is reported instead of failing the read) plus ``__row``, the 1-based data row number
(for CSV the header line is not counted), so every problem can name its row.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from loaders.contracts import DATASETS, Dataset
from loaders.problems import LoadProblem

SQL_TYPES = {
    "int64": "BIGINT",
    "int32": "INTEGER",
    "int16": "SMALLINT",
    "string": "VARCHAR",
    "bool": "BOOLEAN",
    "date": "DATE",
    "float64": "DOUBLE",
}
EXTENSIONS = (".parquet", ".csv")


@dataclass(frozen=True, slots=True)
class Source:
    dataset: Dataset
    path: Path

    @property
    def table(self) -> str:
        return f"src_{self.dataset.name}"


def find_sources(directory: Path) -> tuple[list[Source], list[LoadProblem]]:
    """The input file of every dataset, and problems for missing or ambiguous ones."""
    sources: list[Source] = []
    problems: list[LoadProblem] = []
    for ds in DATASETS:
        stem = Path(ds.file).stem
        found = [
            directory / f"{stem}{ext}"
            for ext in EXTENSIONS
            if (directory / f"{stem}{ext}").is_file()
        ]
        if len(found) > 1:
            problems.append(
                LoadProblem(f"{stem}.*", None, None, "both a .parquet and a .csv file: keep one")
            )
        elif found:
            sources.append(Source(ds, found[0]))
        elif ds.required:
            problems.append(
                LoadProblem(
                    ds.file, None, None, f"missing file (expected {stem}.parquet or {stem}.csv)"
                )
            )
    return sources, problems


def stage_source(con: duckdb.DuckDBPyConnection, source: Source) -> LoadProblem | None:
    """Make one file queryable as ``src_<dataset>``; a problem if it cannot be read at all.

    Parquet is columnar and typed, so it is read in place through a view (copying 180 M rows
    into the work database would cost more than all checks together). CSV is copied once
    into a table with every column as text, so a bad value is reported instead of failing.
    """
    path = str(source.path).replace("'", "''")
    if source.path.suffix == ".parquet":
        kind = "Parquet"
        query = (
            f"CREATE VIEW {source.table} AS SELECT file_row_number + 1 AS __row, "
            f"* EXCLUDE (file_row_number) FROM read_parquet('{path}', file_row_number = true)"
        )
    else:
        kind = "CSV"
        query = (
            f"CREATE TABLE {source.table} AS SELECT row_number() OVER () AS __row, * "
            f"FROM read_csv('{path}', header = true, all_varchar = true, auto_detect = true)"
        )
    try:
        con.execute(query)
        con.execute(f"SELECT count(*) FROM {source.table}").fetchone()
    except duckdb.Error:
        # The engine's message may quote file contents, so it is not passed on.
        con.execute(f"DROP VIEW IF EXISTS {source.table}")
        return LoadProblem(source.path.name, None, None, f"cannot be read as a {kind} file")
    return None


def column_types(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = $t ORDER BY ordinal_position",
        {"t": table},
    ).fetchall()
    return {name: dtype for name, dtype in rows if name != "__row"}


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, rows: list[tuple[Any, ...]]) -> None:
    """Insert Python rows via Arrow (``executemany`` is slow in DuckDB: ~2 s for 4,000 rows)."""
    if not rows:
        return
    names = [f"c{i}" for i in range(len(rows[0]))]
    data = pa.Table.from_pylist([dict(zip(names, r, strict=True)) for r in rows])
    con.register("_rows", data)
    try:
        con.execute(f"INSERT INTO {table} SELECT * FROM _rows")
    finally:
        con.unregister("_rows")
