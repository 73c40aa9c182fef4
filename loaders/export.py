"""Export a release's fact tables as Parquet, for engines that cannot read the release's DuckDB
file (Spark on a cluster reads the same rows, record keys and holdings).

Where: a local directory or an object store / distributed file system, named by URI and reached
through pyarrow's file systems (``s3://`` and ``s3a://``, ``gs://``, ``abfs://``/``abfss://``,
``hdfs://``). An unsupported scheme, credentials inside the URI or a file system that cannot be
reached are refused before any work. Credentials come from the environment the file system
reads (``AWS_ACCESS_KEY_ID``, ``GOOGLE_APPLICATION_CREDENTIALS``, ``AZURE_STORAGE_*``...), never
from the URI, which is recorded in the manifest.

Layout: ``<target>/zicht-export-<stamp>/<fact>/part-<i>.parquet``. Files hold the fact's rows
in the release's order (first role's gemeente, year), so row-group statistics let a reader skip
what a cut excludes; files are sized by rows (``ROWS_PER_FILE``), not one per partition: a small
fact is one file. Every column keeps its release type inside the files.

Object stores have no atomic rename, so an export is committed by the manifest: it is written
into a new versioned directory and only then named in ``manifest.json`` (atomic replace); a
reader never finds half an export, and versions that the manifest no longer names are removed.

The export holds microdata: local files get the release's modes (owner only by default). The
record keys — what the noise of every published figure is built from — and the holdings leave
encrypted (Parquet modular encryption, ``loaders.export_crypto``) or, only when the operator asks
for it, in clear.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.dataset as pads
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from layout.facts import EXPORT_ROLLUP_DIR as ROLLUP_DIR
from layout.facts import ROLLUP_FORMAT
from loaders.export_crypto import SECRET_COLUMNS, ExportKeys, encryption_config, file_encryption
from loaders.files import PRIVATE, FileModes, restricted, secure, secure_tree
from loaders.releases import Release, ReleaseError

log = logging.getLogger("zicht.loaders")

MANIFEST_KEY = "parquet"
DEFAULT_DIR = "parquet"
VERSION_PREFIX = "zicht-export-"
ROWS_PER_FILE = 4_000_000
ROW_GROUP = 122_880  # DuckDB's own row-group size: statistics per ~120k rows

# scheme -> (pyarrow's scheme, what Spark and Hadoop call it)
SCHEMES: dict[str, str] = {
    "": "file",
    "file": "file",
    "s3": "s3",
    "s3a": "s3",
    "gs": "gs",
    "gcs": "gs",
    "abfs": "abfs",
    "abfss": "abfss",
    "hdfs": "hdfs",
}
CREDENTIAL_PARAMS = frozenset(
    {"access_key", "secret_key", "session_token", "account_key", "sas_token", "client_secret"}
)


@dataclass(frozen=True, slots=True)
class Target:
    """Where an export goes: ``uri`` as a Spark executor reads it (no query string), the file
    system that writes it and the path inside that file system."""

    uri: str
    filesystem: pafs.FileSystem
    path: str

    @property
    def local(self) -> bool:
        return isinstance(self.filesystem, pafs.LocalFileSystem)

    def join(self, *parts: str) -> Target:
        sub = "/".join(parts)
        return Target(f"{self.uri.rstrip('/')}/{sub}", self.filesystem, f"{self.path}/{sub}")


@dataclass(frozen=True, slots=True)
class FactExport:
    fact: str
    rows: int
    sorted_by: tuple[str, ...]
    files: int
    encrypted: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RollupSource:
    """The rollup file beside a release and the tables of it to export (its owner, the cube
    engine, says which are usable for the release)."""

    path: Path
    tables: tuple[str, ...]


def resolve_target(where: str | Path) -> Target:
    """The export target named by a local path or a URI; ``ReleaseError`` for an unsupported
    scheme, credentials in the URI, or a file system that cannot be set up here."""
    text = str(where)
    parts = urllib.parse.urlsplit(text)
    scheme = parts.scheme.lower()
    if len(scheme) == 1:  # a drive letter, not a scheme
        scheme = ""
    if scheme not in SCHEMES:
        known = ", ".join(f"{s}://" for s in SCHEMES if s not in ("", "file"))
        raise ReleaseError(
            f"unsupported export location scheme {scheme!r}: use a local path or {known}"
        )
    if scheme in ("", "file"):
        local = Path(parts.path if scheme == "file" else text).absolute()
        return Target(str(local), pafs.LocalFileSystem(), str(local))
    params = urllib.parse.parse_qs(parts.query)
    if parts.password or CREDENTIAL_PARAMS & set(params):
        raise ReleaseError(
            "credentials do not belong in the export URI (it is recorded in the manifest): "
            "give them in the environment the storage client reads"
        )
    if not parts.netloc or not parts.path.strip("/"):
        raise ReleaseError(f"an export URI needs a bucket or host and a path: {scheme}://…")
    arrow_uri = urllib.parse.urlunsplit((SCHEMES[scheme], *parts[1:]))
    try:
        filesystem, path = pafs.FileSystem.from_uri(arrow_uri)
    except (OSError, ValueError) as exc:
        raise ReleaseError(
            f"cannot set up the {scheme}:// file system here ({type(exc).__name__}): "
            "see docs/spark.md for what a storage client needs"
        ) from exc
    uri = urllib.parse.urlunsplit((scheme, parts.netloc, parts.path.rstrip("/"), "", ""))
    return Target(uri, filesystem, path.rstrip("/"))


def fact_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_name LIKE 'fact\\_%' ESCAPE '\\' ORDER BY table_name"
    ).fetchall()
    return [r[0] for r in rows]


def sort_columns(con: duckdb.DuckDBPyConnection, fact: str) -> tuple[str, ...]:
    """The first role's gemeente and the year: the order the release stores facts in."""
    cols = [r[0] for r in con.execute(f'DESCRIBE "{fact}"').fetchall()]
    gemeente = next((c for c in cols if c.endswith("_gemeente")), None)
    if gemeente is None or "year" not in cols:
        raise ReleaseError(f"{fact} has no gemeente or year column to order by")
    return (gemeente, "year")


