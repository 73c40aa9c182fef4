"""The embedded store, for one machine and any number of worker processes on it; no server.

- **Audit:** JSON Lines day files in ``<home>/audit/`` (``service.audit.AuditLog``): each record
  is appended whole under an exclusive ``flock`` (so processes never interleave or tear each
  other's records) and ``fsync``-ed before the answer is sent.
- **Rate limits and risk memory:** a SQLite database in WAL mode, ``<home>/state/state.sqlite3``.
  Each read-modify-write is one ``BEGIN IMMEDIATE`` transaction: SQLite's write lock makes it
  atomic across processes. ``synchronous=NORMAL``: after a power cut the last few updates
  may be lost (a rate-limit bucket or an observation), never the database.

Each thread has its own SQLite connection (a connection is not shared between threads).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from loaders.files import PRIVATE, FileModes, private_dir
from service.audit import AuditLog
from service.store.base import Check, Flag, Observation, Step, StoreUnavailable, T
from service.store.retention import BATCH, DEFAULT_RETENTION, TABLES, Pruning, Retention

SCHEMA = """
CREATE TABLE IF NOT EXISTS buckets (
    client TEXT PRIMARY KEY, tokens REAL NOT NULL, last REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS buckets_last ON buckets (last);
CREATE TABLE IF NOT EXISTS observations (
    id INTEGER PRIMARY KEY, client TEXT NOT NULL, time REAL NOT NULL, canonical TEXT NOT NULL,
    comparable TEXT NOT NULL, shape TEXT NOT NULL, population REAL, suppressed INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS observations_client ON observations (client, id);
CREATE INDEX IF NOT EXISTS observations_time ON observations (time);
CREATE TABLE IF NOT EXISTS flags (
    id INTEGER PRIMARY KEY, time REAL NOT NULL, client TEXT NOT NULL, kind TEXT NOT NULL,
    message TEXT NOT NULL, queries TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS flags_client ON flags (client, id);
CREATE INDEX IF NOT EXISTS flags_time ON flags (time);
"""
BUSY_TIMEOUT_MS = 10_000


def _journal_wal(con: sqlite3.Connection) -> None:
    """Switch to write-ahead logging, waiting for workers that open the same store at once.

    SQLite reports a journal-mode switch that meets another connection's lock as "locked" at
    once, without its busy timeout; so several workers starting together would refuse to start.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            con.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


class EmbeddedStore:
    kind = "embedded"

    def __init__(
        self, home: Path, modes: FileModes = PRIVATE, retention: Retention = DEFAULT_RETENTION
    ) -> None:
        self.pruning = Pruning(self.prune, retention, thread_ends=self._drop_thread_connection)
        self.audit = AuditLog(home / "audit", modes)
        self.directory = home / "state"
        private_dir(self.directory, modes)
        self.path = self.directory / "state.sqlite3"
        self.modes = modes
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        con = self._con()
        _journal_wal(con)
        con.executescript(SCHEMA)
        # Also a database made before under other modes; SQLite gives its -wal and -shm files
        # the database file's mode.
        os.chmod(self.path, modes.file)
        if modes.group:
            os.chown(self.path, -1, modes.gid)

    def _con(self) -> sqlite3.Connection:
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                check_same_thread=False,
            )  # fmt: skip
            con.execute("PRAGMA synchronous=NORMAL")
            self._local.con = con
            with self._all_lock:
                self._all.append(con)
        return con

    def _drop_thread_connection(self) -> None:
        """Close this thread's connection (for a thread about to end)."""
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is None:
            return
        del self._local.con
        with self._all_lock:
            self._all.remove(con)
        con.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction: the database's write lock is held throughout."""
        try:
            con = self._con()
            con.execute("BEGIN IMMEDIATE")
        except sqlite3.Error:
            raise StoreUnavailable() from None
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        try:
            con.execute("COMMIT")
        except sqlite3.Error:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise StoreUnavailable() from None

    def _read(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        try:
            return self._con().execute(sql, args).fetchall()
        except sqlite3.Error:
            raise StoreUnavailable() from None

    # -- audit ------------------------------------------------------------------------------

    def append_audit(self, fields: str, client: str) -> None:
        try:
            self.audit.append_encoded(fields)
        except OSError:
            raise StoreUnavailable() from None

    def recent_audit(self, limit: int, client: str | None = None) -> list[dict[str, Any]]:
        return self.audit.recent(limit, client)

    # -- rate limits ------------------------------------------------------------------------

    def update_bucket(self, client: str, step: Step[T]) -> T:
        with self._write() as con:
            row = con.execute(
                "SELECT tokens, last FROM buckets WHERE client = ?", (client,)
            ).fetchone()
            bucket, result = step(None if row is None else (row[0], row[1]))
            con.execute(
                "INSERT INTO buckets (client, tokens, last) VALUES (?, ?, ?) ON CONFLICT (client)"
                " DO UPDATE SET tokens = excluded.tokens, last = excluded.last",
                (client, *bucket),
            )
        self.pruning.tick()
        return result

    def forget_buckets(self, before: float) -> None:
        with self._write() as con:
            con.execute("DELETE FROM buckets WHERE last < ?", (before,))

    # -- risk memory ------------------------------------------------------------------------

    def observe(self, client: str, obs: Observation, window: int, check: Check) -> list[Flag]:
        with self._write() as con:
            rows = con.execute(
                "SELECT id, time, canonical, comparable, shape, population, suppressed"
                " FROM observations WHERE client = ? ORDER BY id DESC LIMIT ?",
                (client, window),
            ).fetchall()
            history = [Observation(*r[1:]) for r in reversed(rows)]
            flags = check(history)
            con.execute(
                "INSERT INTO observations (client, time, canonical, comparable, shape,"
                " population, suppressed) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (client, obs.time, obs.canonical, obs.comparable, obs.shape, obs.population,
                 obs.suppressed),
            )  # fmt: skip
            if len(rows) >= window:  # keep the newest ``window``: the oldest read one goes
                con.execute(
                    "DELETE FROM observations WHERE client = ? AND id <= ?", (client, rows[-1][0])
                )
            con.executemany(
                "INSERT INTO flags (time, client, kind, message, queries) VALUES (?, ?, ?, ?, ?)",
                [(f.time, f.client, f.kind, f.message, json.dumps(f.queries)) for f in flags],
            )
        self.pruning.tick()
        return flags

    def flags(self, limit: int, client: str | None = None) -> list[Flag]:
        rows = self._read(
            "SELECT time, client, kind, message, queries FROM flags"
            " WHERE ?1 IS NULL OR client = ?1 ORDER BY id DESC LIMIT ?2",
            (client, limit),
        )
        return [Flag(t, c, k, m, tuple(json.loads(q))) for t, c, k, m, q in rows]

    def risk_summary(self) -> tuple[int, dict[str, int]]:
        (clients,) = self._read("SELECT count(DISTINCT client) FROM observations")[0]
        counts = self._read("SELECT kind, count(*) FROM flags GROUP BY kind")
        return int(clients), {k: int(n) for k, n in counts}

    # -- retention --------------------------------------------------------------------------

    def prune(self, before: float, max_rows: int) -> dict[str, int]:
        """Delete rows older than ``before``, then the oldest beyond ``max_rows`` per table."""
        deleted = {}
        for table, age in TABLES:
            key = "client" if table == "buckets" else "id"
            order = "last" if table == "buckets" else "id"
            n = self._delete_batches(
                f"DELETE FROM {table} WHERE {key} IN"
                f" (SELECT {key} FROM {table} WHERE {age} < ? LIMIT {BATCH})",
                (before,),
            )
            # The rows beyond the newest ``max_rows``, by age: the oldest go. Counted first
            # by a reader (not holding the write lock), as it is seldom the case.
            (count,) = self._read(f"SELECT count(*) FROM {table}")[0]
            if count > max_rows:
                n += self._delete_batches(
                    f"DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM {table}"
                    f" ORDER BY {order} DESC LIMIT {BATCH} OFFSET ?)",
                    (max_rows,),
                )
            deleted[table] = n
        return deleted

    def _delete_batches(self, statement: str, args: tuple[Any, ...]) -> int:
        total = 0
        while True:
            with self._write() as con:
                n = con.execute(statement, args).rowcount
            total += n
            if n < BATCH:
                return total

    # -- operations -------------------------------------------------------------------------

    def problems(self) -> list[str]:
        found = []
        if not os.access(self.audit.directory, os.W_OK | os.X_OK):
            found.append("the audit log directory cannot be written")
        try:
            with self._write():
                pass
        except StoreUnavailable:
            found.append("the state database cannot be written")
        return found

    def close(self) -> None:
        self.audit.close()
        with self._all_lock:
            for con in self._all:
                con.close()
            self._all.clear()
