"""Slow and idle clients at scale: does `zicht serve` keep answering everybody else?

    python -m tests.hardening.slow_clients --seconds 60 --out slow_clients.json  (make slowclients)

An attacker holds ``--slowloris`` sockets (default 1,000) that each send a request line and
then one header byte per second, never finishing, and ``--idle`` keep-alive connections
(default 500) that each ask for /health once and then sit idle. Whenever the server closes one
(the header and idle time-outs), the attacker opens another at once, so the counts hold all
run. Meanwhile a well-behaved client asks, each on a new connection, for /health every 0.2 s
and for an answer every 0.25 s. The run passes when every probe was answered, /health's p99 is
under 100 ms and the answers' p99 under 1 s. The server runs with its default settings (one
worker per core).

The attacker is one thread with an epoll loop; its sockets and the server's need more file
descriptors than the usual 1,024, so the soft limit is raised to the hard one.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import http.client
import json
import os
import resource
import selectors
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.hardening.loadtest import build_two_releases
from tests.service.test_service_live import free_port, wait_ready, zicht

HEALTH_P99_S = 0.1
ANSWER_P99_S = 1.0
QUERIES = [
    "/api/v1/cubes/drug_suspects/aggregate?measures=suspects&drilldown=residence@gemeente"
    f"&cut=period@year:{year}"
    for year in (2021, 2022, 2023)
] + ["/api/v1/cubes/drug_suspects/aggregate?measures=suspects&drilldown=sex"]


@dataclass
class Attack:
    """Counts of the attacker's side."""

    slow_opened: int = 0
    slow_cut: int = 0  # closed by the server (header time-out)
    idle_opened: int = 0
    idle_answered: int = 0
    idle_cut: int = 0  # closed by the server (idle time-out)
    connect_failures: int = 0
    held: list[int] = field(default_factory=list)  # sockets open, sampled every second


class Attacker:
    def __init__(self, port: int, slow: int, idle: int, byte_every_s: float = 1.0) -> None:
        self.port, self.slow, self.idle, self.every = port, slow, idle, byte_every_s
        self.sel = selectors.DefaultSelector()
        self.stats = Attack()
        self.next_byte: dict[socket.socket, float] = {}
        self.answered: set[socket.socket] = set()
        self.stop = threading.Event()

    def _connect(self) -> socket.socket | None:
        s = socket.socket()
        s.settimeout(5)
        try:
            s.connect(("127.0.0.1", self.port))
        except OSError:
            s.close()
            self.stats.connect_failures += 1
            return None
        s.setblocking(False)
        return s

    def _open_slow(self) -> None:
        s = self._connect()
        if s is None:
            return
        try:
            s.send(b"GET /api/v1/cubes HTTP/1.1\r\nHost: zicht\r\nX-Slow: ")
        except OSError:
            s.close()
            return
        self.stats.slow_opened += 1
        self.next_byte[s] = time.monotonic() + self.every
        self.sel.register(s, selectors.EVENT_READ, "slow")

    def _open_idle(self) -> None:
        s = self._connect()
        if s is None:
            return
        try:
            s.send(b"GET /health HTTP/1.1\r\nHost: zicht\r\n\r\n")
        except OSError:
            s.close()
            return
        self.stats.idle_opened += 1
        self.sel.register(s, selectors.EVENT_READ, "idle")

    def _close(self, s: socket.socket) -> None:
        self.sel.unregister(s)
        self.next_byte.pop(s, None)
        self.answered.discard(s)
        s.close()

    def run(self) -> None:
        for _ in range(self.slow):
            self._open_slow()
        for _ in range(self.idle):
            self._open_idle()
        sampled = time.monotonic()
        while not self.stop.is_set():
            for key, _ in self.sel.select(timeout=0.05):
                s = key.fileobj
                assert isinstance(s, socket.socket)
                try:
                    data = s.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                if key.data == "idle" and data:
                    if s not in self.answered:  # the answer (maybe in pieces); it stays open
                        self.answered.add(s)
                        self.stats.idle_answered += 1
                    continue
                self._close(s)  # the server closed it (or answered a slow one: 408/400)
                if key.data == "slow":
                    self.stats.slow_cut += 1
                    self._open_slow()
                else:
                    self.stats.idle_cut += 1
                    self._open_idle()
            now = time.monotonic()
            for s, due in list(self.next_byte.items()):
                if now >= due:
                    try:
                        s.send(b"a")
                        self.next_byte[s] = now + self.every
                    except BlockingIOError:
                        pass
                    except OSError as exc:
                        if exc.errno in (errno.EPIPE, errno.ECONNRESET):
                            self._close(s)
                            self.stats.slow_cut += 1
                            self._open_slow()
            if now - sampled >= 1.0:
                self.stats.held.append(len(self.sel.get_map()))
                sampled = now
        for key in list(self.sel.get_map().values()):
            with contextlib.suppress(OSError):
                key.fileobj.close()  # type: ignore[union-attr]
        self.sel.close()


