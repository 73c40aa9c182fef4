"""Backends behind a small interface: run one SQL statement, return its rows.

The planner builds each statement as a tree (``cube.statement.Statement``); a backend renders it
in its own dialect (``cube.dialects.DIALECTS``). A statement written as text is DuckDB SQL
(probes, tests), which another backend reads into a tree first. Member tables and metadata
always come from the release's DuckDB file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

import duckdb

if TYPE_CHECKING:
    from cube.statement import Statement


class BackendError(Exception):
    """The backend cannot run what the planner asked (an unsupported feature, by name)."""


class Interrupted(Exception):
    """The statement was stopped by ``interrupt()`` (the query's time limit)."""


class Backend(Protocol):
    name: str

    def rows(self, sql: Statement | str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Column names and rows of ``sql``: a tree rendered in the backend's dialect, or
        text in DuckDB's."""
        ...

    def interrupt(self) -> None:
        """Stop the statement running on this backend (called from another thread)."""
        ...


class DuckDbBackend:
    """The embedded default: one cursor of the release's read-only connection (per thread)."""

    name = "duckdb"

    def __init__(self, cursor: duckdb.DuckDBPyConnection):
        self.cursor = cursor

    def rows(self, sql: Statement | str) -> tuple[list[str], list[tuple[Any, ...]]]:
        try:
            res = self.cursor.execute(duckdb_text(sql))
            return [d[0] for d in res.description], res.fetchall()
        except duckdb.InterruptException:
            raise Interrupted from None

    def columns(self, sql: Statement | str) -> dict[str, Any]:
        """The result as numpy columns (masked where NULL): no Python tuple per row. A list
        column (the two largest contributions, ``max(x, 2)``) comes as two plain columns,
        ``name[1]`` and ``name[2]`` (NULL where the list is shorter) where the statement names
        its list columns (``cube.sql.list_columns``; a statement that does not learns them at
        its first run): numpy holds a list column as one Python object per row, several times
        slower to fetch and read (16,075 rows of companies by wijk x SBI section: 25 ms of 62)."""
        text = executed_text(sql)
        memo = None if isinstance(sql, str) else sql.memo
        try:
            res = self.cursor.execute(text)
            if memo is not None and "list_columns" not in memo:
                memo["list_columns"] = tuple(d[0] for d in res.description if _is_list(d[1]))
            return res.fetchnumpy()
        except duckdb.InterruptException:
            raise Interrupted from None

    def interrupt(self) -> None:
        self.cursor.interrupt()


def _is_list(kind: Any) -> bool:
    return getattr(kind, "id", None) == "list"


def executed_text(sql: Statement | str) -> str:
    """The text ``DuckDbBackend.columns`` runs for ``sql``: its DuckDB text, with the list
    columns split into plain ones once the statement knows them."""
    text = duckdb_text(sql)
    lists = None if isinstance(sql, str) else sql.memo.get("list_columns")
    return _split_lists(text, lists) if lists else text


def _split_lists(text: str, names: tuple[str, ...]) -> str:
    """``text`` with each list column of ``names`` replaced by its first two elements."""
    split = ", ".join(f"{_quoted(n)}[{i}] AS {_quoted(f'{n}[{i}]')}" for n in names for i in (1, 2))
    return f"SELECT * EXCLUDE ({', '.join(map(_quoted, names))}), {split} FROM ({text})"


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def duckdb_text(sql: Statement | str) -> str:
    """``sql`` as DuckDB text: a tree rendered (once per statement), text as it is."""
    if isinstance(sql, str):
        return sql
    from cube.statement import DialectError

    try:
        return sql.render("duckdb")
    except DialectError as exc:
        raise BackendError(str(exc)) from None


def render_for(
    sql: Statement | str, dialect: str, backend: str, tables: Mapping[str, str] | None = None
) -> str:
    """``sql`` as ``dialect``'s SQL for another backend, rendered from its tree with the tables
    in ``tables`` renamed (to the backend's views); text is DuckDB SQL, read into a tree first.
    What the dialect cannot say is a ``BackendError`` naming the ``backend``."""
    from cube.statement import DialectError, Statement

    try:
        if isinstance(sql, str):
            from cube.dialects import parse_duckdb

            sql = Statement(parse_duckdb(sql))
        return sql.render(dialect, tables)
    except DialectError as exc:
        raise BackendError(f"not supported on {backend}: {exc}") from None
