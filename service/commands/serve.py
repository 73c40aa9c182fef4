"""`zicht serve`: the HTTP API under waitress (a production WSGI server)."""

from __future__ import annotations

import argparse
import logging
import shutil
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from service.cli import CliError

if TYPE_CHECKING:
    from flask import Flask

    from service.settings import Settings

HELP = "serve the HTTP API (and /docs) with the current release"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="TCP port (default 8000)")
    parser.add_argument("--threads", type=int, help="threads per worker process (default 4)")
    parser.add_argument(
        "--workers", type=int, help="worker processes (default: one per core; 1: no supervisor)"
    )
    parser.add_argument(
        "--config",
        help="settings file, TOML or YAML (default: $ZICHT_CONFIG); see docs/settings.md",
    )


def run(args: argparse.Namespace) -> int:
    from loaders import releases
    from service.settings import SettingsError, load_settings
    from service.workers import cores

    overrides = {
        "host": args.host,
        "port": args.port,
        "threads": args.threads,
        "workers": args.workers,
        "home": args.home,
    }
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
    workers = settings.workers or cores()
    if workers > 1 and settings.release_poll_s == 0:
        raise CliError(
            "release_poll_s 0 would leave the other workers on the old release after a switch: "
            "set it above 0, or serve with --workers 1"
        )
    settings = share_cores(settings, workers, cores())
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    if workers == 1:
        return _serve_one(settings, release.id)
    return _serve_many(settings, release.id, workers)


def share_cores(settings: Settings, workers: int, cores: int) -> Settings:
    """``settings`` with DuckDB's threads per worker set when left to zicht (0): the cores
    divided among the workers, at least one. Each worker has its own DuckDB, and each would
    otherwise start a thread per core: two workers on two cores ran four, and the switching
    cost them about a tenth of their throughput."""
    from dataclasses import replace

    if settings.duckdb_threads:
        return settings
    return replace(settings, duckdb_threads=max(1, cores // workers))


def _open_app(settings: Settings, release_id: str) -> Flask:
    from cube.backend import BackendError
    from loaders.files import FileModes, restricted
    from service.app import create_app
    from service.store import StoreUnavailable

    try:
        with restricted(FileModes(settings.file_group)):
            return create_app(settings)
    except StoreUnavailable:
        raise CliError(f"the state store ({settings.store}) cannot be reached") from None
    except BackendError as exc:  # its messages name the reason, never a URL, token or SQL
        raise CliError(f"release {release_id} could not be opened: {exc}") from None
    except Exception as exc:  # the engine refused the release: say which, without a trace
        raise CliError(f"release {release_id} could not be opened ({type(exc).__name__})") from None


def _serve(app: Flask, sock: socket.socket, settings: Settings) -> bool:
    from service.server import build_server, serve_until_stopped

    server = build_server(app, sock, settings)
    server.task_dispatcher.queue_logger = QueueDepthLog(logging.getLogger("waitress.queue"))
    drained = serve_until_stopped(server, settings.shutdown_drain_s)
    app.extensions["zicht"].close()  # the audit log synced and closed, the engine closed
    return drained


def _stopped(drained: bool) -> None:
    print(
        f"zicht: stopped ({'all requests finished' if drained else 'drain time over'})", flush=True
    )


def _serve_one(settings: Settings, release_id: str) -> int:
    from service.workers import listen

    app = _open_app(settings, release_id)
    where = f"{settings.host}:{settings.port}"
    try:
        sock = listen(settings.host, settings.port, settings.send_buffer_bytes, reuse_port=False)
    except OSError as exc:
        raise CliError(f"cannot listen on {where}: {exc.strerror}") from None
    print(f"zicht: serving release {release_id} on http://{where}", flush=True)
    _stopped(_serve(app, sock, settings))
    return 0


def _serve_many(settings: Settings, release_id: str, count: int) -> int:
    """``count`` worker processes on one port (``service.workers``)."""
    from dataclasses import replace

    from service.metrics import share_between_workers, worker_gone
    from service.workers import EXIT_CUT, EXIT_DRAINED, StartFailed, Supervisor, listen, reserve

    where = f"{settings.host}:{settings.port}"
    try:
        held, port = reserve(settings.host, settings.port)
    except OSError as exc:
        raise CliError(f"cannot listen on {where}: {exc.strerror}") from None
    settings = replace(settings, port=port)

    def worker(index: int, ready: Callable[[str], None]) -> int:
        held.close()
        share_between_workers(shared, index)  # /metrics: the sums over every worker
        try:
            app = _open_app(settings, release_id)
            app.extensions["zicht"].worker = index
            sock = listen(settings.host, port, settings.send_buffer_bytes, reuse_port=True)
        except CliError as exc:
            ready(str(exc))
            return 2
        except OSError as exc:
            ready(f"cannot listen on {settings.host}:{port}: {exc.strerror}")
            return 2
        ready("")
        return EXIT_DRAINED if _serve(app, sock, settings) else EXIT_CUT

    # The workers' metric files: private to this run, gone when it ends.
    shared = Path(tempfile.mkdtemp(prefix="zicht-metrics-"))
    supervisor = Supervisor(
        count, worker, settings.shutdown_drain_s + 5.0, lambda index: worker_gone(shared, index)
    )
    try:
        try:
            supervisor.start()
        except StartFailed as exc:
            raise CliError(str(exc)) from None
        finally:
            held.close()  # the workers' sockets hold the port now
        print(
            f"zicht: serving release {release_id} on http://{settings.host}:{port} "
            f"with {count} worker processes",
            flush=True,
        )
        _stopped(supervisor.run())
    finally:
        shutil.rmtree(shared, ignore_errors=True)
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
