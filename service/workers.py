"""Several worker processes on one port: ``zicht serve --workers N``.

Python runs one thread of Python at a time per process, so uncached answers (mostly Python
work around DuckDB) use one core per process. Here each core gets a process of its own:

- The supervisor (this module) reserves the port, then forks N workers. It never serves and
  starts no thread before forking, so a worker inherits no lock held by another thread.
- Each worker opens its own listening socket on the port with ``SO_REUSEPORT``: the kernel
  spreads new connections over the workers' sockets, and each worker is the same waitress
  server with every guarantee of ``service.server`` (time-outs, body limit, the health
  thread, draining on SIGTERM) and its own engine and answer cache. Audit log, rate limits
  and risk memory are shared through the state store; a release switch made through any
  worker (or ``zicht releases``) reaches the others through the data home's ``current``
  pointer, which every worker checks every ``release_poll_s``.
- A worker that dies is replaced. A worker that fails to start (a damaged release, no store)
  stops them all, with its reason. SIGTERM or SIGINT is passed to every worker, which drains
  and exits; the supervisor waits for them (a worker still there after the drain time and a
  margin is killed) and exits 0. If the supervisor itself is killed, the kernel sends each
  worker SIGTERM (``PR_SET_PDEATHSIG``), so no worker outlives it.

waitress is a single-process server; this small supervisor is what it lacks. gunicorn would
bring its own HTTP workers instead of waitress and lose the guarantees above.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import socket
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("zicht.workers")

PR_SET_PDEATHSIG = 1
RESTART_PAUSE_S = 1.0  # between a worker's death and its replacement
EXIT_DRAINED, EXIT_CUT, EXIT_FAILED = 0, 3, 4


def cores() -> int:
    """The cores this process may run on (its CPU affinity, not the machine's count)."""
    return len(os.sched_getaffinity(0)) or 1


def listen(host: str, port: int, send_buffer_bytes: int, *, reuse_port: bool) -> socket.socket:
    """A listening socket; with ``reuse_port`` one of several on the same port.

    Accepted connections inherit the listener's ``SO_SNDBUF``: waitress sends an answer in
    pieces of that size, so a large one lets a dashboard answer go out in few system calls.
    """
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if send_buffer_bytes:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer_bytes)
        sock.bind(address)
        sock.listen(1024)  # waitress's own backlog
    except OSError:
        sock.close()
        raise
    return sock


def reserve(host: str, port: int) -> tuple[socket.socket, int]:
    """Hold the port (bound with ``SO_REUSEPORT``, not listening: it takes no connection) and
    say which it is (``port`` 0 picks a free one)."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock, int(sock.getsockname()[1])


class StartFailed(Exception):
    """A worker could not start; the message is its own (safe to print)."""


@dataclass(slots=True)
class Worker:
    index: int
    pid: int
    started: float


Ready = Callable[[str], None]  # a worker calls it once: "" when serving, else why it cannot
WorkerMain = Callable[[int, Ready], int]  # (index, ready) -> exit status


class Supervisor:
    def __init__(
        self,
        count: int,
        main: WorkerMain,
        stop_wait_s: float,
        on_exit: Callable[[int], None] = lambda index: None,
    ) -> None:
        """``on_exit(index)`` runs in the supervisor after worker ``index`` ended, before a
        replacement starts."""
        self.count, self.main, self.stop_wait_s = count, main, stop_wait_s
        self.on_exit = on_exit
        self.workers: dict[int, Worker] = {}  # pid -> worker
        self.restarts = 0
        self._stop = False

    def _spawn(self, index: int) -> tuple[Worker, int]:
        """Fork worker ``index``; returns it and the read end of its start-up pipe."""
        read, write = os.pipe()
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # the worker
            os.close(read)
            status = EXIT_FAILED
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                _die_with(parent)
                status = self.main(index, _reporter(write))
            except BaseException:
                traceback.print_exc()
                with contextlib.suppress(OSError):
                    os.write(write, b"the worker failed; see its log\n")
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(status)
        os.close(write)
        worker = Worker(index, pid, time.monotonic())
        self.workers[pid] = worker
        return worker, read

    def start(self) -> None:
        """Fork every worker and wait until each serves; StartFailed (all stopped) if one
        cannot."""
        pipes = [self._spawn(i)[1] for i in range(self.count)]
        failures = [_read_report(fd) for fd in pipes]
        failed = next((f for f in failures if f), None)
        if failed is not None:
            self.stop()
            raise StartFailed(failed)

    def run(self) -> bool:
        """Supervise until SIGTERM or SIGINT, then stop every worker; True if all drained."""

        def on_signal(signum: int, frame: object) -> None:
            self._stop = True

        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            while not self._stop:
                self._reap_and_replace()
                time.sleep(0.2)
            return self.stop()
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)

    def _reap_and_replace(self) -> None:
        while self.workers:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            worker = self.workers.pop(pid, None)
            if worker is None or self._stop:
                continue
            self.on_exit(worker.index)
            log.warning(
                "worker %d (pid %d) ended (%s); starting another",
                worker.index, pid, _describe(status),
            )  # fmt: skip
            if time.monotonic() - worker.started < RESTART_PAUSE_S:
                time.sleep(RESTART_PAUSE_S)  # a worker dying at once must not spin
            _, fd = self._spawn(worker.index)
            os.close(fd)  # its start-up is reported in the log; the others keep serving
            self.restarts += 1

    def stop(self) -> bool:
        """SIGTERM to every worker, wait for them (kill after ``stop_wait_s``); True if every
        worker drained in time."""
        for pid in list(self.workers):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + self.stop_wait_s
        drained = True
        while self.workers:
            for pid in list(self.workers):
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    self.workers.pop(pid)
                    drained &= os.waitstatus_to_exitcode(status) == EXIT_DRAINED
            if self.workers and time.monotonic() > deadline:
                for pid in list(self.workers):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                    self.workers.pop(pid)
                drained = False
            time.sleep(0.05)
        return drained


def _die_with(parent: int) -> None:
    """Ask the kernel for SIGTERM when the supervisor dies (Linux), and check it is alive."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # it died before the request took effect
        os._exit(EXIT_FAILED)


def _reporter(fd: int) -> Ready:
    def ready(problem: str) -> None:
        with contextlib.suppress(OSError):
            os.write(fd, (problem.replace("\n", " ") + "\n").encode())
            os.close(fd)

    return ready


def _read_report(fd: int) -> str:
    """A worker's start-up report: "" once it serves, else its reason (or that it died)."""
    chunks: list[bytes] = []
    while not chunks or not chunks[-1].endswith(b"\n"):
        data = os.read(fd, 4096)
        if not data:
            break
        chunks.append(data)
    os.close(fd)
    text = b"".join(chunks).decode(errors="replace")
    if not text:
        return "a worker stopped while starting; see its log"
    return text.strip()


def _describe(status: int) -> str:
    code = os.waitstatus_to_exitcode(status)
    return f"signal {-code}" if code < 0 else f"exit {code}"
