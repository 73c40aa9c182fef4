"""A tiny WSGI app behind ``service.server`` in its own process, for the serving tests.

``python -m tests.service.serving_app PORT KEY=VALUE...`` (settings) serves ``/slow?s=N``
(sleeps N seconds), ``/health`` and anything else (``ok``) until SIGTERM, then prints
``drained True|False`` and exits 0.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

from service.server import build_server, serve_until_stopped
from service.settings import load_settings
from service.workers import listen


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ["PATH_INFO"] == "/slow":
        time.sleep(float(environ["QUERY_STRING"].removeprefix("s=")))
        body = b"slow done " * 1000
    else:
        body = b"ok"
    environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def main(argv: list[str]) -> int:
    port, *pairs = argv
    settings = load_settings(overrides=dict(p.split("=", 1) for p in pairs))
    server = build_server(app, listen("127.0.0.1", int(port), 0, reuse_port=False), settings)
    print("listening", flush=True)
    drained = serve_until_stopped(server, settings.shutdown_drain_s)
    print(f"drained {drained} slow-closed {server.slow_closed}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
