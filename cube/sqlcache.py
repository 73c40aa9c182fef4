"""Compiled SQL templates kept on disk, so that a new process (every `zicht query`, every server
worker) fills the template an earlier process compiled instead of importing Ibis and compiling
the shape again (``cube/run.py`` compiles a shape once per process otherwise).

One JSON file per template in ``<home>/cache/sql/<release id>/``, named by a SHA-256 of
everything the SQL depends on: the template's key (the part's shape with its whole cube
model, the items, the grouping sets and the situation), the release's rollup tables and fact
schema for the cube, the backend, the release id and ``code_version()`` (every source file of
the packages that compile SQL and of the cube models, and the versions of Ibis, sqlglot and
DuckDB). Another release, another version of the code or of a library never reads a template
it did not write. A key whose text would not name everything (an abridged ``repr``) is not
stored. A record is stored only if it is a strategy's statements, flags and columns, nothing
else; a file that does not read back as one is ignored. Each statement is kept as its tree
(sqlglot's own serialisation, read only when needed) with its placeholders and its DuckDB text
around the member lists (``cube.statement``): a process that fills a template with integer
keys on DuckDB imports neither Ibis nor sqlglot. Files are written whole (a rename) and
private to the user; any I/O error only means compiling again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import importlib
import json
import os
import tempfile
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from cube.plan import Part
from cube.sql import Columns
from cube.statement import Statement, pieces_key

ROOT = Path(__file__).resolve().parents[1]
# What compiled SQL depends on: the engine, the model and layout packages, the cube models.
SOURCES = ("cube", "dimensions", "measures", "layout")
LIBRARIES = ("ibis-framework", "sqlglot", "duckdb")
STRATEGIES = "cube.strategies."
FORMAT = 2
_NODES = ("sqlglot.expressions.", "DataType.Type")  # sqlglot's nodes, its type enum


@lru_cache(maxsize=1)
def code_version() -> str:
    """SHA-256 of the sources that compile SQL and of the library versions."""
    digest = hashlib.sha256(f"format {FORMAT}\n".encode())
    for package in SOURCES:
        for path in sorted((ROOT / package).rglob("*")):
            if path.suffix in (".py", ".yaml") and path.is_file():
                digest.update(str(path.relative_to(ROOT)).encode() + b"\0")
                digest.update(path.read_bytes() + b"\0")
    for name in LIBRARIES:
        try:
            found = metadata.version(name)
        except metadata.PackageNotFoundError:
            found = "-"
        digest.update(f"{name}=={found}\n".encode())
    return digest.hexdigest()


@dataclasses.dataclass(frozen=True, slots=True)
class DiskTemplates:
    """Templates of one release and backend under ``directory`` (``<home>/cache/sql``)."""

    directory: Path
    release_id: str
    backend: str = "duckdb"

    def _path(self, key: Any) -> Path | None:
        text = repr(key)
        if "..." in text:  # numpy abridges long arrays: this text would not name the key
            return None
        scope = f"{self.release_id}\0{self.backend}\0{code_version()}\0"
        name = hashlib.sha256((scope + text).encode()).hexdigest()
        return self.directory / safe_name(self.release_id) / f"{name}.json"

    def get(self, key: Any, part: Part) -> Any | None:
        """The stored template for ``key``, its measures those of ``part``; None if absent."""
        path = self._path(key)
        if path is None:
            return None
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            return _restore(record, part)
        except (OSError, ValueError, TypeError, KeyError, AttributeError, ImportError):
            return None

    def put(self, key: Any, compiled: Any, part: Part) -> None:
        path = self._path(key)
        record = _record(compiled, part)
        if path is None or record is None:
            return
        with contextlib.suppress(OSError):  # a read-only or full disk: the next process compiles
            write_private(path, json.dumps(record))


def write_private(path: Path, text: str) -> None:
    """``text`` into ``path`` whole (a rename: readers never see half a file), owner-only
    (``mkstemp`` creates 0600), its directories too."""
    private_dirs(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def private_dirs(directory: Path) -> None:
    """``directory`` and its missing parents, each owner-only (``mkdir(parents=True)`` would
    give the parents the umask's mode)."""
    missing = []
    while not directory.is_dir():
        missing.append(directory)
        directory = directory.parent
    for d in reversed(missing):
        d.mkdir(mode=0o700, exist_ok=True)


def safe_name(release_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in release_id) or "_"


def _record(compiled: Any, part: Part) -> dict[str, Any] | None:
    """The template as JSON, or None if it holds more than statements, flags and columns."""
    cls = type(compiled)
    if not dataclasses.is_dataclass(compiled) or not cls.__module__.startswith(STRATEGIES):
        return None
    texts: dict[str, Any] = {}
    flags: dict[str, bool] = {}
    columns = None
    for f in dataclasses.fields(compiled):
        value = getattr(compiled, f.name)
        if isinstance(value, Statement):
            if value.members:  # stored as the tree with its members as literals
                value = value.with_tree(value.bound_tree())
            texts[f.name] = _statement_record(value)
        elif isinstance(value, bool):
            flags[f.name] = value
        elif f.name == "columns" and type(value) is Columns:
            columns = value
        else:
            return None
    if columns is None or not all(m in part.measures for m in columns.measures):
        return None
    return {
        "class": f"{cls.__module__}:{cls.__qualname__}",
        "measures": [m.id for m in columns.measures],
        "alias": list(columns.alias),
        "sum_alias": list(columns.sum_alias),
        "texts": texts,
        "flags": flags,
    }


def _statement_record(statement: Statement) -> dict[str, Any]:
    from sqlglot import serde

    from cube.dialects import DIALECTS, pieces

    holes = statement.placeholders()
    cuts = frozenset(h for h in holes if h.startswith("cut"))
    record: dict[str, Any] = {"tree": serde.dump(statement.tree), "holes": sorted(holes)}
    if holes == cuts:  # else a ``where`` is bound first, which makes another tree
        key = pieces_key("duckdb", None, cuts)
        parts = statement.memo.get(key)
        if parts is None:
            parts = statement.memo[key] = pieces(statement.tree, cuts, DIALECTS["duckdb"], None)
        record["duckdb"] = parts
    if "branches" in statement.memo:
        record["branches"] = statement.memo["branches"]
    if "list_columns" in statement.memo:
        record["lists"] = list(statement.memo["list_columns"])
    return record


def _statement(record: dict[str, Any]) -> Statement:
    tree = record["tree"]
    # sqlglot reads a class by its dotted name and imports its module: only its own nodes
    if not isinstance(tree, list) or not all(
        isinstance(n, dict) and str(n.get("c", _NODES[0])).startswith(_NODES) for n in tree
    ):
        raise ValueError("not a statement's tree")
    holes = frozenset(str(h) for h in record["holes"])
    cuts = frozenset(h for h in holes if h.startswith("cut"))
    memo: dict[Any, Any] = {"holes": holes}
    if "duckdb" in record:
        parts = [str(p) for p in record["duckdb"]]
        if len(parts) % 2 != 1 or not set(parts[1::2]) <= cuts:
            raise ValueError("not a statement's text around its member lists")
        memo[pieces_key("duckdb", None, cuts)] = parts
    if "branches" in record:
        memo["branches"] = [[str(c) for c in b] for b in record["branches"]]
    if "lists" in record:
        memo["list_columns"] = tuple(str(c) for c in record["lists"])
    return Statement(tree, memo=memo)


def _restore(record: dict[str, Any], part: Part) -> Any | None:
    module, _, name = str(record["class"]).partition(":")
    if not module.startswith(STRATEGIES):
        return None
    cls = getattr(importlib.import_module(module), name)
    fields = {f.name for f in dataclasses.fields(cls)}
    texts, flags = record["texts"], record["flags"]
    if fields != {"columns", *texts, *flags} or not all(
        isinstance(t, dict) for t in texts.values()
    ):
        return None
    statements = {name: _statement(t) for name, t in texts.items()}
    if not all(isinstance(v, bool) for v in flags.values()):
        return None
    by_id = {m.id: m for m in part.measures}
    measures = tuple(by_id[i] for i in record["measures"])
    alias = tuple(int(a) for a in record["alias"])
    sum_alias = tuple(int(a) for a in record["sum_alias"])
    if not len(measures) == len(alias) == len(sum_alias):
        return None
    return cls(columns=Columns(measures, alias, sum_alias), **statements, **flags)
