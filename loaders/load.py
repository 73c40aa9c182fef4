"""``load_directory``: validate a directory of input files and publish it as a new release.

The pipeline, one step each: find files → stage them into a work database → validate (all
problems, the optional wijk/buurt boundaries' included) → checksum → build the release tables →
manifest → fsync → atomic publish.
Everything happens under ``<home>/staging/<load>/``; only a complete release directory is
renamed into ``<home>/releases/`` and only then does ``current`` switch to it. Any failure
(bad data, disk full, a bug) removes the staging directory and publishes nothing; a load
killed outright leaves a staging directory that the next load removes.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from dimensions import regions
from layout.durable import fsync_path, write_synced
from layout.facts import FactLayout
from loaders import build
from loaders.boundaries import (
    BoundaryFile,
    Delivered,
    check_nesting,
    find_boundary_files,
    read_boundaries,
)
from loaders.contracts import CONTRACT_VERSION
from loaders.files import PRIVATE, FileModes, private_dir, restricted, secure_tree
from loaders.keys import DESCRIPTION, derive_key
from loaders.problems import ERROR, LoadProblem
from loaders.progress import NullProgress, Progress
from loaders.releases import Release, ReleaseError, file_checksums, sha256_file, switch_release
from loaders.stage import Source, find_sources, stage_source
from loaders.validate import validate

ENV_MEMORY_LIMIT = "ZICHT_LOAD_MEMORY_LIMIT"
# DuckDB spills beyond this into the staging directory's tmp/: the load's own peak stays
# near 2.5 GiB at any scale, where an unbounded DuckDB took 7.8 GiB at a quarter of the nation.
DEFAULT_MEMORY_LIMIT = "2GB"


class LoadError(Exception):
    """The input cannot be loaded; ``problems`` lists every reason (safe to show)."""

    def __init__(self, problems: list[LoadProblem]) -> None:
        self.problems = problems
        errors = sum(p.severity == ERROR for p in problems)
        super().__init__(f"load refused ({errors} problems reported), nothing was published")


class LoadBusy(ReleaseError):
    """Another load into the same home is running (message safe to show)."""


LOCK_FILE = ".load.lock"


def make_home(home: Path, modes: FileModes) -> None:
    """Create the data home (owner only, or with the group) if it does not exist yet."""
    if not home.is_dir():
        home.mkdir(parents=True, exist_ok=True, mode=modes.directory)
        os.chmod(home, modes.directory)


@contextmanager
def load_lock(home: Path) -> Iterator[None]:
    """One load at a time into ``home``: an exclusive ``flock`` on ``<home>/.load.lock``,
    taken without waiting. The kernel drops it when the process ends, however it ends, so a
    killed load never blocks the next one."""
    path = home / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
            raise LoadBusy(
                f"another load into {home} is running (process {holder}); nothing was done: "
                "run this one when it has finished"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


@dataclass(frozen=True, slots=True)
class _Plan:
    """What one load publishes: decided once validation has passed."""

    release_id: str
    created: str  # UTC ISO with microseconds: orders releases made within one second
    sources: tuple[Source, ...]
    checksums: tuple[str, ...]
    meta: dict[str, str]
    boundaries: tuple[Delivered, ...] = ()
    boundary_checksums: tuple[str, ...] = field(default=())


def load_directory(
    source: Path,
    home: Path,
    *,
    secret: bytes,
    progress: Progress | None = None,
    extra_meta: dict[str, Any] | None = None,
    finalize: Callable[[Path, str], None] | None = None,
    modes: FileModes = PRIVATE,
    lock: bool = True,
) -> Release:
    """Validate ``source`` and publish it as the new current release under ``home``.
    ``finalize(db_path, release_id)``, if given, runs after the build and before publishing:
    files it writes beside the release's database (the engine's rollups) are published with
    it, atomically; if it fails, nothing is published. Everything written gets ``modes``.
    Holds the home's load lock (``LoadBusy`` at once if another load holds it) unless
    ``lock`` is false because the caller holds it already (``load_lock``)."""
    progress = progress or NullProgress()
    derived_key = derive_key(secret)  # fail on a bad secret before any work
    source = Path(source)
    if not source.is_dir():
        raise LoadError([LoadProblem(str(source), None, None, "not a directory")])
    sources, problems = find_sources(source)
    inputs = _Inputs(sources, find_boundary_files(source), problems)
    make_home(home, modes)
    with load_lock(home) if lock else nullcontext(), restricted(modes):
        return _load_locked(
            source, home, derived_key, inputs, progress, extra_meta, finalize, modes
        )


@dataclass(frozen=True, slots=True)
class _Inputs:
    """The files found in the delivery, and the problems finding them."""

    sources: list[Source]
    boundary_files: list[tuple[BoundaryFile, Path]]
    problems: list[LoadProblem]


def _load_locked(
    source: Path,
    home: Path,
    derived_key: str,
    inputs: _Inputs,
    progress: Progress,
    extra_meta: dict[str, Any] | None,
    finalize: Callable[[Path, str], None] | None,
    modes: FileModes,
) -> Release:
    clean_stale_staging(home)
    staging = _new_staging(home, modes)
    steps = len(inputs.sources) + len(inputs.boundary_files) + 4 + len(build.FACTS)
    progress.start(steps + (finalize is not None))
    try:
        return _load_staged(
            home, staging, derived_key, inputs, progress, extra_meta, finalize, modes
        )
    except duckdb.OutOfMemoryException:
        # Not a problem of the files, so not reported as one of a file (a damaged page).
        limit = memory_limit()
        raise LoadError(
            [
                LoadProblem(
                    str(source),
                    None,
                    None,
                    f"the database engine ran out of memory (the load's limit is {limit}, "
                    f"setting {ENV_MEMORY_LIMIT}); nothing is wrong with the files",
                )
            ]
        ) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _load_staged(
    home: Path,
    staging: Path,
    derived_key: str,
    inputs: _Inputs,
    progress: Progress,
    extra_meta: dict[str, Any] | None,
    finalize: Callable[[Path, str], None] | None,
    modes: FileModes,
) -> Release:
    con = _connect(staging)
    try:
        warnings, delivered = _stage_and_validate(con, inputs, progress)
        plan = _plan(home, inputs.sources, delivered, extra_meta or {}, progress)
        out = staging / "release"
        facts = build.FACTS
        counts = _build(con, out, plan, facts, derived_key, progress)
    finally:
        con.close()
    if finalize is not None:
        with progress.step("pre-aggregating"):
            finalize(out / "release.duckdb", plan.release_id)
    with progress.step("publishing"):
        return _publish(home, out, _manifest(plan, facts, counts, warnings), modes)


def _stage_and_validate(
    con: duckdb.DuckDBPyConnection, inputs: _Inputs, progress: Progress
) -> tuple[list[LoadProblem], tuple[Delivered, ...]]:
    """Stage and check every file; raise LoadError on any error, return the warnings and the
    delivered boundaries."""
    problems = list(inputs.problems)
    readable = []
    for src in inputs.sources:
        with progress.step(f"reading {src.path.name}"):
            problem = stage_source(con, src)
        problems += [problem] if problem else []
        readable += [] if problem else [src]
    with progress.step("validating"):
        problems += validate(con, readable)
    delivered = []
    for spec, path in inputs.boundary_files:
        with progress.step(f"reading {path.name}"):
            boundaries, found = read_boundaries(spec, path, _known_codes(con, spec, readable))
        problems += found
        delivered.append(Delivered(spec, path, boundaries))
    problems += check_nesting(delivered)
    if any(p.severity == ERROR for p in problems):
        raise LoadError(problems)
    for p in problems:
        progress.note(str(p))
    return problems, tuple(delivered)


def _known_codes(
    con: duckdb.DuckDBPyConnection, spec: BoundaryFile, readable: list[Source]
) -> frozenset[str]:
    """The codes a boundary file may name: the CBS 2023 wijken, or the delivered buurten."""
    if spec.level == "wijk":
        return frozenset(w.code for w in regions.wijken())
    if not any(s.dataset.name == "buurten" for s in readable):
        return frozenset()  # buurten itself is refused: its problems are reported already
    try:
        rows = con.execute("SELECT DISTINCT CAST(buurt_code AS VARCHAR) FROM src_buurten")
        return frozenset(str(code) for (code,) in rows.fetchall() if code is not None)
    except duckdb.Error:  # no such column: reported by the buurten checks
        return frozenset()


def _plan(
    home: Path,
    sources: list[Source],
    delivered: tuple[Delivered, ...],
    extra_meta: dict[str, Any],
    progress: Progress,
) -> _Plan:
    with progress.step("checksums"):
        checksums = tuple(sha256_file(s.path) for s in sources)
        boundary_checksums = tuple(sha256_file(d.path) for d in delivered)
    created = datetime.now(UTC)
    return _Plan(
        release_id=_release_id(home, created, [*checksums, *boundary_checksums]),
        created=created.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        sources=tuple(sources),
        checksums=checksums,
        meta={k: str(v) for k, v in extra_meta.items()},
        boundaries=delivered,
        boundary_checksums=boundary_checksums,
    )


def _manifest(
    plan: _Plan,
    facts: tuple[FactLayout, ...],
    counts: dict[str, int],
    warnings: list[LoadProblem],
) -> dict[str, Any]:
    sources = [
        {
            "dataset": s.dataset.name,
            "file": s.path.name,
            "sha256": c,
            "bytes": s.path.stat().st_size,
        }
        for s, c in zip(plan.sources, plan.checksums, strict=True)
    ]
    return {
        "id": plan.release_id,
        "created": plan.created,
        "contract_version": CONTRACT_VERSION,
        "layout_version": build.LAYOUT_VERSION,
        "facts": {f.dataset: f.table for f in facts},
        "sources": sources,
        "boundaries": [
            {
                "level": d.spec.level,
                "file": d.path.name,
                "sha256": c,
                "bytes": d.path.stat().st_size,
                "areas": len(d.boundaries),
            }
            for d, c in zip(plan.boundaries, plan.boundary_checksums, strict=True)
        ],
        "row_counts": counts,
        "record_key": DESCRIPTION,
        "warnings": [str(p) for p in warnings],
        "meta": plan.meta,
    }


def memory_limit() -> str:
    """DuckDB's memory limit while building a release and its rollups."""
    return os.environ.get(ENV_MEMORY_LIMIT, DEFAULT_MEMORY_LIMIT)