def _files(target: Target) -> int:
    selector = pafs.FileSelector(target.path, recursive=True, allow_not_found=True)
    infos = target.filesystem.get_file_info(selector)
    return sum(1 for i in infos if i.type == pafs.FileType.File and i.path.endswith(".parquet"))


def _export_fact(
    con: duckdb.DuckDBPyConnection, fact: str, out: Target, keys: ExportKeys | None
) -> FactExport:
    return _export_table(con, f'"{fact}"', fact, sort_columns(con, fact), out, keys)


def _export_table(
    con: duckdb.DuckDBPyConnection,
    source: str,
    name: str,
    order: tuple[str, ...],
    out: Target,
    keys: ExportKeys | None,
) -> FactExport:
    """One table (``source``, as DuckDB names it) into ``out/name``, in its stored order."""
    cols = [r[0] for r in con.execute(f"DESCRIBE {source}").fetchall()]
    secret = tuple(c for c in cols if c in SECRET_COLUMNS)
    fmt = pads.ParquetFileFormat()
    options = fmt.make_write_options(
        compression="zstd",
        encryption_config=encryption_config(keys, list(secret)) if keys else None,
    )
    row = con.execute(f"SELECT count(*) FROM {source}").fetchone()
    rows = int(row[0]) if row else 0
    # the reader streams the result: nothing else may run on ``con`` until it is written
    reader = con.execute(f"SELECT * FROM {source}").to_arrow_reader(ROW_GROUP)
    if rows == 0:  # the dataset writer writes no file for no rows; a reader needs the schema
        _empty_file(reader.schema, out.join(name), keys, secret)
        return FactExport(name, 0, order, 1, secret if keys else ())
    pads.write_dataset(
        reader,
        out.join(name).path,
        format=fmt,
        file_options=options,
        filesystem=out.filesystem,
        basename_template="part-{i}.parquet",
        max_rows_per_file=ROWS_PER_FILE,
        max_rows_per_group=ROW_GROUP,
        min_rows_per_group=ROW_GROUP,
        preserve_order=True,
        existing_data_behavior="error",
    )
    return FactExport(name, rows, order, _files(out.join(name)), secret if keys else ())


def _empty_file(schema: Any, out: Target, keys: ExportKeys | None, secret: tuple[str, ...]) -> None:
    out.filesystem.create_dir(out.path, recursive=True)
    encryption = file_encryption(keys, secret) if keys else None
    with out.filesystem.open_output_stream(f"{out.path}/part-0.parquet") as f:
        pq.write_table(
            schema.empty_table(), f, compression="zstd", encryption_properties=encryption
        )


def _export_rollups(
    con: duckdb.DuckDBPyConnection, rollups: RollupSource, out: Target, keys: ExportKeys | None
) -> list[FactExport]:
    con.execute(f"ATTACH '{rollups.path}' AS exported_rollups (READ_ONLY)")
    try:
        return [
            _export_table(con, f'exported_rollups."{t}"', t, (), out.join(ROLLUP_DIR), keys)
            for t in rollups.tables
        ]
    finally:
        con.execute("DETACH exported_rollups")


