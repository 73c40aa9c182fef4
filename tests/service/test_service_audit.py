"""Audit log: records, client hashing, and durability across a killed process."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

from service.audit import AuditLog, client_id, load_salt

ROOT = Path(__file__).resolve().parents[2]


def test_append_and_read_newest_first(tmp_path):
    log = AuditLog(tmp_path)
    for i in range(5):
        log.append({"client": f"c{i % 2}", "n": i})
    assert [r["n"] for r in log.recent(3)] == [4, 3, 2]
    assert [r["n"] for r in log.recent(10, client="c1")] == [3, 1]
    assert all("time" in r for r in log.recent())
    log.close()


def test_a_torn_last_line_is_skipped(tmp_path):
    log = AuditLog(tmp_path)
    log.append({"n": 1})
    with next(tmp_path.glob("audit-*.jsonl")).open("a") as fh:
        fh.write('{"n": 2, "trunc')
    assert [r["n"] for r in log.recent()] == [1]


def test_client_ids_hash_addresses_with_a_persistent_salt(tmp_path):
    salt = load_salt(tmp_path, "")
    assert salt == load_salt(tmp_path, "") and len(salt) == 32
    assert oct((tmp_path / ".salt").stat().st_mode & 0o777) == "0o600"
    a = client_id("10.1.2.3", salt)
    assert a == client_id("10.1.2.3", salt) != client_id("10.1.2.3", "other")
    assert "10.1.2.3" not in a and a.startswith("addr:")
    assert client_id("10.1.2.3", salt, "riec") == "key:riec"


def test_a_salt_another_worker_linked_first_is_the_one_used(tmp_path, monkeypatch):
    """Two workers starting together: the one whose link comes second reads the first one's
    salt, whole (it never sees an empty ``.salt``), and leaves no file of its own behind."""
    import os

    real_link = os.link

    def other_worker_first(src, dst):
        (tmp_path / ".salt").write_text("a" * 32)  # the other worker's, complete
        return real_link(src, dst)

    monkeypatch.setattr(os, "link", other_worker_first)
    assert load_salt(tmp_path, "") == "a" * 32
    assert sorted(p.name for p in tmp_path.iterdir()) == [".salt"]


def test_workers_starting_at_once_agree_on_the_salt(tmp_path):
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(8) as pool:
        salts = pool.starmap(load_salt, [(tmp_path, "")] * 64)
    assert len(set(salts)) == 1 and len(salts[0]) == 32


WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from service.audit import AuditLog
    log = AuditLog(Path(sys.argv[1]))
    i = 0
    while True:
        log.append({"n": i, "pad": "x" * 200})
        print(i, flush=True)  # the acknowledgement: sent only after append returned
        i += 1
    """
)


def test_killed_process_loses_no_acknowledged_record(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    acked = -1
    for line in proc.stdout:
        acked = int(line)
        if acked >= 150:
            break
    os.kill(proc.pid, signal.SIGKILL)  # no chance to flush or close anything
    proc.wait(timeout=10)
    proc.stdout.close()
    text = "".join(p.read_text() for p in tmp_path.glob("audit-*.jsonl"))
    written = set()
    for line in text.splitlines():
        # only the record being written at the kill can be torn
        with contextlib.suppress(ValueError):
            written.add(json.loads(line)["n"])
    assert set(range(acked + 1)) <= written


def test_concurrent_writers_share_fsyncs_and_lose_nothing(tmp_path):
    log = AuditLog(tmp_path)

    def write(k: int) -> None:
        for i in range(50):
            log.append({"n": k * 1000 + i})

    threads = [threading.Thread(target=write, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    found = {r["n"] for r in log.recent(limit=1000)}
    assert found == {k * 1000 + i for k in range(4) for i in range(50)}
    assert log.records == 200 and 1 <= log.fsyncs <= 200
    log.close()


def test_recent_reads_backwards_across_blocks(tmp_path):
    from service.audit import _lines_backwards

    path = tmp_path / "f.jsonl"
    lines = [f'{{"n": {i}, "pad": "{"y" * (i % 97)}"}}' for i in range(500)]
    path.write_text("\n".join(lines) + "\n")
    assert list(_lines_backwards(path, block=64)) == lines[::-1]


def test_a_full_disk_leaves_no_torn_record_behind(tmp_path, monkeypatch):
    """A write that fails half-way (ENOSPC) is cut back: the record after it is whole."""
    import errno

    import pytest

    log = AuditLog(tmp_path)
    log.append({"n": 1})
    real_write = os.write
    calls = []

    def disk_fills(fd, data):
        calls.append(len(data))
        if len(calls) == 1:
            return real_write(fd, data[: len(data) // 2])  # half the line reaches the disk
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", disk_fills)
    with pytest.raises(OSError):
        log.append({"n": 2, "lost": "x" * 100})  # not acknowledged: no answer is sent
    monkeypatch.setattr(os, "write", real_write)
    log.append({"n": 3})  # space is back
    log.close()
    lines = next(tmp_path.glob("audit-*.jsonl")).read_text().splitlines()
    assert [json.loads(line)["n"] for line in lines] == [1, 3]
