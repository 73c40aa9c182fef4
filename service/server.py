"""waitress, set up so that slow clients, probes and restarts do not take the service down.

- **Connections:** ``connection_limit`` open at once (waitress's default of 100 let 100 slow
  sockets shut everyone else out), polled with ``poll`` (``select`` stops at 1,024 descriptors).
- **Slow clients:** waitress closes only *idle* connections (``idle_timeout_s``); a client that
  sends one header byte a second is never idle. ``ZichtChannel`` notes when a request's first
  byte arrived and ``ZichtServer.maintenance`` closes a connection whose request is not complete
  ``header_timeout_s`` later.
- **Bodies:** waitress refuses a body over ``max_body_bytes`` as soon as its ``Content-Length``
  is read (chunked bodies when they pass the limit), and keeps an accepted body in memory (the
  spool threshold ``inbuf_overflow`` is above the limit), so nothing is written to disk. Its
  refusal has the service's error shape (``JsonErrorTask``).
- **Probes:** ``GET /health`` is served by a thread of its own, so it answers while every
  request worker is busy.
- **Shutdown:** ``serve_until_stopped`` runs the loop until SIGTERM or SIGINT, then closes the
  listener, lets requests in flight finish for at most ``shutdown_drain_s``, closes idle
  connections and returns; the caller closes the service (the audit log is synced).
"""

from __future__ import annotations

import ctypes
import importlib
import json
import logging
import signal
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from waitress import wasyncore
from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer
from waitress.task import ErrorTask, ThreadedTaskDispatcher

from service.settings import Settings

log = logging.getLogger("zicht.server")

HEALTH = b"/health"
SPOOL_ABOVE = 512 * 1024  # waitress's default spool threshold, raised to the body limit if needed
MAINTENANCE_S = 1.0  # how often connections are checked against the time-outs
TRIM_EVERY_S = 10.0  # how often freed heap memory is given back to the system


def _malloc_trim() -> Callable[[], object] | None:
    """glibc's ``malloc_trim(0)``: hands the free pages inside every malloc arena back to the
    system. Under steady load the worker threads' arenas otherwise keep what they once used
    (fragmented), and the process's resident memory creeps up although the memory in use does
    not. None where the C library is not glibc."""
    try:
        trim = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return lambda: trim(0)


class JsonErrorTask(ErrorTask):  # type: ignore[misc]
    """waitress's own refusals (body too large, malformed request) in the service's error
    shape, so a client sees one shape whoever refused it."""

    def execute(self) -> None:
        error = self.request.error
        kind = "payload_too_large" if error.code == 413 else "bad_request"
        body = json.dumps(
            {"error_type": kind, "message": error.reason.lower(), "errors": []}
        ).encode()
        self.status = f"{error.code} {error.reason}"
        self.response_headers.extend(
            [
                ("Content-Type", "application/json"),
                ("X-Content-Type-Options", "nosniff"),
                ("Cache-Control", "no-store"),
            ]
        )
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class ZichtChannel(HTTPChannel):  # type: ignore[misc]
    """A connection that remembers when its current request began arriving."""

    error_task_class = JsonErrorTask
    request_began: float | None = None

    def received(self, data: bytes) -> bool:
        if data and self.request is None:
            self.request_began = time.monotonic()
        done: bool = super().received(data)
        if self.request is None:  # nothing half-received: the last request is complete
            self.request_began = None
        return done


