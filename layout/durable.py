"""Durable writes of a release's files: fsync, then an atomic replace, then fsync the directory
(so a crash leaves the old file or the new one, never a torn or vanished one). Used by the
loaders (manifest, ``current`` pointer, publishing) and the cube engine (rollup files)."""

from __future__ import annotations

import os
from pathlib import Path


def fsync_path(path: Path) -> None:
    """Flush a file or a directory (its entries) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_synced(tmp: Path, final: Path) -> None:
    """Make the finished file ``tmp`` durable and atomically put it at ``final``."""
    fsync_path(tmp)
    os.replace(tmp, final)
    fsync_path(final.parent)


def write_replace(path: Path, text: str, mode: int | None = None) -> None:
    """Write ``text`` to a temporary file beside ``path`` (with ``mode`` when given, else as
    ``open`` makes it), fsync it and atomically replace ``path`` with it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    fd = os.open(tmp, flags, 0o666 if mode is None else mode)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    if mode is not None:
        os.chmod(tmp, mode)  # whatever the umask
    os.replace(tmp, path)
    fsync_path(path.parent)


def write_synced(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` and fsync it (a file of a directory published as a whole)."""
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