def export_release(
    release: Release,
    to: str | Path | None = None,
    modes: FileModes = PRIVATE,
    *,
    keys: ExportKeys | None = None,
    clear_keys: bool = False,
    rollups: RollupSource | None = None,
) -> list[FactExport]:
    """Write every fact table of ``release`` as Parquet into a new version under ``to``
    (default: ``<release>/parquet``), with the ``rollups`` tables under ``rollups/``, name it
    in the manifest, then remove older versions there.

    Record keys, their sums and holdings are encrypted with ``keys``; without keys the export
    is refused unless ``clear_keys`` says the operator wants them in clear."""
    if keys is None and not clear_keys:
        raise ReleaseError(
            "the export would carry record keys and holdings in clear: configure export keys "
            "(ZICHT_EXPORT_KEYS) or pass --clear-keys to accept that"
        )
    target = resolve_target(to if to is not None else release.path / DEFAULT_DIR)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    version = target.join(f"{VERSION_PREFIX}{stamp}")
    try:
        con = duckdb.connect(str(release.db_path), read_only=True)
        try:
            if target.local:
                Path(target.path).mkdir(parents=True, exist_ok=True, mode=modes.directory)
            with restricted(modes):
                target.filesystem.create_dir(version.path, recursive=True)
                done = [_export_fact(con, f, version, keys) for f in fact_tables(con)]
                rolled = _export_rollups(con, rollups, version, keys) if rollups else []
        finally:
            con.close()
    except (duckdb.Error, OSError) as exc:
        _remove(version)
        raise ReleaseError(
            f"export of release {release.id} failed ({type(exc).__name__}); nothing was published"
        ) from exc
    if target.local:
        secure_tree(Path(target.path), modes)
    _record(release, version, done, rolled, modes)
    _prune(target, keep=version)
    return done


def _remove(version: Target) -> None:
    with contextlib.suppress(OSError):  # nothing there, or unreachable: the manifest never named it
        version.filesystem.delete_dir(version.path)


def _prune(target: Target, keep: Target) -> None:
    """Remove the versions under ``target`` that the manifest no longer names."""
    selector = pafs.FileSelector(target.path, allow_not_found=True)
    for info in target.filesystem.get_file_info(selector):
        old = info.type == pafs.FileType.Directory and info.base_name.startswith(VERSION_PREFIX)
        if old and info.path.rstrip("/") != keep.path.rstrip("/"):
            _remove(Target(info.path, target.filesystem, info.path))


def _record(
    release: Release,
    version: Target,
    done: list[FactExport],
    rolled: list[FactExport],
    modes: FileModes,
) -> None:
    """Name the export in ``manifest.json`` (atomic replace); a path inside the release is
    stored relative to it, so the release directory can move."""
    manifest: dict[str, Any] = json.loads((release.path / "manifest.json").read_text("utf-8"))
    where = version.uri
    if version.local:
        with contextlib.suppress(ValueError):
            where = str(Path(version.path).relative_to(release.path.absolute()))
    manifest[MANIFEST_KEY] = {
        "path": where,
        "exported": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "encrypted_columns": sorted({c for d in done + rolled for c in d.encrypted}),
        "facts": {
            d.fact: {"rows": d.rows, "files": d.files, "sorted_by": list(d.sorted_by)} for d in done
        },
        "rollups": {d.fact: {"rows": d.rows, "files": d.files} for d in rolled},
        # the rollup file's tables are of this code's layout (the engine reads no other)
        "rollup_format": ROLLUP_FORMAT,
    }
    tmp = release.path / f".manifest.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    secure(tmp, modes)
    os.replace(tmp, release.path / "manifest.json")


@dataclass(frozen=True, slots=True)
class ExportEntry:
    """What a release's manifest says of its export: where (a local path or a URI), which
    facts, and which columns are encrypted."""

    location: str
    facts: tuple[str, ...]
    encrypted_columns: tuple[str, ...]
    rollups: tuple[str, ...] = ()  # rollup tables, under ``<location>/rollups/``


def export_entry(release_path: Path, manifest: dict[str, Any]) -> ExportEntry | None:
    """The release's export, or None when it has none."""
    entry = manifest.get(MANIFEST_KEY)
    if not isinstance(entry, dict) or not entry.get("path"):
        return None
    path = str(entry["path"])
    if not urllib.parse.urlsplit(path).scheme or len(urllib.parse.urlsplit(path).scheme) == 1:
        path = str(release_path / path)  # an absolute path stays absolute
    facts = entry.get("facts") if isinstance(entry.get("facts"), dict) else {}
    rollups = entry.get("rollups") if isinstance(entry.get("rollups"), dict) else {}
    if rollups and entry.get("rollup_format") != ROLLUP_FORMAT:
        # exported before the rollup tables changed layout: their columns are not the ones
        # the engine reads, so the other engine answers from the exported facts instead
        log.warning(
            "the export of %s carries rollups of another layout: not read "
            "(run zicht export again for them)",
            release_path.name,
        )
        rollups = {}
    return ExportEntry(
        path,
        tuple(sorted(facts or {})),
        tuple(entry.get("encrypted_columns") or ()),
        tuple(sorted(rollups or {})),
    )
