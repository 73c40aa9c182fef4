"""What opening a release reads from its file, kept on disk for the next process: members of
every level, fact schemas, single-pass flags and the parsed cube models (``cube.context``'s
``read_release`` and ``cube.model``'s documents), so `zicht query` and every new server worker
open a release without reading ~18,000 regions from DuckDB and without parsing YAML.

One JSON file per release in ``<home>/cache/open/<release id>/``, named by a SHA-256 of the
release id, the identity of its data file (device, inode, size, modification time in ns) and
``cube.sqlcache.code_version()`` (every source file and cube model of the packages that read
it): another release, a replaced file or another version of the code never reads a record it
did not write. A record that does not read back as what was written is ignored and read again
from the release. Files are written whole (a rename) and private to the user (directories
0700, files 0600, whatever the umask); any I/O error only means reading the release again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cube.sqlcache import code_version, safe_name, write_private

FORMAT = 1


@dataclass(frozen=True, slots=True)
class OpenedRecords:
    """Records of one release under ``directory`` (``<home>/cache/open``)."""

    directory: Path
    release_id: str
    db_path: Path

    def path(self) -> Path | None:
        """The record's file; None when the data file cannot be read (nothing is kept)."""
        try:
            st = self.db_path.stat()
        except OSError:
            return None
        scope = (
            f"format {FORMAT}\0{self.release_id}\0"
            f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}\0{code_version()}"
        )
        name = hashlib.sha256(scope.encode()).hexdigest()
        return self.directory / safe_name(self.release_id) / f"{name}.json"

    def get(self) -> dict[str, Any] | None:
        """The kept record (a JSON object), or None."""
        path = self.path()
        if path is None:
            return None
        try:
            record = json.loads(path.read_bytes())
        except (OSError, ValueError):
            return None
        return record if isinstance(record, dict) else None

    def put(self, record: dict[str, Any]) -> None:
        """Keep ``record``, if JSON holds it exactly (a tuple, a key that is not a string, a
        date would not read back as written: then nothing is kept)."""
        path = self.path()
        if path is None:
            return
        try:
            text = json.dumps(record, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError):
            return
        if json.loads(text) != record:
            return
        try:
            write_private(path, text)
            for older in path.parent.glob("*.json"):  # of another code version or file
                if older != path:
                    older.unlink(missing_ok=True)
        except OSError:
            pass  # a read-only or full disk: the next process reads the release again