class ZichtServer(TcpWSGIServer):  # type: ignore[misc]
    channel_class = ZichtChannel

    def __init__(self, *args: Any, header_timeout_s: float, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.header_timeout_s = header_timeout_s
        self.health_dispatcher = ThreadedTaskDispatcher()
        self.health_dispatcher.set_thread_count(1)
        self.slow_closed = 0
        self.trim = _malloc_trim()
        self.trimmed = 0.0

    def add_task(self, task: Any) -> None:
        """Requests that are all ``GET /health`` go to the health thread."""
        requests = list(task.requests)
        if requests and all(r.command == "GET" and r.path == HEALTH.decode() for r in requests):
            self.health_dispatcher.add_task(task)
        else:
            self.task_dispatcher.add_task(task)

    def maintenance(self, now: float) -> None:
        super().maintenance(now)  # idle connections
        if self.trim is not None and now - self.trimmed >= TRIM_EVERY_S:
            self.trimmed = now
            self.trim()
        cutoff = time.monotonic() - self.header_timeout_s
        for channel in list(self.active_channels.values()):
            began = getattr(channel, "request_began", None)
            if began is not None and began < cutoff and not channel.will_close:
                channel.will_close = True  # the main loop closes it
                self.slow_closed += 1

    def in_flight(self) -> int:
        """Requests received and not yet answered completely."""
        return sum(
            len(ch.requests) + (1 if ch.total_outbufs_len else 0)
            for ch in list(self.active_channels.values())
        )

    def close_idle(self) -> None:
        for channel in list(self.active_channels.values()):
            if not channel.requests and not channel.total_outbufs_len:
                channel.handle_close()


# Modules the engine and disclosure control import at first use, so that `zicht query` starts
# light. Under waitress's threads two first uses at once can meet inside a circular import
# (Ibis's) and fail with a _DeadlockError, a 500 for the answer: a server imports them in its
# main thread before any request thread runs. tests/service/test_service_server_preload.py
# keeps this list complete.
PRELOAD = (
    "concurrent.futures",
    "ibis",
    "ibis.backends.sql.compilers",
    "ibis.common.exceptions",
    "ibis.expr.types",
    "sqlglot",
    "scipy.optimize",
    "scipy.sparse",
    "scipy.sparse.csgraph",
    "scipy.sparse.linalg",
    "pyarrow",
    "pyarrow.parquet",
    "yaml",
    "cube.axes",
    "cube.dialects",
    "cube.sql",
    "cube.statement",
    "sdc.audit",
    "sdc.fallback",
    "sdc.rectangles",
    "sdc.relations",
    "sdc.repair",
    "sdc.secondary",
)


def preload() -> None:
    for name in PRELOAD:
        importlib.import_module(name)


def build_server(app: Callable[..., Any], sock: socket.socket, settings: Settings) -> ZichtServer:
    """A waitress server on ``sock`` with the service's limits (and the modules its answers
    import at first use already imported)."""
    preload()
    adj = Adjustments(
        sockets=[sock],
        threads=settings.threads,
        ident="zicht",
        connection_limit=settings.connection_limit,
        channel_timeout=settings.idle_timeout_s,
        cleanup_interval=MAINTENANCE_S,
        max_request_body_size=settings.max_body_bytes,
        inbuf_overflow=max(SPOOL_ABOVE, settings.max_body_bytes + 1),
        asyncore_use_poll=True,
    )
    dispatcher = ThreadedTaskDispatcher()
    dispatcher.set_thread_count(adj.threads)
    sockinfo = (sock.family, sock.type, sock.proto, sock.getsockname())
    return ZichtServer(
        app,
        {},
        True,
        sock,
        dispatcher=dispatcher,
        adj=adj,
        bind_socket=False,
        sockinfo=sockinfo,
        header_timeout_s=settings.header_timeout_s,
    )


def serve_until_stopped(server: ZichtServer, drain_s: float) -> bool:
    """Serve until SIGTERM or SIGINT, then drain; True if every request in flight finished."""
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        while not stop.is_set():
            _turn(server, server.adj.asyncore_loop_timeout)
        return _drain(server, drain_s)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _turn(server: ZichtServer, timeout: float) -> None:
    wasyncore.loop(timeout=timeout, map=server._map, use_poll=True, count=1)


def _drain(server: ZichtServer, drain_s: float) -> bool:
    log.info("stopping: no new connections; draining for up to %.1f s", drain_s)
    wasyncore.dispatcher.close(server)  # the listener only: the trigger stays for the workers
    deadline = time.monotonic() + drain_s
    while True:
        server.close_idle()
        left = server.in_flight()
        if not left or time.monotonic() >= deadline:
            break
        _turn(server, 0.05)
    if left:
        log.warning("stopping with %d requests unfinished after %.1f s", left, drain_s)
    for channel in list(server.active_channels.values()):
        channel.handle_close()
    server.task_dispatcher.shutdown(cancel_pending=True, timeout=1)
    server.health_dispatcher.shutdown(cancel_pending=True, timeout=1)
    server.trigger.close()
    return not left
