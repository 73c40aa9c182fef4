"""Export a release's fact tables as Hive-partitioned Parquet, for engines that cannot read the
release's DuckDB file (Spark on a cluster reads the same rows, record keys and holdings).

Layout: ``<dir>/<fact>/<first role>_gemeente=<id>/year=<year>/data_0.parquet``. The partition
columns are also kept inside the files (``WRITE_PARTITION_COLUMNS``), so a reader that ignores
the directory names still sees every column with its release type. The export is written to a
temporary directory and renamed into place, then the manifest names it (``parquet``), so a
reader never finds half an export.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from loaders.files import PRIVATE, FileModes, restricted, secure, secure_tree
from loaders.releases import Release, ReleaseError

MANIFEST_KEY = "parquet"
DEFAULT_DIR = "parquet"


@dataclass(frozen=True, slots=True)
class FactExport:
    fact: str
    rows: int
    partition_by: tuple[str, ...]
    files: int


def fact_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_name LIKE 'fact\\_%' ESCAPE '\\' ORDER BY table_name"
    ).fetchall()
    return [r[0] for r in rows]


def partition_columns(con: duckdb.DuckDBPyConnection, fact: str) -> tuple[str, ...]:
    """The first role's gemeente and the year: the order the release sorts facts by."""
    cols = [r[0] for r in con.execute(f'DESCRIBE "{fact}"').fetchall()]
    gemeente = next((c for c in cols if c.endswith("_gemeente")), None)
    if gemeente is None or "year" not in cols:
        raise ReleaseError(f"{fact} has no gemeente or year column to partition by")
    return (gemeente, "year")


def _export_fact(con: duckdb.DuckDBPyConnection, fact: str, out: Path) -> FactExport:
    parts = partition_columns(con, fact)
    target = str(out / fact).replace("'", "''")
    con.execute(
        f"COPY (SELECT * FROM \"{fact}\") TO '{target}' (FORMAT parquet, "
        f"PARTITION_BY ({', '.join(parts)}), WRITE_PARTITION_COLUMNS true)"
    )
    row = con.execute(f'SELECT count(*) FROM "{fact}"').fetchone()
    files = sum(1 for _ in (out / fact).rglob("*.parquet"))
    return FactExport(fact, int(row[0]) if row else 0, parts, files)


def export_release(
    release: Release, to: Path | None = None, modes: FileModes = PRIVATE
) -> list[FactExport]:
    """Write every fact table of ``release`` as partitioned Parquet into ``to`` (default:
    ``<release>/parquet``), replacing an earlier export there, and record it in the manifest.
    The export holds microdata: its files and directories get ``modes``."""
    target = (to or release.path / DEFAULT_DIR).absolute()
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True, mode=modes.directory)
    try:
        con = duckdb.connect(str(release.db_path), read_only=True)
        try:
            with restricted(modes):
                done = [_export_fact(con, f, tmp) for f in fact_tables(con)]
        finally:
            con.close()
        secure_tree(tmp, modes)
        _replace_dir(tmp, target)
    except duckdb.Error as exc:
        raise ReleaseError(f"export of release {release.id} failed ({type(exc).__name__})") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    _record(release, target, done, modes)
    return done


def _replace_dir(new: Path, target: Path) -> None:
    old = target.with_name(f".{target.name}.{os.getpid()}.old")
    if target.exists():
        target.rename(old)
    new.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def _record(release: Release, target: Path, done: list[FactExport], modes: FileModes) -> None:
    """Name the export in ``manifest.json`` (atomic replace); a path inside the release is
    stored relative to it, so the release directory can move."""
    manifest: dict[str, Any] = json.loads((release.path / "manifest.json").read_text("utf-8"))
    try:
        where = str(target.relative_to(release.path.absolute()))
    except ValueError:
        where = str(target)
    manifest[MANIFEST_KEY] = {
        "path": where,
        "exported": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "facts": {
            d.fact: {"rows": d.rows, "files": d.files, "partition_by": list(d.partition_by)}
            for d in done
        },
    }
    tmp = release.path / f".manifest.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    secure(tmp, modes)
    os.replace(tmp, release.path / "manifest.json")


def parquet_dir(release_path: Path, manifest: dict[str, Any]) -> Path | None:
    """Where the release's Parquet export lives, or None when it has none."""
    entry = manifest.get(MANIFEST_KEY)
    if not isinstance(entry, dict) or not entry.get("path"):
        return None
    return release_path / str(entry["path"])  # an absolute path stays absolute
