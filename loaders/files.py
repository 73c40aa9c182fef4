"""Modes of the files zicht writes: microdata and the audit log are readable by their owner only.

Releases (``release.duckdb``, ``rollups.duckdb``, ``manifest.json``), Parquet exports, demo input
files and the audit log hold confidential microdata or what clients asked. They are created
0600 in directories 0700; with a configured group (setting ``file_group``) 0640 and 0750,
group-owned by it, so that e.g. a backup account may read them. Nothing is ever world-readable.

Two defences, because DuckDB and Parquet writers create their files themselves: a restrictive
``umask`` while files are written (``restricted``) and an explicit ``secure_tree`` of what was
written before it is published.
"""

from __future__ import annotations

import grp
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class FileModes:
    """How new files and directories are protected; ``group`` empty: owner only."""

    group: str = ""

    @property
    def file(self) -> int:
        return 0o640 if self.group else 0o600

    @property
    def directory(self) -> int:
        return 0o750 if self.group else 0o700

    @property
    def umask(self) -> int:
        return 0o027 if self.group else 0o077

    @property
    def gid(self) -> int:
        """The group's id (-1: leave the group as it is)."""
        return group_id(self.group) if self.group else -1


PRIVATE = FileModes()  # owner only: the default everywhere


def group_id(group: str) -> int:
    """The id of a group given by name or number; ``KeyError`` if there is no such group."""
    if group.isdigit():
        return int(group)
    return grp.getgrnam(group).gr_gid


@contextmanager
def restricted(modes: FileModes) -> Iterator[None]:
    """Files created inside get at most ``modes`` (the process ``umask``; restored after)."""
    old = os.umask(modes.umask)
    try:
        yield
    finally:
        os.umask(old)


def secure(path: Path, modes: FileModes) -> None:
    """Give one file or directory its mode (and group)."""
    is_dir = path.is_dir() and not path.is_symlink()
    if modes.group:
        os.chown(path, -1, modes.gid, follow_symlinks=False)
    if not path.is_symlink():
        os.chmod(path, modes.directory if is_dir else modes.file)


def secure_tree(root: Path, modes: FileModes) -> None:
    """``secure`` a directory and everything in it (or one file)."""
    secure(root, modes)
    if not root.is_dir():
        return
    for parent, dirs, files in os.walk(root):
        for name in dirs + files:
            secure(Path(parent) / name, modes)


def private_dir(path: Path, modes: FileModes) -> Path:
    """Create ``path`` (and missing parents) if needed and give it the directory mode."""
    path.mkdir(parents=True, exist_ok=True, mode=modes.directory)
    secure(path, modes)
    return path
