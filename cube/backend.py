"""Backends behind a small interface: run one SQL statement, return its rows.

The planner writes SQL in the DuckDB dialect (an Ibis projection plus hand-written GROUPING
SETS); a backend for another engine translates it (see ``cube/backends/``). Member tables and
metadata always come from the release's DuckDB file.
"""

from __future__ import annotations

from typing import Any, Protocol

import duckdb


class BackendError(Exception):
    """The backend cannot run what the planner asked (an unsupported feature, by name)."""


class Interrupted(Exception):
    """The statement was stopped by ``interrupt()`` (the query's time limit)."""


class Backend(Protocol):
    name: str

    def rows(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Column names and rows of ``sql`` (DuckDB dialect)."""
        ...

    def interrupt(self) -> None:
        """Stop the statement running on this backend (called from another thread)."""
        ...


class DuckDbBackend:
    """The embedded default: one cursor of the release's read-only connection (per thread)."""

    name = "duckdb"

    def __init__(self, cursor: duckdb.DuckDBPyConnection):
        self.cursor = cursor

    def rows(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        try:
            res = self.cursor.execute(sql)
            return [d[0] for d in res.description], res.fetchall()
        except duckdb.InterruptException:
            raise Interrupted from None

    def columns(self, sql: str) -> dict[str, Any]:
        """The result as numpy columns (masked where NULL): no Python tuple per row."""
        try:
            return self.cursor.execute(sql).fetchnumpy()
        except duckdb.InterruptException:
            raise Interrupted from None

    def interrupt(self) -> None:
        self.cursor.interrupt()
