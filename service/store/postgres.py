"""The PostgreSQL store, for workers on several machines (psycopg 3 with its connection pool).

- **Audit:** one row per record (the same line the embedded store writes, and the client for
  filtering), committed with ``synchronous_commit = on`` before the answer is sent: the commit
  returns once the record is in PostgreSQL's write-ahead log on disk. A failed insert is rolled
  back whole, so no torn record can exist.
- **Rate limits and risk memory:** each read-modify-write holds a transaction-scoped advisory
  lock on the client, so workers anywhere serialise on the same client and nowhere else. These
  commit with ``synchronous_commit = off``: a crash of the database server may lose the last
  few updates, never a record of the audit.

Tables live in their own schema (``store_schema``). The connection string comes only from the
environment variable ``ZICHT_STORE_DSN`` and is never logged or shown: errors name no host.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool, PoolTimeout

from service.audit import audit_line
from service.store.base import Check, Flag, Observation, Step, StoreUnavailable, T
from service.store.retention import BATCH, DEFAULT_RETENTION, TABLES, Pruning, Retention

log = logging.getLogger("zicht.store")

SCHEMA = """
CREATE TABLE IF NOT EXISTS {s}.audit (
    id BIGSERIAL PRIMARY KEY, client TEXT NOT NULL, line TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_client ON {s}.audit (client, id);
CREATE TABLE IF NOT EXISTS {s}.buckets (
    client TEXT PRIMARY KEY, tokens DOUBLE PRECISION NOT NULL, last DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS buckets_last ON {s}.buckets (last);
CREATE TABLE IF NOT EXISTS {s}.observations (
    id BIGSERIAL PRIMARY KEY, client TEXT NOT NULL, time DOUBLE PRECISION NOT NULL,
    canonical TEXT NOT NULL, comparable TEXT NOT NULL, shape TEXT NOT NULL,
    population DOUBLE PRECISION, suppressed INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS observations_client ON {s}.observations (client, id);
CREATE INDEX IF NOT EXISTS observations_time ON {s}.observations (time);
CREATE TABLE IF NOT EXISTS {s}.flags (
    id BIGSERIAL PRIMARY KEY, time DOUBLE PRECISION NOT NULL, client TEXT NOT NULL,
    kind TEXT NOT NULL, message TEXT NOT NULL, queries TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS flags_client ON {s}.flags (client, id);
CREATE INDEX IF NOT EXISTS flags_time ON {s}.flags (time);
"""
# Advisory lock classes (the first key of the two-key form): schema set-up, buckets, risk.
LOCK_SCHEMA, LOCK_BUCKET, LOCK_RISK = 0x5A1C, 0x5A1D, 0x5A1E
CONNECT_TIMEOUT_S = 5
PROBE_TIMEOUT_S = 1.0  # /ready answers within an orchestrator's probe time-out


class PostgresStore:
    kind = "postgresql"

    def __init__(
        self,
        dsn: str,
        schema: str = "zicht",
        max_connections: int = 10,
        retention: Retention = DEFAULT_RETENTION,
    ) -> None:
        self.pruning = Pruning(self.prune, retention)
        self.schema = schema
        self._s = sql.Identifier(schema)
        self.pool = ConnectionPool(
            dsn,
            min_size=1,
            max_size=max(2, max_connections),
            kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT_S},
            timeout=CONNECT_TIMEOUT_S,
            open=False,
            name="zicht-store",
        )
        try:
            self.pool.open(wait=True, timeout=CONNECT_TIMEOUT_S * 2)
            with self._tx(LOCK_SCHEMA, "schema") as cur:  # workers starting together: one at a time
                cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(self._s))
                cur.execute(sql.SQL(SCHEMA).format(s=self._s))
        except (psycopg.Error, PoolTimeout, StoreUnavailable):
            self.pool.close()
            raise StoreUnavailable() from None

    @contextmanager
    def _tx(
        self,
        lock_class: int | None = None,
        key: str = "",
        *,
        durable: bool = False,
        wait_s: float = CONNECT_TIMEOUT_S,
    ) -> Iterator[psycopg.Cursor[Any]]:
        """A transaction, optionally holding the advisory lock (``lock_class``, ``key``)."""
        try:
            with (
                self.pool.connection(timeout=wait_s) as con,
                con.transaction(),
                con.cursor() as cur,
            ):
                sync = "on" if durable else "off"
                cur.execute(sql.SQL("SET LOCAL synchronous_commit TO {}").format(sql.SQL(sync)))
                if lock_class is not None:
                    cur.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (lock_class, key))
                yield cur
        except (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout) as exc:
            log.warning("state store: %s", type(exc).__name__)  # no message: it may name hosts
            raise StoreUnavailable() from None
        except psycopg.Error as exc:
            log.error("state store: %s (sqlstate %s)", type(exc).__name__, exc.sqlstate)
            raise StoreUnavailable() from None

    def _q(self, text: str) -> sql.Composed:
        return sql.SQL(text).format(s=self._s)

    # -- audit ------------------------------------------------------------------------------

    def append_audit(self, fields: str, client: str) -> None:
        line = audit_line(fields, datetime.now(UTC))
        with self._tx(durable=True) as cur:
            cur.execute(self._q("INSERT INTO {s}.audit (client, line) VALUES (%s, %s)"),
                        (client, line))  # fmt: skip

    def recent_audit(self, limit: int, client: str | None = None) -> list[dict[str, Any]]:
        with self._tx() as cur:
            cur.execute(
                self._q(
                    "SELECT line FROM {s}.audit WHERE %(c)s::text IS NULL OR client = %(c)s"
                    " ORDER BY id DESC LIMIT %(n)s"
                ),
                {"c": client, "n": limit},
            )
            rows = cur.fetchall()
        return [json.loads(line) for (line,) in rows]

    # -- rate limits ------------------------------------------------------------------------

    def update_bucket(self, client: str, step: Step[T]) -> T:
        with self._tx(LOCK_BUCKET, client) as cur:
            cur.execute(self._q("SELECT tokens, last FROM {s}.buckets WHERE client = %s"),
                        (client,))  # fmt: skip
            row = cur.fetchone()
            bucket, result = step(None if row is None else (row[0], row[1]))
            cur.execute(
                self._q(
                    "INSERT INTO {s}.buckets (client, tokens, last) VALUES (%s, %s, %s)"
                    " ON CONFLICT (client) DO UPDATE"
                    " SET tokens = excluded.tokens, last = excluded.last"
                ),
                (client, *bucket),
            )
        self.pruning.tick()
        return result

    def forget_buckets(self, before: float) -> None:
        with self._tx() as cur:
            cur.execute(self._q("DELETE FROM {s}.buckets WHERE last < %s"), (before,))

    # -- risk memory ------------------------------------------------------------------------

    def observe(self, client: str, obs: Observation, window: int, check: Check) -> list[Flag]:
        with self._tx(LOCK_RISK, client) as cur:
            cur.execute(
                self._q(
                    "SELECT id, time, canonical, comparable, shape, population, suppressed"
                    " FROM {s}.observations WHERE client = %s ORDER BY id DESC LIMIT %s"
                ),
                (client, window),
            )
            rows = cur.fetchall()
            history = [Observation(*r[1:]) for r in reversed(rows)]
            flags = check(history)
            cur.execute(
                self._q(
                    "INSERT INTO {s}.observations (client, time, canonical, comparable, shape,"
                    " population, suppressed) VALUES (%s, %s, %s, %s, %s, %s, %s)"
                ),
                (client, obs.time, obs.canonical, obs.comparable, obs.shape, obs.population,
                 obs.suppressed),
            )  # fmt: skip
            if len(rows) >= window:
                cur.execute(
                    self._q("DELETE FROM {s}.observations WHERE client = %s AND id <= %s"),
                    (client, rows[-1][0]),
                )
            if flags:
                cur.executemany(
                    self._q(
                        "INSERT INTO {s}.flags (time, client, kind, message, queries)"
                        " VALUES (%s, %s, %s, %s, %s)"
                    ),
                    [(f.time, f.client, f.kind, f.message, json.dumps(f.queries)) for f in flags],
                )
        self.pruning.tick()
        return flags

    def flags(self, limit: int, client: str | None = None) -> list[Flag]:
        with self._tx() as cur:
            cur.execute(
                self._q(
                    "SELECT time, client, kind, message, queries FROM {s}.flags"
                    " WHERE %(c)s::text IS NULL OR client = %(c)s ORDER BY id DESC LIMIT %(n)s"
                ),
                {"c": client, "n": limit},
            )
            rows = cur.fetchall()
        return [Flag(t, c, k, m, tuple(json.loads(q))) for t, c, k, m, q in rows]

    def risk_summary(self) -> tuple[int, dict[str, int]]:
        with self._tx() as cur:
            cur.execute(self._q("SELECT count(DISTINCT client) FROM {s}.observations"))
            row = cur.fetchone()
            cur.execute(self._q("SELECT kind, count(*) FROM {s}.flags GROUP BY kind"))
            counts = cur.fetchall()
        return int(row[0] if row else 0), {k: int(n) for k, n in counts}

    # -- retention --------------------------------------------------------------------------

    def prune(self, before: float, max_rows: int) -> dict[str, int]:
        """Delete rows older than ``before``, then the oldest beyond ``max_rows`` per table."""
        deleted = {}
        for table, age in TABLES:
            key = "client" if table == "buckets" else "id"
            order = "last" if table == "buckets" else "id"
            t, k = sql.Identifier(table), sql.Identifier(key)
            n = self._delete_batches(
                sql.SQL(
                    "DELETE FROM {s}.{t} WHERE {k} IN"
                    " (SELECT {k} FROM {s}.{t} WHERE {a} < %s LIMIT {b})"
                ).format(s=self._s, t=t, k=k, a=sql.Identifier(age), b=sql.Literal(BATCH)),
                (before,),
            )
            with self._tx() as cur:
                cur.execute(sql.SQL("SELECT count(*) FROM {s}.{t}").format(s=self._s, t=t))
                row = cur.fetchone()
            if row is not None and row[0] > max_rows:
                n += self._delete_batches(
                    sql.SQL(
                        "DELETE FROM {s}.{t} WHERE {k} IN (SELECT {k} FROM {s}.{t}"
                        " ORDER BY {o} DESC LIMIT {b} OFFSET %s)"
                    ).format(s=self._s, t=t, k=k, o=sql.Identifier(order), b=sql.Literal(BATCH)),
                    (max_rows,),
                )
            deleted[table] = n
        return deleted

    def _delete_batches(self, statement: sql.Composed, args: tuple[Any, ...]) -> int:
        total = 0
        while True:
            with self._tx() as cur:
                cur.execute(statement, args)
                n = cur.rowcount
            total += n
            if n < BATCH:
                return total

    # -- operations -------------------------------------------------------------------------

    def problems(self) -> list[str]:
        try:
            with self._tx(wait_s=PROBE_TIMEOUT_S) as cur:
                cur.execute("SELECT 1")
        except StoreUnavailable:
            return ["the PostgreSQL state store cannot be reached"]
        return []

    def close(self) -> None:
        self.pool.close()
