"""The HTTP bench's memory is the whole server's: the supervisor and every worker it forked."""

from __future__ import annotations

import subprocess
import sys
import time

from bench.http_load import server_memory

# A parent that forks two children; a child holds ~64 MiB, so its peak is its own.
FORKING = r"""
import os, sys, time
for _ in range(2):
    if os.fork() == 0:
        held = b"x" * (64 * 2**20)  # written, so resident
        os.write(1, b"ready\n")  # one write: the two children's lines never interleave
        time.sleep(30)
        os._exit(0)
time.sleep(30)
"""


def test_server_memory_counts_the_worker_processes():
    proc = subprocess.Popen([sys.executable, "-c", FORKING], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        for _ in range(2):
            assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.1)
        got = server_memory(proc.pid)
    finally:
        subprocess.run(["pkill", "-P", str(proc.pid)], check=False)
        proc.kill()
        proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()
    assert got["processes"] == 3
    assert len(got["worker_peaks_mib"]) == 2 and min(got["worker_peaks_mib"]) >= 64
    assert got["sum_of_peaks_mib"] >= got["supervisor_peak_mib"] + 128
    assert got["pss_now_mib"] >= 128
