"""Stores for the store suite: every test runs against the embedded store and PostgreSQL.

PostgreSQL's connection string comes from ``ZICHT_TEST_STORE_DSN`` (``.ci/run`` starts a
cluster and sets it). Without it the PostgreSQL cases are skipped, except in CI (``CI=true``),
where a missing PostgreSQL fails them: the suite must not go green by testing half of it.
Each test gets a schema of its own, dropped afterwards.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from service.settings import DSN_ENV
from service.store import EmbeddedStore, Store
from service.store.retention import DEFAULT_RETENTION, Retention

TEST_DSN_ENV = "ZICHT_TEST_STORE_DSN"
KINDS = ("embedded", "postgresql")


def postgres_dsn() -> str:
    dsn = os.environ.get(TEST_DSN_ENV, "")
    if not dsn:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs PostgreSQL: {TEST_DSN_ENV} is not set (see .ci/run)")
        pytest.skip(f"no PostgreSQL: set {TEST_DSN_ENV} to run the store suite against it")
    return dsn


class Backing:
    """Where one test's stores keep their state; ``open()`` gives another worker's view."""

    def __init__(self, kind: str, tmp_path: Path) -> None:
        self.kind, self.home = kind, tmp_path / "home"
        self.schema = "t_" + secrets.token_hex(6)
        self.dsn = postgres_dsn() if kind == "postgresql" else ""
        self.opened: list[Store] = []

    def open(self, retention: Retention = DEFAULT_RETENTION) -> Store:
        store: Store
        if self.kind == "postgresql":
            from service.store.postgres import PostgresStore

            store = PostgresStore(self.dsn, self.schema, max_connections=8, retention=retention)
        else:
            store = EmbeddedStore(self.home, retention=retention)
        self.opened.append(store)
        return store

    def env(self) -> dict[str, str]:
        """The environment of a ``zicht serve`` on this backing."""
        if self.kind != "postgresql":
            return {"ZICHT_STORE": "embedded"}
        return {"ZICHT_STORE": "postgresql", DSN_ENV: self.dsn, "ZICHT_STORE_SCHEMA": self.schema}

    def drop(self) -> None:
        for store in self.opened:
            store.close()
        if self.kind == "postgresql":
            import psycopg

            with psycopg.connect(self.dsn, autocommit=True) as con:
                con.execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")


@pytest.fixture(params=KINDS, name="backing")
def backing_fixture(request: Any, tmp_path: Path) -> Iterator[Backing]:
    b = Backing(request.param, tmp_path)
    yield b
    b.drop()


OpenStore = Callable[[], Store]
