"""The shared state store (``base.Store``) and its implementations; ``open_store`` picks one."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from loaders.files import FileModes
from service.settings import DSN_ENV, Settings
from service.store.base import Flag, Observation, Store, StoreUnavailable
from service.store.embedded import EmbeddedStore
from service.store.memory import MemoryStore
from service.store.retention import DAY_S, Retention

__all__ = [
    "EmbeddedStore",
    "Flag",
    "MemoryStore",
    "Observation",
    "Retention",
    "Store",
    "StoreUnavailable",
    "open_store",
]


def open_store(settings: Settings, home: Path, environ: Mapping[str, str] | None = None) -> Store:
    """The store the ``store`` setting names (PostgreSQL's DSN from ``ZICHT_STORE_DSN``)."""
    retention = Retention(settings.store_retention_days * DAY_S, settings.store_max_rows)
    if settings.store == "postgresql":
        from service.store.postgres import PostgresStore  # psycopg only when it is used

        dsn = (os.environ if environ is None else environ).get(DSN_ENV, "")
        return PostgresStore(
            dsn, settings.store_schema, settings.threads * 2 + 2, retention=retention
        )
    return EmbeddedStore(home, FileModes(settings.file_group), retention)
