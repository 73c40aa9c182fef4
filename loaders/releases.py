"""Releases: where they live, which one serves, switching and rollback.

See ``docs/release-schema.md``. Publishing is an atomic rename of a finished staging
directory followed by an atomic replace of the ``current`` pointer file.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from layout.durable import write_replace

ENV_HOME = "ZICHT_HOME"
# What ``zicht load`` makes (``20250101T120000Z-1a2b3c4d[-2]``) and what a person may type:
# letters, digits, ``.``, ``_``, ``-``; no path separators, no leading dot, at most 80 chars.
RELEASE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}")


class ReleaseError(Exception):
    """A release problem a user can act on (message is safe to show)."""


@dataclass(frozen=True, slots=True)
class Release:
    id: str
    path: Path
    manifest: dict[str, Any]

    @property
    def db_path(self) -> Path:
        return self.path / "release.duckdb"

    @property
    def created(self) -> str:
        return str(self.manifest.get("created", ""))


def data_home(home: str | os.PathLike[str] | None = None) -> Path:
    """The data directory: ``home`` if given, else ``$ZICHT_HOME``, else a per-user default."""
    if home:
        return Path(home).expanduser()
    env = os.environ.get(ENV_HOME)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "zicht"


def _read_release(path: Path) -> Release:
    manifest_path = path / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReleaseError(f"release {path.name}: manifest missing or damaged") from exc
    if not (path / "release.duckdb").is_file():
        raise ReleaseError(f"release {path.name}: data file release.duckdb is missing")
    return Release(id=path.name, path=path, manifest=manifest)


def list_releases(home: Path) -> list[Release]:
    """All complete releases, oldest first."""
    root = home / "releases"
    if not root.is_dir():
        return []
    found = []
    for p in sorted(root.iterdir()):
        if p.is_dir():
            try:
                found.append(_read_release(p))
            except ReleaseError:
                continue
    return sorted(found, key=lambda r: (r.created, r.id))


class InvalidReleaseId(ReleaseError):
    """A release id that cannot name a release (checked before it touches the file system)."""


def check_release_id(release_id: str) -> str:
    """``release_id`` if it is well formed, else ``InvalidReleaseId`` (which quotes at most
    its first 40 characters)."""
    if not RELEASE_ID.fullmatch(release_id) or ".." in release_id:
        shown = release_id[:40] + ("..." if len(release_id) > 40 else "")
        raise InvalidReleaseId(
            f"not a valid release id: {shown!r} (letters, digits, '.', '_' and '-', "
            "at most 80 characters)"
        )
    return release_id


def get_release(home: Path, release_id: str) -> Release:
    path = home / "releases" / check_release_id(release_id)
    if not path.is_dir():
        raise ReleaseError(f"no release with id {release_id!r}")
    return _read_release(path)


def file_checksums(directory: Path) -> dict[str, dict[str, int | str]]:
    """SHA-256 and size of each data file of a release directory (not the manifest), for the
    manifest's ``files``: readiness checks the serving release against them."""
    found: dict[str, dict[str, int | str]] = {}
    for f in sorted(directory.iterdir()):
        if f.is_file() and f.name != "manifest.json" and not f.name.startswith("."):
            found[f.name] = {"sha256": sha256_file(f), "bytes": f.stat().st_size}
    return found


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def record_file(release: Release, name: str, modes_file: int = 0o600) -> None:
    """Record a data file written into a published release (``zicht rollups``) in its
    manifest's ``files``, so readiness checks it; the manifest is replaced atomically."""
    manifest = dict(release.manifest)
    files = dict(manifest.get("files") or {})
    path = release.path / name
    files[name] = {"sha256": sha256_file(path), "bytes": path.stat().st_size}
    manifest["files"] = files
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    write_replace(release.path / "manifest.json", text, modes_file)


def current_release(home: Path) -> Release | None:
    """The serving release, or None when nothing has been published yet."""
    pointer = home / "current"
    if not pointer.is_file():
        return None
    release_id = pointer.read_text(encoding="utf-8").strip()
    return get_release(home, release_id)


def named_or_current(home: Path, release_id: str | None) -> Release:
    """Release ``release_id``, or the current one when none is named (for commands that act on
    one release); ``ReleaseError`` when it does not exist."""
    if release_id:
        return get_release(home, release_id)
    found = current_release(home)
    if found is None:
        raise ReleaseError(f"no current release in {home}: run `zicht demo` or `zicht load`")
    return found


def switch_release(home: Path, release_id: str) -> Release:
    """Make ``release_id`` the serving release (atomic replace of the pointer)."""
    release = get_release(home, release_id)
    write_replace(home / "current", release.id + "\n")
    return release


def rollback(home: Path) -> Release:
    """Switch to the release published before the current one."""
    current = current_release(home)
    releases = list_releases(home)
    if current is None or len(releases) < 2:
        raise ReleaseError("nothing to roll back to: fewer than two releases")
    ids = [r.id for r in releases]
    idx = ids.index(current.id) if current.id in ids else len(ids)
    if idx == 0:
        raise ReleaseError("the current release is the oldest; nothing to roll back to")
    return switch_release(home, ids[idx - 1])
