"""What the stages of an answer read, apart from the engine that owns connections and threads.

``ReleaseContext`` is the open release, immutable once built: the model's cubes it serves,
its members, fact schemas, rollups and per-cube facts (one row per holding?); per-cube axes are
built on first use and kept. ``SqlCaches`` holds compiled SQL. A stage takes these (and the
backend to run SQL on), never the engine. ``build_context`` reads them from any DuckDB
connection holding a release's tables (the engine's, on the release file; a test's, in
memory): no stage module imports the engine.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import cachetools
import duckdb

from cube.axes import RoleAxis, role_axis
from cube.members import MemberStore, load_members, member_record, store_from_record
from cube.model import Catalog, Cube, ModelError
from cube.rollups import RollupTable
from cube.sqlcache import DiskTemplates
from layout.facts import LAYOUT_VERSION


@dataclass(frozen=True, slots=True, eq=False)
class ReleaseContext:
    release_id: str
    catalog: Catalog  # the cubes this release has (``Catalog.absent``: the others)
    store: MemberStore
    schemas: Mapping[str, Mapping[str, str]]  # fact table -> column -> Ibis type
    single_pass: Mapping[str, bool]  # cube -> one row per holding (and year, for stocks)
    rollups: Mapping[str, tuple[RollupTable, ...]]  # cube -> its rollups, smallest first
    max_cells: int
    _axes: dict[str, dict[str, RoleAxis]] = field(default_factory=dict)
    _axes_lock: threading.Lock = field(default_factory=threading.Lock)

    def axes_for(self, cube: Cube) -> dict[str, RoleAxis]:
        """The cube's role axes (members per level), built once."""
        axes = self._axes.get(cube.id)
        if axes is None:
            years = self.store.fact_years.get(cube.fact, ())
            axes = {r.id: role_axis(r, self.store, years, r.unknown) for r in cube.roles}
            with self._axes_lock:
                self._axes[cube.id] = axes
        return axes


def build_context(
    con: duckdb.DuckDBPyConnection,
    release_id: str,
    manifest: Mapping[str, Any],
    catalog: Catalog,
    *,
    max_cells: int,
    rollups: Sequence[RollupTable] = (),
) -> ReleaseContext:
    """The context of the release whose tables ``con`` reads (its file, or a copy in memory):
    the model's cubes it has (``Catalog.absent``: the others, with the reason), members, fact
    schemas, single-pass flags and ``rollups`` (attached to ``con``, smallest first)."""
    read, store = read_release(con, manifest, catalog)
    return context_from(
        read, release_id, catalog, max_cells=max_cells, rollups=rollups, store=store
    )


def read_release(
    con: duckdb.DuckDBPyConnection, manifest: Mapping[str, Any], catalog: Catalog
) -> tuple[dict[str, Any], MemberStore]:
    """Everything a context reads from the release's tables for ``catalog``, as JSON-ready
    data (``context_from`` builds the context from it; ``cube/opened.py`` keeps it), and the
    members as read (the data's ``members`` is None when ``member_record`` cannot hold them)."""
    tables, current = release_facts(con, manifest)
    schemas = {c.fact: _schema(con, c.fact) for c in catalog.cubes.values() if c.fact in tables}
    served = catalog.without(absent_cubes("", catalog, schemas, current=current))
    facts = tuple(dict.fromkeys(c.fact for c in served.cubes.values()))
    store = load_members(con, facts)
    read = {
        "current": current,
        "schemas": schemas,
        "single_pass": {c.id: _single_pass(con, c) for c in served.cubes.values()},
        "members": member_record(store),
    }
    return read, store


def context_from(
    read: Mapping[str, Any],
    release_id: str,
    catalog: Catalog,
    *,
    max_cells: int,
    rollups: Sequence[RollupTable] = (),
    store: MemberStore | None = None,
) -> ReleaseContext:
    """The context from what ``read_release`` read for ``catalog`` (``store``: its members, as
    read; else built from ``read``); ValueError, TypeError or KeyError when ``read`` is not
    that."""
    schemas = {
        _text(fact): {_text(col): _text(typ) for col, typ in columns.items()}
        for fact, columns in read["schemas"].items()
    }
    current = read["current"]
    if not isinstance(current, bool):
        raise TypeError("current is not a flag")
    catalog = catalog.without(absent_cubes(release_id, catalog, schemas, current=current))
    facts = tuple(dict.fromkeys(c.fact for c in catalog.cubes.values()))
    store = store or store_from_record(read["members"])
    single_pass = {c.id: read["single_pass"][c.id] for c in catalog.cubes.values()}
    if set(store.fact_years) != set(facts) or not all(
        isinstance(v, bool) for v in single_pass.values()
    ):
        raise ValueError("read for another catalog")
    by_cube: dict[str, list[RollupTable]] = {}
    for rt in rollups:
        if rt.cube in catalog.cubes:
            by_cube.setdefault(rt.cube, []).append(rt)
    return ReleaseContext(
        release_id,
        catalog,
        store,
        {f: schemas[f] for f in facts},
        single_pass,
        {cube: tuple(found) for cube, found in by_cube.items()},
        max_cells,
    )


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("not a string")
    return value


