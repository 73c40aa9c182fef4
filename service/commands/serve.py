"""`zicht serve`: the HTTP API under waitress (a production WSGI server)."""

from __future__ import annotations

import argparse
import logging
import socket
import time

from service.cli import CliError

HELP = "serve the HTTP API (and /docs) with the current release"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="TCP port (default 8000)")
    parser.add_argument("--threads", type=int, help="worker threads (default 4)")
    parser.add_argument(
        "--config",
        help="settings file, TOML or YAML (default: $ZICHT_CONFIG); see docs/settings.md",
    )


def run(args: argparse.Namespace) -> int:
    from loaders import releases
    from loaders.files import FileModes, restricted
    from service.app import create_app
    from service.server import build_server, serve_until_stopped
    from service.settings import SettingsError, load_settings

    overrides = {"host": args.host, "port": args.port, "threads": args.threads, "home": args.home}
    try:
        settings = load_settings(args.config, overrides=overrides)
    except SettingsError as exc:
        raise CliError("; ".join(exc.problems)) from None
    home = releases.data_home(settings.home or None)
    try:
        release = releases.current_release(home)
    except releases.ReleaseError as exc:
        raise CliError(f"the current release is damaged: {exc}") from None
    if release is None:
        raise CliError(f"no release in {home}: run `zicht demo` or `zicht load` first")
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    try:
        with restricted(FileModes(settings.file_group)):
            app = create_app(settings)
    except Exception as exc:  # the engine refused the release: say which, without a trace
        raise CliError(f"release {release.id} could not be opened ({type(exc).__name__})") from None
    where = f"{settings.host}:{settings.port}"
    try:
        sock = listen(settings.host, settings.port, settings.send_buffer_bytes)
    except OSError as exc:
        raise CliError(f"cannot listen on {where}: {exc.strerror}") from None
    print(
        f"zicht: serving release {release.id} on http://{settings.host}:{settings.port}", flush=True
    )
    server = build_server(app, sock, settings)
    server.task_dispatcher.queue_logger = QueueDepthLog(logging.getLogger("waitress.queue"))
    drained = serve_until_stopped(server, settings.shutdown_drain_s)
    app.extensions["zicht"].close()  # the audit log synced and closed, the engine closed
    print(
        f"zicht: stopped ({'all requests finished' if drained else 'drain time over'})", flush=True
    )
    return 0


class QueueDepthLog:
    """Stands in for waitress's queue logger: the deepest queue, at most once per interval.

    waitress warns "Task queue depth is N" for every request that waits for a thread, while
    it holds its dispatcher's lock: under load, a formatted log line per request (10 % of the
    server's CPU at 32 connections in bench/http_load.py). The news is the same once a second.
    """

    def __init__(self, logger: logging.Logger, interval_s: float = 1.0):
        self.logger, self.interval_s = logger, interval_s
        self._last = -interval_s
        self._deepest = 0

    def warning(self, message: str, depth: int) -> None:
        # Called with waitress's dispatcher lock held: no lock of its own is needed.
        self._deepest = max(self._deepest, depth)
        now = time.monotonic()
        if now - self._last >= self.interval_s:
            self.logger.warning("Task queue depth was up to %d (all threads busy)", self._deepest)
            self._last, self._deepest = now, 0


def listen(host: str, port: int, send_buffer_bytes: int) -> socket.socket:
    """The listening socket, made here so that connections get ``send_buffer_bytes``.

    Accepted connections inherit the listener's ``SO_SNDBUF``. waitress sends an answer in
    pieces of that size: with the system default (16 kB to start with) a 400 kB answer took
    some 25 sends, each a turn of waitress's main loop, and the cached answers' throughput was
    bound by it (bench/http_load.py).
    """
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if send_buffer_bytes:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer_bytes)
        sock.bind(address)
        sock.listen(1024)  # waitress's own backlog
    except OSError:
        sock.close()
        raise
    return sock
