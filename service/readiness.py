"""Readiness that tells the truth: the serving release's files are still the ones published.

A release's manifest names each data file with its size and SHA-256 (``files``, written by
``loaders.load``). A deleted or truncated file is seen by a ``stat`` on every check; a file
rewritten in place changes its inode, size, modification or change time, and only then is its
SHA-256 computed again. So a check costs a few ``stat`` calls, and hashing (seconds for a
release of gigabytes) happens once per version of a file. DuckDB keeps serving from a deleted
file it has open, so without this check nothing would notice until the next restart.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from loaders import releases

# A release published before manifests listed their files: check that the database exists.
LEGACY_FILES: dict[str, dict[str, object]] = {"release.duckdb": {}}

Signature = tuple[int, int, int, int]


class ReleaseFiles:
    """``problems(home, release_id)``: what is wrong with a release's files (empty: fine)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # one hash at a time: probes must not pile up on a disk
        self._known: dict[Path, tuple[Signature, bool]] = {}

    def problems(self, home: Path, release_id: str) -> list[str]:
        try:
            release = releases.get_release(home, release_id)
        except releases.ReleaseError:
            return [f"release {release_id}: its directory, manifest or database is gone"]
        files = release.manifest.get("files") or LEGACY_FILES
        found = []
        for name, expected in sorted(files.items()):
            problem = self._check(release.path / name, expected)
            if problem:
                found.append(f"release {release_id}: {name} {problem}")
        return found

    def _check(self, path: Path, expected: dict[str, object]) -> str | None:
        try:
            st = path.stat()
        except OSError:
            return "is missing"
        if "bytes" in expected and st.st_size != expected["bytes"]:
            return "has changed (size differs from the manifest)"
        digest = expected.get("sha256")
        if not isinstance(digest, str):
            return None
        if not self._matches(path, st, digest):
            return "has changed (checksum differs from the manifest)"
        return None

    def _matches(self, path: Path, st: os.stat_result, digest: str) -> bool:
        signature = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        known = self._known.get(path)
        if known is not None and known[0] == signature:
            return known[1]
        with self._lock:
            known = self._known.get(path)
            if known is None or known[0] != signature:
                known = (signature, releases.sha256_file(path) == digest)
                self._known[path] = known
        return known[1]

    def warm(self, home: Path, release_id: str) -> threading.Thread:
        """Hash the release's files in the background, so the first probe finds them known."""
        thread = threading.Thread(
            target=self.problems, args=(home, release_id), name="zicht-ready-warm", daemon=True
        )
        thread.start()
        return thread