def _schema(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    rows = con.execute(f'DESCRIBE "{table}"').fetchall()
    return {name: _ibis_type(typ) for name, typ, *_ in rows}


_TYPES = {
    "BIGINT": "int64",
    "INTEGER": "int32",
    "SMALLINT": "int16",
    "TINYINT": "int8",
    "DOUBLE": "float64",
    "FLOAT": "float32",
    "VARCHAR": "string",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "HUGEINT": "decimal(38, 0)",
    "UBIGINT": "uint64",
    "UINTEGER": "uint32",
    "USMALLINT": "uint16",
    "UTINYINT": "uint8",
    "TIMESTAMP": "timestamp",
}


def _ibis_type(duck: str) -> str:
    return _TYPES.get(duck, "string" if duck.startswith("ENUM") else duck.lower())


def _single_pass(con: duckdb.DuckDBPyConnection, cube: Cube) -> bool:
    """True when distinct holdings equal rows in every cell: for stocks (cells lie within one
    year) every holding has one row per year; for events every holding has one row at all."""
    if cube.period == "stock":
        sql = f'SELECT max(holding_rows_year) <= 1 FROM "{cube.fact}"'
    else:
        sql = f'SELECT count(*) = count(DISTINCT holding) FROM "{cube.fact}"'
    row = con.execute(sql).fetchone()
    return bool(row and row[0])


def release_facts(
    con: duckdb.DuckDBPyConnection, manifest: Mapping[str, Any]
) -> tuple[frozenset[str], bool]:
    """The fact tables a release has, and whether it was built with the current layout.

    A release lists its facts in its manifest (layout version 2 on); an older one is taken to
    have the fact tables its file holds."""
    present = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    listed = manifest.get("facts")
    if isinstance(listed, Mapping):
        tables = frozenset(str(t) for t in listed.values() if t in present)
        return tables, manifest.get("layout_version") == LAYOUT_VERSION
    return frozenset(t for t in present if t.startswith("fact_")), False


def absent_cubes(
    release_id: str,
    catalog: Catalog,
    schemas: Mapping[str, Mapping[str, str]],
    *,
    current: bool,
) -> dict[str, str]:
    """The model's cubes release ``release_id`` cannot serve, with the reason a user reads.

    A cube whose fact table the release lacks is absent. A column the model maps but the fact
    table lacks is a model error in a release of the current layout (``ModelError``, every
    problem at once) and makes the cube absent in an older release."""
    absent: dict[str, str] = {}
    problems = []
    for cube in catalog.cubes.values():
        if cube.fact not in schemas:
            absent[cube.id] = f"release {release_id} was published without this cube's facts"
            continue
        missing = sorted(needed_columns(cube) - set(schemas[cube.fact]))
        if missing and current:
            problems += [f"cubes.{cube.id}: column {c!r} is not in {cube.fact}" for c in missing]
        elif missing:
            absent[cube.id] = (
                f"release {release_id} was published with an older layout of this cube's facts "
                f"({len(missing)} columns the model uses are not in it)"
            )
    if problems:
        raise ModelError(problems)
    return absent


def needed_columns(cube: Cube) -> set[str]:
    """Every fact column the model maps for ``cube``."""
    needed = {"holding", "record_key", "holding_rows_year", "year"}
    for role in cube.roles:
        needed |= {role.column(lv) for lv in role.levels if lv != "land"}
    for m in cube.measures:
        needed |= {f.column for f in m.filters} | ({m.column} if m.column else set())
    for r in cube.rollups:
        needed |= set(r.columns)
    return needed


@dataclass(frozen=True, slots=True, eq=False)
class SqlCaches:
    """Compiled SQL per plan part, and per part shape (``cube/run.py``)."""

    sql: cachetools.LRUCache[Any, Any] = field(
        default_factory=lambda: cachetools.LRUCache(maxsize=1024)
    )
    templates: cachetools.LRUCache[Any, Any] = field(
        default_factory=lambda: cachetools.LRUCache(maxsize=512)
    )
    lock: threading.Lock = field(default_factory=threading.Lock)
    disk: DiskTemplates | None = None  # templates earlier processes compiled (cube/sqlcache.py)