def _connect(staging: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(staging / "work.duckdb"))
    con.execute("SET memory_limit = $m", {"m": memory_limit()})
    con.execute("SET temp_directory = $t", {"t": str(staging / "tmp")})
    con.execute("SET enable_progress_bar = false")
    return con


def _build(
    con: duckdb.DuckDBPyConnection,
    out: Path,
    plan: _Plan,
    facts: tuple[FactLayout, ...],
    derived_key: str,
    progress: Progress,
) -> dict[str, int]:
    """Write every release table into ``out/release.duckdb``; return the row counts."""
    out.mkdir()
    db = str(out / "release.duckdb").replace("'", "''")
    con.execute(f"ATTACH '{db}' AS rel")  # ATTACH takes no parameters
    build.create_typed_views(con, [s.dataset for s in plan.sources])
    with progress.step("regions, neighbours, sectors"):
        meta = {"release_id": plan.release_id, "contract_version": CONTRACT_VERSION}
        build.build_meta(con, {**meta, "created": plan.created, **plan.meta})
        build.build_sector(con)
        build.build_neighbours(con)
        build.build_region(con)
        build.build_boundaries(con, [b for d in plan.boundaries for b in d.boundaries])
        build.create_helpers(con)
    for spec in facts:
        with progress.step(f"building {spec.table}"):
            build.build_fact(con, spec, derived_key)
    tables = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = 'rel' ORDER BY 1"
    ).fetchall()
    counts = {}
    for (table,) in tables:
        row = con.execute(f"SELECT count(*) FROM rel.{table}").fetchone()
        counts[table] = int(row[0]) if row else 0
    con.execute("CHECKPOINT rel")
    con.execute("DETACH rel")
    return counts


