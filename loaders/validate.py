"""Validation of the staged input tables against the data contracts, in SQL.

Every check runs over whole tables and **all** problems are collected. Per check at most
``MAX_EXAMPLES`` rows are reported one by one, followed by a count of the rest, so a file with a
million bad rows gives a readable, bounded report. Kinds of problem: missing file or column,
extra column (a warning: the column is ignored), wrong type (a value that does not cast), empty
value in a required column, value not in the code list, unknown region code, impossible date
(unparsable or outside the contract years), value out of range (e.g. a negative amount),
duplicate key, dangling reference.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import duckdb

from dimensions import codelists, regions
from loaders import reference
from loaders.contracts import YEAR_MAX, YEAR_MIN, Column, Dataset
from loaders.problems import WARNING, LoadProblem
from loaders.stage import SQL_TYPES, Source, column_types, insert_rows

MAX_EXAMPLES = 20
_INTEGERS = (
    "BIGINT",
    "INTEGER",
    "SMALLINT",
    "TINYINT",
    "UBIGINT",
    "UINTEGER",
    "USMALLINT",
    "UTINYINT",
    "HUGEINT",
)
# Source types a TRY_CAST can convert to any contract type; others are rejected per column.
_CASTABLE = (
    "VARCHAR",
    "BIGINT",
    "INTEGER",
    "SMALLINT",
    "TINYINT",
    "UBIGINT",
    "UINTEGER",
    "USMALLINT",
    "UTINYINT",
    "HUGEINT",
    "DOUBLE",
    "FLOAT",
    "BOOLEAN",
    "DATE",
    "TIMESTAMP",
    "TIMESTAMP WITH TIME ZONE",
    "TIMESTAMP_NS",
    "TIMESTAMP_MS",
    "TIMESTAMP_S",
    "DECIMAL",
)


@dataclass(frozen=True, slots=True)
class Check:
    """One row-level condition: rows where ``condition`` holds are reported with ``message``."""

    column: str
    condition: str  # SQL over the staging table; true for a bad row
    message: str  # may contain {value}
    show_value: bool = True


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def typed(column: Column, source_type: str, alias: str = "") -> str:
    """SQL for the column's value in its contract type (NULL where it does not cast)."""
    target, name = SQL_TYPES[column.type], alias + _q(column.name)
    return name if source_type == target else f"TRY_CAST({name} AS {target})"


def _codes(column: Column) -> frozenset[str]:
    if column.codelist == "sbi_division":
        return reference.sbi_divisions()
    assert column.codelist is not None
    return codelists.BY_NAME[column.codelist].values


def column_checks(column: Column, source_type: str) -> list[Check]:
    """All row-level checks of one present column."""
    name, v = _q(column.name), typed(column, source_type)
    checks: list[Check] = []
    if source_type != SQL_TYPES[column.type]:
        what = "a valid date (YYYY-MM-DD)" if column.type == "date" else f"of type {column.type}"
        bad = f"{v} IS NULL"
        if column.type.startswith("int") and source_type not in _INTEGERS:
            # A cast to an integer rounds '3.5' to 4: a fraction must be an error instead.
            bad = f"({bad} OR {v} <> TRY_CAST({name} AS DOUBLE))"
        checks.append(
            Check(column.name, f"{name} IS NOT NULL AND {bad}", f"value {{value}} is not {what}")
        )
    if not column.nullable:
        checks.append(
            Check(column.name, f"{name} IS NULL", "empty value in a required column", False)
        )
    if column.min is not None and column.type != "date":
        checks.append(
            Check(
                column.name,
                f"{v} < {column.min}",
                f"value {{value}} is below the minimum {column.min:g}",
            )
        )
    if column.max is not None and column.type != "date":
        checks.append(
            Check(
                column.name,
                f"{v} > {column.max}",
                f"value {{value}} is above the maximum {column.max:g}",
            )
        )
    if column.type == "date":
        first = int(column.min) if column.min is not None else YEAR_MIN
        last = int(column.max) if column.max is not None else YEAR_MAX
        checks.append(
            Check(
                column.name,
                f"year({v}) NOT BETWEEN {first} AND {last}",
                f"impossible date {{value}}: outside the years {first}-{last}",
            )
        )
    if column.codelist:
        allowed = ", ".join(_lit(c) for c in sorted(_codes(column)))
        checks.append(
            Check(
                column.name,
                f"{v} NOT IN ({allowed})",
                f"value {{value}} is not in the code list {column.codelist}",
            )
        )
    if column.ref == "region:wijk":
        checks.append(
            Check(
                column.name,
                f"{v} NOT IN (SELECT code FROM ref_wijk)",
                "unknown wijk code {value} (not a 2023 CBS wijk)",
            )
        )
    return checks


