"""The HTTP server under pressure, over loopback: slow clients, huge bodies, busy workers and
SIGTERM. Bounded: at most 150 sockets, each test a few seconds."""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.service.test_service_live import (
    ROOT,
    TOKEN,
    free_port,
    get,
    home,  # noqa: F401 (fixture)
    wait_ready,
    zicht,
)


def start(*settings: str) -> tuple[subprocess.Popen[str], int]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZICHT_")}
    env["PYTHONPATH"] = str(ROOT)
    cmd = [sys.executable, "-m", "tests.service.serving_app", str(port), *settings]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "listening"
    return proc, port


@pytest.fixture
def server() -> Iterator[tuple[subprocess.Popen[str], int]]:
    proc, port = start("threads=1", "header_timeout_s=1", "idle_timeout_s=2")
    yield proc, port
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)
    assert proc.stdout is not None
    proc.stdout.close()


def timed_get(port: int, path: str, timeout: float = 10) -> tuple[int, bytes, float]:
    began = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read(), time.monotonic() - began
    finally:
        conn.close()


def test_health_answers_while_every_worker_is_busy(server) -> None:
    _, port = server
    busy = threading.Thread(target=timed_get, args=(port, "/slow?s=2"))
    busy.start()
    time.sleep(0.3)  # the only worker thread is asleep in /slow
    status, body, took = timed_get(port, "/health")
    assert (status, body) == (200, b"ok") and took < 0.5, took
    busy.join()


def test_a_huge_body_is_refused_from_its_headers_alone(server) -> None:
    _, port = server
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 500000000\r\n\r\n{")  # fmt: skip
        answer = b""
        while chunk := s.recv(4096):  # the server closes after its answer (headers, then body)
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b'"error_type": "payload_too_large"' in answer
    assert b"X-Content-Type-Options: nosniff" in answer


def test_slow_clients_are_cut_off_and_others_keep_being_served(server) -> None:
    _, port = server
    slow = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(150)]
    cut_off, latencies = 0, []
    try:
        ends = time.monotonic() + 3.5
        while time.monotonic() < ends:  # one header byte per socket every 0.25 s
            for s in slow:
                with contextlib.suppress(OSError):  # cut off already
                    s.send(b"G")
            status, _, took = timed_get(port, "/health")
            assert status == 200
            latencies.append(took)
            time.sleep(0.25)
        for s in slow:
            s.settimeout(0.5)
            try:
                cut_off += s.recv(1) == b""
            except ConnectionResetError:
                cut_off += 1
            except TimeoutError:
                pass
    finally:
        for s in slow:
            s.close()
    assert cut_off == len(slow)  # none may hold its connection past header_timeout_s
    assert max(latencies) < 1.0, max(latencies)
    assert timed_get(port, "/anything")[0] == 200


def test_sigterm_finishes_the_request_in_flight_then_exits_0(server) -> None:
    proc, port = server
    answers: list[tuple[int, bytes, float]] = []
    client = threading.Thread(target=lambda: answers.append(timed_get(port, "/slow?s=1.5")))
    client.start()
    time.sleep(0.4)
    proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    with pytest.raises(OSError):  # the listener is closed at once
        timed_get(port, "/health", timeout=2)
    client.join(timeout=10)
    assert answers and answers[0][:2] == (200, b"slow done " * 1000)
    assert proc.wait(timeout=10) == 0
    assert proc.stdout is not None and proc.stdout.read().startswith("drained True")


def test_the_drain_time_bounds_the_wait() -> None:
    proc, port = start("shutdown_drain_s=0.5")
    cut: list[BaseException] = []

    def cut_off_client() -> None:
        try:
            timed_get(port, "/slow?s=5")
        except (OSError, http.client.HTTPException) as exc:
            cut.append(exc)

    client = threading.Thread(target=cut_off_client)
    client.start()
    time.sleep(0.3)
    began = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0 and time.monotonic() - began < 3
    assert proc.stdout is not None and proc.stdout.read().startswith("drained False")
    proc.stdout.close()
    client.join(timeout=10)
    assert cut  # the request over the drain time was cut off, not answered


def test_zicht_serve_stops_on_sigterm_with_its_audit_whole_and_ready_checks_files(
    home: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    home = shutil.copytree(home, tmp_path / "home", ignore=shutil.ignore_patterns("audit"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = zicht(home, "serve", "--port", str(port), stdout=subprocess.PIPE, text=True)
    try:
        wait_ready(base, proc)
        url = f"{base}/api/v1/cubes/drug_suspects/aggregate?measures=suspects"
        assert get(url + "&drilldown=residence@gemeente")[0] == 200
        assert get(f"{base}/api/v1/admin/audit", {"Authorization": f"Bearer {TOKEN}"})[0] == 200
        (release,) = (home / "releases").iterdir()
        with open(release / "release.duckdb", "r+b") as fh:  # damaged behind the engine's back
            fh.seek(100)
            fh.write(b"\xff" * 8)
        status, _, body = get(f"{base}/ready")
        assert status == 503 and b"checksum differs from the manifest" in body
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.stdout is not None and "zicht: stopped" in proc.stdout.read()
    proc.stdout.close()
    (day,) = (home / "audit").glob("audit-*.jsonl")
    assert len(day.read_text().splitlines()) == 1


def test_a_worker_gives_freed_heap_memory_back_every_ten_seconds() -> None:
    from service.server import TRIM_EVERY_S, _malloc_trim, build_server
    from service.settings import Settings
    from service.workers import listen

    trim = _malloc_trim()
    assert trim is not None, "this Linux has glibc: malloc_trim must be found"
    trim()  # callable for real
    sock = listen("127.0.0.1", 0, 0, reuse_port=False)
    server = build_server(lambda environ, start_response: [], sock, Settings())
    try:
        calls: list[float] = []
        server.trim = lambda: calls.append(0.0)
        for now in (1000.0, 1000.0 + TRIM_EVERY_S / 2, 1000.0 + TRIM_EVERY_S, 1000.0 + 25):
            server.maintenance(now)
        assert len(calls) == 3  # at 1000, 1010 and 1025; not at 1005
    finally:
        server.close()
        sock.close()