def _publish(home: Path, out: Path, manifest: dict[str, Any], modes: FileModes) -> Release:
    release_id = manifest["id"]
    manifest["files"] = file_checksums(out)
    write_synced(out / "manifest.json", json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    secure_tree(out, modes)
    for f in out.iterdir():
        fsync_path(f)
    fsync_path(out)
    releases = private_dir(home / "releases", modes)
    target = releases / release_id
    if target.exists():  # ids are unique under the load lock; never merge into another release
        raise ReleaseError(f"release {release_id} exists already; nothing was published")
    os.rename(out, target)  # atomic on one file system: the release appears complete or not at all
    fsync_path(releases)
    return switch_release(home, release_id)


def _release_id(home: Path, created: datetime, checksums: list[str]) -> str:
    digest = hashlib.sha256("".join(checksums).encode()).hexdigest()[:8]
    base = f"{created.strftime('%Y%m%dT%H%M%SZ')}-{digest}"
    release_id, n = base, 1
    while (home / "releases" / release_id).exists():  # same data loaded twice in one second
        n += 1
        release_id = f"{base}-{n}"
    return release_id


# --- staging directories -------------------------------------------------------------------

OWNER_FILE = "owner.pid"


def _new_staging(home: Path, modes: FileModes) -> Path:
    path = private_dir(home / "staging", modes) / f"load-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    path.mkdir(mode=modes.directory)
    (path / OWNER_FILE).write_text(str(os.getpid()), encoding="utf-8")
    return path


def clean_stale_staging(home: Path) -> list[Path]:
    """Remove staging directories whose load process is gone (killed loads); return them."""
    root = home / "staging"
    removed: list[Path] = []
    if not root.is_dir():
        return removed
    for path in root.iterdir():
        if path.is_dir() and not _owner_alive(path):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _owner_alive(path: Path) -> bool:
    try:
        pid = int((path / OWNER_FILE).read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
