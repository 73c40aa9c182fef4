"""The engine: one open release, its members and model, and ``answer()`` for every thread.

DuckDB connections are not thread-safe: each thread gets its own cursor on the one read-only
connection. Compiled SQL (and, unless opened without, whole answers) is cached per release.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

import cachetools
import duckdb

from cube import metadata
from cube.answer import answer as run_answer
from cube.axes import RoleAxis
from cube.backend import Backend, DuckDbBackend
from cube.backends import open_backend
from cube.context import ReleaseContext, SqlCaches, build_context, context_from, read_release
from cube.errors import CubeNotInRelease, NoRelease, NotFound, Problem
from cube.members import MemberStore
from cube.model import Catalog, Cube, ModelError, ModelFiles, load_catalog, read_model
from cube.opened import OpenedRecords
from cube.query import Query
from cube.result import Answer
from cube.rollups import RollupTable
from cube.rollups import attach as attach_rollups
from cube.sqlcache import DiskTemplates
from cube.suggest import did_you_mean
from sdc.protect import limit_threads


class Release(Protocol):
    """What the engine needs of a release (``loaders.releases.Release`` fits)."""

    @property
    def id(self) -> str: ...

    @property
    def db_path(self) -> Path: ...

    @property
    def manifest(self) -> Mapping[str, Any]: ...


class Engine:
    """One open release: its DuckDB connection (a cursor per thread), the backend fact queries
    run on, the release's context and caches, and ``answer()`` for every thread."""

    def __init__(
        self,
        release: Release,
        catalog: Catalog,
        con: duckdb.DuckDBPyConnection,
        *,
        max_cells: int,
        query_timeout_s: float,
        answer_cache_size: int = 2048,
        rollups: Sequence[RollupTable] = (),
        context: ReleaseContext | None = None,
    ):
        """``context``: the release's, already built (else read from ``con``)."""
        self.release = release
        self.release_id = release.id
        self.max_cells = max_cells
        self.query_timeout_s = query_timeout_s
        self._con = con
        self._local = threading.local()
        # the cubes this release has: the model's others answer 404 (``cube_not_in_release``)
        self.context = context or build_context(
            con, release.id, release.manifest, catalog, max_cells=max_cells, rollups=rollups
        )
        self.caches = SqlCaches()
        self.answer_cache: cachetools.LRUCache[Query, Answer] = cachetools.LRUCache(
            maxsize=max(answer_cache_size, 1)
        )
        self.answer_cache_on = answer_cache_size > 0
        self.cache_lock = threading.Lock()  # of the answer cache
        self.backend_factory: Callable[[Engine], Backend] | None = None

    @classmethod
    def open(
        cls,
        release: Release,
        *,
        max_cells: int = 100_000,
        query_timeout_s: float = 10.0,
        catalog: Catalog | None = None,
        backend: str = "duckdb",
        backend_options: Mapping[str, str] | None = None,
        rollups: bool = True,
        answer_cache_size: int = 2048,
        sql_cache: Path | None = None,
        open_cache: Path | None = None,
        threads: int = 0,
    ) -> Engine:
        """``backend``: where fact queries run (``cube.backends``: ``duckdb``, ``spark``);
        members and metadata always come from the release's DuckDB file. ``rollups``: answer
        from the release's pre-aggregated facts where they cover a query (another backend: the
        rollup tables its export carries, ``exported_rollups`` in ``backend_options``).
        ``answer_cache_size``: whole answers kept (0: none; the service keeps its own, so it
        opens the engine with none). ``sql_cache``: a directory where compiled SQL templates
        are kept for the next process (``cube.sqlcache``; none: compiled in every process).
        ``open_cache``: a directory where what opening reads is kept for the next process
        (``cube.opened``; only with the model's own catalog). ``threads``: DuckDB's threads
        per statement, and the threads of this process that protect the measures of a large
        table at once (``sdc.protect.limit_threads``; 0: their defaults, one per core)."""
        if not release.db_path.is_file():
            raise NoRelease(f"release {release.id} has no data file")
        con = duckdb.connect(str(release.db_path), read_only=True)
        try:
            if threads > 0:
                con.execute(f"SET threads = {int(threads)}")
                limit_threads(threads)
            found = attach_rollups(con, release.db_path, release.id) if rollups else []
            if backend != "duckdb":  # another engine reads the rollups its export carries
                exported = set((backend_options or {}).get("exported_rollups", "").split(","))
                found = [r for r in found if {r.singles, r.multis, r.bounds} <= exported]
            context = None
            if catalog is None and open_cache is not None:
                context = _opened(
                    OpenedRecords(open_cache, release.id, release.db_path),
                    con,
                    release,
                    max_cells=max_cells,
                    rollups=found,
                )
            engine = cls(
                release,
                context.catalog if context else catalog or load_catalog(),
                con,
                max_cells=max_cells,
                query_timeout_s=query_timeout_s,
                answer_cache_size=answer_cache_size,
                rollups=found,
                context=context,
            )
            if sql_cache is not None:
                disk = DiskTemplates(Path(sql_cache), release.id, backend)
                engine.caches = replace(engine.caches, disk=disk)
            facts = tuple(engine.schemas)
            engine.backend_factory = open_backend(backend, release.db_path, facts, backend_options)
            return engine
        except Exception:
            con.close()
            raise

    # -- the release's context, as the stages read it ----------------------------------------
    @property
    def catalog(self) -> Catalog:
        return self.context.catalog

    @property
    def store(self) -> MemberStore:
        return self.context.store

    @property
    def schemas(self) -> Mapping[str, Mapping[str, str]]:
        return self.context.schemas

    @property
    def rollups(self) -> Mapping[str, tuple[RollupTable, ...]]:
        return self.context.rollups

    @property
    def sql_cache(self) -> cachetools.LRUCache[Any, Any]:
        return self.caches.sql

    @property
    def template_cache(self) -> cachetools.LRUCache[Any, Any]:
        return self.caches.templates

    def axes_for(self, cube: Cube) -> dict[str, RoleAxis]:
        return self.context.axes_for(cube)

    # -- per-thread cursor and per-cube axes -------------------------------------------------
    def cursor(self) -> duckdb.DuckDBPyConnection:
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._con.cursor()
            self._local.cursor = cur
        return cur

    def backend(self) -> Backend:
        """This thread's backend for fact queries (the embedded DuckDB by default)."""
        backend = getattr(self._local, "backend", None)
        if backend is None:
            backend = (
                self.backend_factory(self) if self.backend_factory else DuckDbBackend(self.cursor())
            )
            self._local.backend = backend
        return backend

    def cube_or_404(self, cube_id: str) -> Cube:
        cube = self.catalog.cubes.get(cube_id)
        if cube is None and cube_id in self.catalog.absent:
            raise self.not_in_release(cube_id)
        if cube is None:
            hint = did_you_mean(cube_id[:60], self.catalog.cubes)
            raise NotFound(
                f"unknown cube {cube_id[:60]!r}",
                [Problem("cube", f"cubes: {', '.join(self.catalog.cubes)}{hint}")],
            )
        return cube

    def not_in_release(self, cube_id: str) -> CubeNotInRelease:
        return CubeNotInRelease(
            f"cube {cube_id!r} is not in release {self.release_id}",
            [
                Problem("cube", self.catalog.absent[cube_id]),
                Problem("cube", f"cubes in this release: {', '.join(self.catalog.cubes)}"),
            ],
        )

    # -- public API ------------------------------------------------------------------------------
    def answer(self, query: Query) -> Answer:
        with self.cache_lock:
            hit = self.answer_cache.get(query) if self.answer_cache_on else None
        if hit is not None:
            return hit
        if query.cube in self.catalog.absent:
            raise self.not_in_release(query.cube)
        result = run_answer(self.context, self.caches, self.backend(), self.query_timeout_s, query)
        if self.answer_cache_on:
            with self.cache_lock:
                self.answer_cache[query] = result
        return result

    def cubes(self) -> list[dict[str, Any]]:
        return [metadata.cube_summary(c) for c in self.catalog.cubes.values()]

    def cube(self, cube_id: str) -> dict[str, Any]:
        return metadata.cube_model(self.context, self.cube_or_404(cube_id))

    def members(
        self,
        cube_id: str,
        dimension: str,
        level: str | None = None,
        *,
        search: str | None = None,
        parent: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[dict[str, Any]], int]:
        return metadata.members(
            self.context,
            self.cube_or_404(cube_id),
            dimension,
            level,
            search=search,
            parent=parent,
            limit=limit,
            offset=offset,
        )

    def neighbours(self, gemeente_code: str) -> list[dict[str, Any]]:
        return metadata.neighbours(self.context, gemeente_code)

    def boundaries(self, level: str, gemeente: str) -> dict[str, Any]:
        """Delivered wijk or buurt boundaries of a gemeente (GeoJSON; none if not delivered)."""
        return metadata.boundaries(self.cursor(), self.context, level, gemeente)

    def close(self) -> None:
        close_backends = getattr(self.backend_factory, "close", None)
        if close_backends is not None:
            close_backends()
        self._con.close()


def _opened(
    kept: OpenedRecords,
    con: duckdb.DuckDBPyConnection,
    release: Release,
    *,
    max_cells: int,
    rollups: Sequence[RollupTable],
) -> ReleaseContext:
    """The context from the kept record of what opening reads; read from the release and the
    model files (and kept) when there is none or it does not build."""
    record = kept.get()
    if record is not None:
        try:
            files = ModelFiles(dict(record["model"]))
            catalog = load_catalog(files=files)
            return context_from(
                record["read"], release.id, catalog, max_cells=max_cells, rollups=rollups
            )
        except (ModelError, ValueError, TypeError, KeyError, AttributeError):
            pass  # damaged or foreign: read again
    files = read_model()
    catalog = load_catalog(files=files)
    read, store = read_release(con, release.manifest, catalog)
    context = context_from(
        read, release.id, catalog, max_cells=max_cells, rollups=rollups, store=store
    )
    if read["members"] is not None and not files.problems:
        kept.put({"model": files.documents, "read": read})
    return context