def buurt_checks(types: dict[str, str]) -> list[Check]:
    """Buurt codes are BU + 8 digits whose first 6 are the digits of their wijk."""
    if "buurt_code" not in types:
        return []
    checks = [
        Check(
            "buurt_code",
            "NOT regexp_full_match(buurt_code, 'BU[0-9]{4}[0-9A-Z]{2}[0-9]{2}')",
            "buurt code {value} is not BU + 8 characters (wijk part + 2 digits)",
        )
    ]
    if "wijk_code" in types:
        checks.append(
            Check(
                "buurt_code",
                "regexp_full_match(buurt_code, 'BU[0-9]{4}[0-9A-Z]{2}[0-9]{2}') "
                "AND substr(buurt_code, 3, 6) <> substr(wijk_code, 3, 6)",
                "buurt code {value} does not lie in its wijk_code (characters 1-6 must match)",
            )
        )
    return checks


def create_reference_tables(con: duckdb.DuckDBPyConnection) -> None:
    # a table of the work database, not a temporary one: every cursor sees it
    con.execute("CREATE OR REPLACE TABLE ref_wijk (code VARCHAR PRIMARY KEY)")
    insert_rows(con, "ref_wijk", [(w.code,) for w in regions.wijken()])


# Files checked at the same time, each on a cursor of its own: one file's scan or duplicate
# search keeps DuckDB's threads only partly busy, so two of them fill a 2-core machine.
WORKERS = 2


def validate(con: duckdb.DuckDBPyConnection, sources: Iterable[Source]) -> list[LoadProblem]:
    """All problems of the staged sources (errors and warnings), in the order of the sources
    and, per source, of the checks, however the files were scheduled."""
    create_reference_tables(con)
    sources = list(sources)
    types_by_name = {s.dataset.name: column_types(con, s.table) for s in sources}
    damaged: set[str] = set()  # files that broke while being read: checked no further

    def own(cur: duckdb.DuckDBPyConnection, src: Source) -> list[LoadProblem]:
        types = types_by_name[src.dataset.name]
        out = _structure(src, types)
        out += _guarded(damaged, src, _rows, cur, src, _all_checks(src.dataset, types))
        return out + _guarded(damaged, src, _duplicates, cur, src, types)

    problems = _each(con, sources, own)
    # References only between intact files: a damaged one is already reported.
    by_name = {s.dataset.name: s for s in sources if s.dataset.name not in damaged}

    def references(cur: duckdb.DuckDBPyConnection, src: Source) -> list[LoadProblem]:
        return _guarded(damaged, src, _references, cur, src, by_name, types_by_name)

    return problems + _each(con, list(by_name.values()), references)


def _each(
    con: duckdb.DuckDBPyConnection,
    sources: list[Source],
    check: Callable[[duckdb.DuckDBPyConnection, Source], list[LoadProblem]],
) -> list[LoadProblem]:
    """``check`` of every source, ``WORKERS`` at a time, the largest files first; the problems
    in the order of ``sources``."""

    def run(src: Source) -> list[LoadProblem]:
        cur = con.cursor()  # its own temporary tables (``dup``, ``dangling``)
        try:
            return check(cur, src)
        finally:
            cur.close()

    largest_first = sorted(range(len(sources)), key=lambda i: -sources[i].path.stat().st_size)
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        results = pool.map(run, [sources[i] for i in largest_first])
        found = dict(zip(largest_first, results, strict=True))
    return [p for i in range(len(sources)) for p in found[i]]


def _guarded(
    damaged: set[str], src: Source, check: Callable[..., list[LoadProblem]], *args: Any
) -> list[LoadProblem]:
    """Run a check; a file that breaks while being read (a damaged page) becomes a problem."""
    if src.dataset.name in damaged:
        return []
    try:
        return check(*args)
    except duckdb.OutOfMemoryException:
        raise  # the engine's memory, not the file: ``load_directory`` reports it as such
    except duckdb.Error:
        # Not passed on: the engine's message may quote SQL or file contents.
        damaged.add(src.dataset.name)
        return [
            LoadProblem(src.path.name, None, None, "could not be read completely (damaged file?)")
        ]


def _structure(src: Source, types: dict[str, str]) -> list[LoadProblem]:
    f, expected = src.path.name, {c.name for c in src.dataset.columns}
    out = [
        LoadProblem(f, None, c.name, "missing column")
        for c in src.dataset.columns
        if c.name not in types
    ]
    out += [
        LoadProblem(f, None, name, "unexpected column (ignored)", WARNING)
        for name in types
        if name not in expected
    ]
    for c in src.dataset.columns:
        t = types.get(c.name)
        if t is not None and t != SQL_TYPES[c.type] and not _castable(t):
            out.append(LoadProblem(f, None, c.name, f"column has type {t}, expected {c.type}"))
    return out


def _castable(source_type: str) -> bool:
    return source_type.split("(")[0] in _CASTABLE


def _usable(dataset: Dataset, types: dict[str, str]) -> list[Column]:
    return [c for c in dataset.columns if c.name in types and _castable(types[c.name])]


def _all_checks(dataset: Dataset, types: dict[str, str]) -> list[Check]:
    checks = [ch for c in _usable(dataset, types) for ch in column_checks(c, types[c.name])]
    if dataset.name == "buurten":
        checks += buurt_checks(types)
    return checks