def probe(port: int, path: str, timeout_s: float = 10.0) -> tuple[float, int | str]:
    """(seconds, status or error) of one GET on a new connection."""
    began = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        r.read()
        return time.perf_counter() - began, r.status
    except OSError as exc:
        return time.perf_counter() - began, type(exc).__name__
    finally:
        conn.close()


def prober(port: int, paths: list[str], every_s: float, stop: threading.Event, out: list) -> None:
    n = 0
    while not stop.wait(every_s):
        out.append(probe(port, paths[n % len(paths)]))
        n += 1


def summary(results: list[tuple[float, int | str]]) -> dict[str, Any]:
    times = sorted(t for t, _ in results)
    if not times:
        return {"count": 0}
    q = statistics.quantiles(times, n=100, method="inclusive") if len(times) > 1 else times * 99
    return {
        "count": len(times),
        "failed": sum(1 for _, status in results if status != 200),
        "statuses": sorted({str(status) for _, status in results}),
        "p50_ms": round(q[49] * 1000, 1),
        "p99_ms": round(q[98] * 1000, 1),
        "max_ms": round(times[-1] * 1000, 1),
    }


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def run(
    seconds: float,
    slow: int = 1000,
    idle: int = 500,
    env: dict[str, str] | None = None,
    workers: int = 0,
    home: Path | None = None,
) -> dict[str, Any]:
    raise_fd_limit()
    with tempfile.TemporaryDirectory(prefix="zicht-slow-") as tmp:
        if home is None:
            home, _, _ = build_two_releases(Path(tmp))
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        args = ["serve", "--port", str(port)] + (["--workers", str(workers)] if workers else [])
        log = (Path(tmp) / "server.log").open("w")
        extra = {"ZICHT_LOG_LEVEL": "WARNING", **(env or {})}
        proc = zicht(home, *args, env_extra=extra, stdout=log, stderr=log)
        attacker = Attacker(port, slow, idle)
        stop = threading.Event()
        health: list[tuple[float, int | str]] = []
        answers: list[tuple[float, int | str]] = []
        try:
            try:
                wait_ready(base, proc, timeout_s=120)
            except AssertionError:
                log.flush()
                raise AssertionError((Path(tmp) / "server.log").read_text()[-2000:]) from None
            for path in QUERIES:  # answers cached, as a dashboard's would mostly be
                probe(port, path, timeout_s=120)
            attack = threading.Thread(target=attacker.run, name="attacker")
            attack.start()
            time.sleep(min(3.0, seconds / 4))  # the sockets are open before probing starts
            probes = [
                threading.Thread(target=prober, args=(port, ["/health"], 0.2, stop, health)),
                threading.Thread(target=prober, args=(port, QUERIES, 0.25, stop, answers)),
            ]
            for t in probes:
                t.start()
            time.sleep(seconds)
            stop.set()
            for t in probes:
                t.join()
            attacker.stop.set()
            attack.join()
        finally:
            stop.set()
            attacker.stop.set()
            proc.terminate()
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()
    a = attacker.stats
    held = a.held[3:] or a.held  # after the opening burst
    h, q = summary(health), summary(answers)
    return {
        "seconds": seconds,
        "slowloris": slow,
        "idle": idle,
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "attacker": {
            "slow_opened": a.slow_opened,
            "slow_cut_by_server": a.slow_cut,
            "idle_opened": a.idle_opened,
            "idle_answered": a.idle_answered,
            "idle_cut_by_server": a.idle_cut,
            "connect_failures": a.connect_failures,
            "sockets_held_min": min(held) if held else 0,
            "sockets_held_mean": round(statistics.fmean(held)) if held else 0,
        },
        "health": h,
        "answers": q,
        "ok": bool(
            h.get("count")
            and q.get("count")
            and h["failed"] == 0
            and q["failed"] == 0
            and h["p99_ms"] < HEALTH_P99_S * 1000
            and q["p99_ms"] < ANSWER_P99_S * 1000
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--slowloris", type=int, default=1000)
    parser.add_argument("--idle", type=int, default=500)
    parser.add_argument("--workers", type=int, default=0, help="0: one per core")
    parser.add_argument("--out", default="slow_clients.json")
    args = parser.parse_args(argv)
    figures = run(args.seconds, args.slowloris, args.idle, workers=args.workers)
    Path(args.out).write_text(json.dumps(figures, indent=1) + "\n")
    print(json.dumps(figures, indent=2))
    return 0 if figures["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
