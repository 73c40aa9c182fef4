"""Durable audit log of every answer, JSON Lines in ``<data home>/audit/`` (the embedded store's).

One file per UTC day (``audit-YYYYMMDD.jsonl``). Each record is appended on an ``O_APPEND``
descriptor under an exclusive ``flock`` (several worker processes append to the same file) and
``fsync``-ed before the response is sent: an answer the client
received always has its record on disk, even if the process is killed right after.
Clients are recorded as ``key:<api key id>`` or ``addr:<salted hash of the address>``, never
as a raw address.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import secrets
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from loaders.files import PRIVATE, FileModes, private_dir


def load_salt(audit_dir: Path, configured: str) -> str:
    """The configured salt, else a random one created once and kept in ``.salt`` (mode 0600).

    Worker processes start together: the salt is written whole to a file of this process's
    own and linked into place, so another process finds no ``.salt`` or a complete one,
    never an empty file it would read as an empty salt (and hash addresses differently:
    rate limits and risk memory split between workers)."""
    if configured:
        return configured
    audit_dir.mkdir(parents=True, exist_ok=True)
    path = audit_dir / ".salt"
    if not path.exists():
        mine = audit_dir / f".salt.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(mine, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(secrets.token_hex(16))
                fh.flush()
                os.fsync(fh.fileno())
            with contextlib.suppress(FileExistsError):  # another process's salt is there
                os.link(mine, path)  # atomic
        finally:
            mine.unlink(missing_ok=True)
    return path.read_text(encoding="utf-8").strip()


def client_id(address: str, salt: str, api_key_id: str | None = None) -> str:
    if api_key_id:
        return f"key:{api_key_id}"
    digest = hashlib.sha256(f"{salt}\n{address}".encode()).hexdigest()
    return f"addr:{digest[:16]}"


def _lines_backwards(path: Path, block: int = 1 << 16) -> Iterator[str]:
    """The lines of a file, last first, reading blocks from the end (day files grow large)."""
    with open(path, "rb") as fh:
        pos = fh.seek(0, os.SEEK_END)
        tail = b""
        while pos > 0:
            step = min(block, pos)
            pos -= step
            fh.seek(pos)
            lines = (fh.read(step) + tail).split(b"\n")
            tail = lines.pop(0)  # may be incomplete: joined with the next block
            for raw in reversed(lines):
                if raw:
                    yield raw.decode("utf-8", errors="replace")
        if tail:
            yield tail.decode("utf-8", errors="replace")


def audit_line(fields: str, now: datetime) -> str:
    """One audit record, ``{"time": ..., <fields>}``, on one line (no newline inside)."""
    line = '{"time": "' + now.isoformat(timespec="milliseconds") + '"'
    return (line + (", " + fields if fields else "") + "}").replace("\n", " ")


def _write_whole(fd: int, data: bytes) -> None:
    """Append ``data`` completely or not at all: after a failed write (a full disk) the file is
    cut back to where it was, so no partial line is left for the next record to be glued to.
    The caller holds the log's lock and the file's ``flock``: nobody else appends in between,
    in this process or another."""
    start = os.fstat(fd).st_size
    written = 0
    try:
        while written < len(data):
            written += os.write(fd, data[written:])
    except OSError:
        if written:
            os.ftruncate(fd, start)
        raise


class AuditLog:
    """Append-only JSONL with group commit.

    A record is written under ``_lock`` and gets a sequence number; then its writer waits for
    an ``fsync`` that covers that number. One ``fsync`` covers every record written before
    it, so concurrent requests share them (fewer syncs, same guarantee). Lock order is always
    ``_lock`` → ``_sync_lock``; the sync phase never takes ``_lock``.
    """

    def __init__(self, directory: Path, modes: FileModes = PRIVATE):
        self.directory = directory
        self.modes = modes
        private_dir(directory, modes)  # who asked what is confidential too: 0700 (0750)
        self._lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._day = ""
        self._fd: int | None = None
        self._written = 0  # sequence number of the last record written
        self._synced = 0  # sequence number of the last record known to be on disk
        self.records = 0
        self.fsyncs = 0

    def _file_for(self, day: str) -> int:
        if day != self._day or self._fd is None:
            if self._fd is not None:
                with self._sync_lock:  # the old day's file: sync everything, then close
                    os.fsync(self._fd)
                    self._synced = self._written
                    os.close(self._fd)
            path = self.directory / f"audit-{day}.jsonl"
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, self.modes.file)
            if self.modes.group:
                os.fchown(self._fd, -1, self.modes.gid)
            os.fchmod(self._fd, self.modes.file)  # also a file made before under other modes
            self._day = day
        return self._fd

    def append(self, record: dict[str, Any]) -> None:
        """Write one record and return only once it is on disk (fsync)."""
        self.append_encoded(json.dumps(record)[1:-1])

    def append_encoded(self, fields: str) -> None:
        """``append`` of a record given as its ``json.dumps`` without the braces.

        The line is the one ``append`` writes for the same record; callers that log the same
        fields for many requests encode those once (``service.prepared``).
        """
        now = datetime.now(UTC)
        data = (audit_line(fields, now) + "\n").encode("utf-8")
        with self._lock:
            fd = self._file_for(now.strftime("%Y%m%d"))
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                _write_whole(fd, data)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
            self._written += 1
            seq = self._written
            self.records += 1
        with self._sync_lock:
            if self._synced >= seq:
                return  # another writer's fsync already covered this record
            target = self._written  # everything written so far is in the current file
            assert self._fd is not None
            os.fsync(self._fd)
            self._synced = max(self._synced, target)
            self.fsyncs += 1

    def recent(self, limit: int = 100, client: str | None = None) -> list[dict[str, Any]]:
        """The newest ``limit`` records (newest first), optionally of one client."""
        out: list[dict[str, Any]] = []
        for path in sorted(self.directory.glob("audit-*.jsonl"), reverse=True):
            for line in _lines_backwards(path):
                try:
                    record = json.loads(line)
                except ValueError:
                    continue  # a torn last line after a crash is not an acknowledged record
                if client is None or record.get("client") == client:
                    out.append(record)
                    if len(out) >= limit:
                        return out
        return out

    def close(self) -> None:
        with self._lock, self._sync_lock:
            if self._fd is not None:
                os.fsync(self._fd)
                os.close(self._fd)
                self._fd = None