def _rows(con: duckdb.DuckDBPyConnection, src: Source, checks: list[Check]) -> list[LoadProblem]:
    """One scan counts the bad rows of every check; examples are fetched only for failures."""
    if not checks:
        return []
    counts_sql = ", ".join(f"count(*) FILTER (WHERE ({c.condition}) IS TRUE)" for c in checks)
    counts = con.execute(f"SELECT {counts_sql} FROM {src.table}").fetchone()
    assert counts is not None
    out: list[LoadProblem] = []
    for check, n in zip(checks, counts, strict=True):
        if not n:
            continue
        examples = con.execute(
            f"SELECT __row, CAST({_q(check.column)} AS VARCHAR) FROM {src.table} "
            f"WHERE ({check.condition}) IS TRUE ORDER BY __row LIMIT {MAX_EXAMPLES}"
        ).fetchall()
        out += [
            LoadProblem(src.path.name, row, check.column, check.message.format(value=_show(value)))
            for row, value in examples
        ]
        out += _more(src, check.column, n)
    return out


def _more(src: Source, column: str | None, n: int) -> list[LoadProblem]:
    if n <= MAX_EXAMPLES:
        return []
    return [
        LoadProblem(
            src.path.name, None, column, f"and {n - MAX_EXAMPLES} more rows with the same problem"
        )
    ]


def _show(value: object) -> str:
    text = str(value)
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _duplicates(
    con: duckdb.DuckDBPyConnection, src: Source, types: dict[str, str]
) -> list[LoadProblem]:
    key = src.dataset.key
    if not all(k in types for k in key):
        return []
    cols = ", ".join(_q(k) for k in key)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE dup AS SELECT min(__row) AS first, max(__row) AS last, "
        f"count(*) AS n FROM {src.table} GROUP BY {cols} HAVING count(*) > 1"
    )
    n_groups = con.execute("SELECT count(*) FROM dup").fetchone()
    rows = con.execute(
        f"SELECT first, last, n FROM dup ORDER BY first LIMIT {MAX_EXAMPLES}"
    ).fetchall()
    label = f"({', '.join(key)})" if len(key) > 1 else key[0]
    out = [
        LoadProblem(
            src.path.name,
            last,
            ",".join(key),
            f"duplicate key {label}: {n} rows share it, first at row {first}",
        )
        for first, last, n in rows
    ]
    total = n_groups[0] if n_groups else 0
    if total > MAX_EXAMPLES:
        out.append(
            LoadProblem(
                src.path.name,
                None,
                ",".join(key),
                f"and {total - MAX_EXAMPLES} more duplicate keys {label}",
            )
        )
    return out


def _references(
    con: duckdb.DuckDBPyConnection,
    src: Source,
    by_name: dict[str, Source],
    types_by_name: dict[str, dict[str, str]],
) -> list[LoadProblem]:
    out: list[LoadProblem] = []
    types = types_by_name[src.dataset.name]
    for col in _usable(src.dataset, types):
        if not col.ref or col.ref.startswith("region:"):
            continue
        target_name, target_col = col.ref.split(".")
        target = by_name.get(target_name)
        if target is None or target_col not in types_by_name[target_name]:
            continue  # already reported as a missing file or column
        tcol = target.dataset.column(target_col)
        out += _dangling(
            con, src, col, types[col.name], target, tcol, types_by_name[target_name][target_col]
        )
    return out


def _dangling(
    con: duckdb.DuckDBPyConnection,
    src: Source,
    col: Column,
    col_type: str,
    target: Source,
    tcol: Column,
    tcol_type: str,
) -> list[LoadProblem]:
    """Values of ``col`` absent from ``tcol``; the (small) set of wanted values drives the scan."""
    v, tv = typed(col, col_type), typed(tcol, tcol_type)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE dangling AS
        WITH wanted AS (SELECT DISTINCT {v} AS v FROM {src.table} WHERE {v} IS NOT NULL),
        found AS (SELECT DISTINCT {tv} AS v FROM {target.table}
                  WHERE {tv} IN (SELECT v FROM wanted)),
        missing AS (SELECT v FROM wanted EXCEPT SELECT v FROM found)
        SELECT s.__row AS row, CAST(m.v AS VARCHAR) AS value
        FROM {src.table} s JOIN missing m ON {v.replace(_q(col.name), "s." + _q(col.name))} = m.v"""
    )
    total_row = con.execute("SELECT count(*) FROM dangling").fetchone()
    total = total_row[0] if total_row else 0
    if not total:
        return []
    rows = con.execute(
        f"SELECT row, value FROM dangling ORDER BY row LIMIT {MAX_EXAMPLES}"
    ).fetchall()
    if tcol.name == "buurt_code":
        message = "unknown region code {value} (not in buurten)"
    else:
        message = f"value {{value}} not found in {col.ref} (dangling reference)"
    out = [
        LoadProblem(src.path.name, r, col.name, message.format(value=_show(val))) for r, val in rows
    ]
    return out + _more(src, col.name, total)
