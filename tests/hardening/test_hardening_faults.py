"""Faults: bad deliveries while a release is serving, a disk that fills up during a load, a
server killed (-9) in the middle of load, a damaged release at start-up.

Already covered elsewhere (see the README table): every validation problem listed
(``tests/loaders/test_load_validation.py``); a killed load leaves no half release and the next
load succeeds, an injected ENOSPC during the build publishes nothing
(``tests/loaders/test_releases_publish.py``); no release or a dangling ``current`` at start-up
(``tests/service/test_service_live.py``).
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from loaders.load import LoadError, load_directory
from loaders.releases import current_release, list_releases
from tests.cube.cube_fixtures import tables
from tests.hardening.hardening_fixtures import make_app
from tests.loaders.load_fixtures import SECRET, write_tables
from tests.service.test_service_live import TOKEN, free_port, get, wait_ready, zicht

AGG = "/api/v1/cubes/drug_suspects/aggregate?measures=suspects&drilldown=residence@gemeente"


def _damage(src: Path) -> list[str]:
    """Truncate one Parquet file, write garbage into another and break the contract of a
    third; return the names the problems must mention."""
    parquets = sorted(src.glob("*.parquet"))
    csvs = sorted(src.glob("*.csv"))
    assert len(parquets) >= 2 or csvs, "fixture files changed"
    files = parquets + csvs
    truncated, garbage = files[0], files[1]
    truncated.write_bytes(truncated.read_bytes()[: truncated.stat().st_size // 2])
    garbage.write_bytes(b"PAR1 this is not a parquet file \x00\xff" * 10)
    damaged = [truncated.stem, garbage.stem]
    rest = [p for p in parquets[2:] if p.stem not in ("buurten",)]
    if rest:  # contract violation: a required column is missing
        table = pq.read_table(rest[0])
        pq.write_table(table.drop_columns([table.column_names[0]]), rest[0])
        damaged.append(rest[0].stem)
    return damaged


def test_bad_delivery_is_rejected_listing_problems_while_the_service_keeps_serving(tmp_path):
    home = tmp_path / "home"
    first = load_directory(write_tables(tmp_path / "good", tables()), home, secret=SECRET)
    app = make_app(home)
    try:
        client = app.test_client()
        before = client.get(AGG).json
        bad = write_tables(tmp_path / "bad", tables(seed=9))
        damaged = _damage(bad)
        with pytest.raises(LoadError) as caught:
            load_directory(bad, home, secret=SECRET)
        text = "\n".join(str(p) for p in caught.value.problems)
        for name in damaged:
            assert name in text, (name, text)
        assert current_release(home) == first
        assert [r.id for r in list_releases(home)] == [first.id]
        assert not list((home / "staging").iterdir())
        after = client.get(AGG)
        assert after.status_code == 200 and after.json == before
    finally:
        app.extensions["zicht"].close()


@pytest.fixture
def small_disk(tmp_path):
    """A 24 MB tmpfs (root only); skipped where mounting is not allowed."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mount)],
                          capture_output=True)  # fmt: skip
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (not root)")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_disk_full_during_a_load_fails_cleanly_and_publishes_nothing(tmp_path, small_disk):
    home = small_disk / "home"
    src = write_tables(tmp_path / "in", tables())
    first = load_directory(src, home, secret=SECRET)
    free = shutil.disk_usage(small_disk).free
    filler = small_disk / "filler"
    with filler.open("wb") as fh:  # leave 256 KB: the next release cannot fit
        fh.write(b"\0" * max(0, free - 256 * 1024))
    src2 = write_tables(tmp_path / "in2", tables(seed=8))
    secret = tmp_path / "secret"
    secret.write_bytes(SECRET)
    proc = zicht(home, "load", str(src2), "--secret-file", str(secret),
                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    _, err = proc.communicate(timeout=120)
    assert proc.returncode != 0
    assert "nothing was published" in err and "Traceback" not in err, err
    assert current_release(home) == first
    assert [r.id for r in list_releases(home)] == [first.id]
    assert not list((home / "staging").iterdir())  # the half-written staging is gone
    filler.unlink()
    second = load_directory(src2, home, secret=SECRET)  # space again: the next load works
    assert current_release(home) == second


def _hammer(base: str, stop: threading.Event, acknowledged: list[str], worker: int) -> None:
    n = 0
    while not stop.is_set():
        n += 1
        url = f"{AGG.replace('/api', base + '/api', 1)}&cut=age@single:{worker}..{n % 90 + worker}"
        try:
            status, _, body = get(url)
        except (OSError, http.client.HTTPException):
            return  # the server is gone (a cut-off answer is not an acknowledged one)
        if status == 200:
            acknowledged.append(json.loads(body)["query"]["cuts"][0]["to"] + f"/{worker}")


def test_kill_9_under_load_loses_no_acknowledged_audit_record(tmp_path):
    home = load_directory(write_tables(tmp_path / "in", tables()), tmp_path / "home",
                          secret=SECRET).path.parent.parent  # fmt: skip
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = zicht(home, "serve", "--port", str(port), "--threads", "4",
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    acknowledged: list[str] = []
    stop = threading.Event()
    try:
        wait_ready(base, proc)
        workers = [threading.Thread(target=_hammer, args=(base, stop, acknowledged, w))
                   for w in range(6)]  # fmt: skip
        for w in workers:
            w.start()
        deadline = time.monotonic() + 30
        while len(acknowledged) < 40 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)  # mid-load: requests are in flight
        proc.wait(timeout=10)
        seen = len(acknowledged)
    finally:
        stop.set()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    for w in workers:
        w.join(timeout=15)
    assert seen >= 40
    records = [
        json.loads(line)
        for p in (home / "audit").glob("audit-*.jsonl")
        for line in p.read_text().splitlines()
        if line.endswith("}")
    ]
    logged = {r["query"]["cuts"][0]["to"] + "/" + r["query"]["cuts"][0]["from"] for r in records}
    for ack in acknowledged:
        to, worker = ack.split("/")
        assert f"{to}/{worker}" in logged, ack
    assert len(records) >= len(acknowledged)


def test_damaged_release_file_at_start_up_exits_non_zero_and_serves_nothing(tmp_path):
    release = load_directory(write_tables(tmp_path / "in", tables()), tmp_path / "home",
                             secret=SECRET)  # fmt: skip
    release.db_path.write_bytes(b"not a duckdb file\n" * 100)  # damaged in place
    port = free_port()
    proc = zicht(release.path.parent.parent, "serve", "--port", str(port),
                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert release.id in err and "Traceback" not in err, err
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
    assert TOKEN not in err
