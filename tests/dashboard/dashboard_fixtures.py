"""A small synthetic release, `zicht serve` on a free port, and headless Debian Chromium.

The browser is Debian's `chromium` (installed by `.ci/run`); nothing downloads a browser. Locally
the tests skip with a reason when it is missing; under CI (CI=true) a missing browser fails.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from loaders.load import load_directory
from loaders.synthetic import generate
from tests.loaders.boundary_fixtures import GEMEENTE as MAPPED_GEMEENTE
from tests.loaders.boundary_fixtures import deliver_map

ROOT = Path(__file__).resolve().parents[2]

CHROMIUM = Path(os.environ.get("ZICHT_CHROMIUM", "/usr/bin/chromium"))
# From the machine notes: without the background-networking flags Chromium keeps trying to
# reach the (closed) network.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "test-artifacts"
# Small enough to build in seconds on 2 busy cores, big enough that every gemeente has people
# (population counts are safe) while most drug cells are suppressed: both kinds on one map.
SCALE = 0.003


def require_browser() -> Any:
    """The Playwright module, or a skip (a failure under CI) when the browser is missing."""
    problem = None
    try:
        from playwright import sync_api
    except ImportError:
        problem = "Python playwright is not installed (pip install -e '.[test]')"
    if problem is None and not CHROMIUM.exists():
        problem = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests cannot run in CI: {problem}")
        pytest.skip(problem)
    return sync_api


def build_home(root: Path) -> Path:
    """The release the browser tests use. Its delivery includes a wijk- en buurtkaart for one
    gemeente (``MAPPED_GEMEENTE``, cut by the tests from its real boundary), so the page shows
    delivered boundaries there and its schematic layout everywhere else."""
    generate(root / "input", scale=SCALE, seed=1)
    deliver_map(root / "input", MAPPED_GEMEENTE)
    load_directory(root / "input", root / "home", secret=b"dashboard-test-secret")
    return root / "home"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str) -> tuple[int, Any, bytes]:
    """Status, headers and body of a GET (errors included)."""
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        with e:
            return e.code, e.headers, e.read()


class Server:
    """`zicht serve` over real HTTP on loopback, rate limit off (the tests reload often)."""

    def __init__(self, home: Path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "PYTHONPATH": str(ROOT), "ZICHT_RATE_LIMIT_PER_MINUTE": "0"}
        env.pop("ZICHT_CONFIG", None)
        main = "import sys; from service.cli import main; sys.exit(main())"
        cmd = [sys.executable, "-c", main, "--home", str(home), "serve", "--port", str(self.port)]
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self._wait_ready()

    def _wait_ready(self, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("zicht serve exited early")
            try:
                if get(f"{self.base}/ready")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise AssertionError("zicht serve did not become ready")

    def json(self, path: str, **params: str | list[str]) -> Any:
        query = urllib.parse.urlencode(params, doseq=True)
        status, _headers, body = get(f"{self.base}{path}?{query}")
        assert status == 200, body[:200]
        return json.loads(body)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Iterator[Server]:
    require_browser()
    srv = Server(build_home(tmp_path_factory.mktemp("dashboard")))
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def browser(server) -> Iterator[Any]:
    sync_api = require_browser()
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, server) -> Iterator[Any]:
    """A fresh context per test (no HTTP cache shared between tests); console errors kept."""
    context = browser.new_context(viewport={"width": 1366, "height": 900}, accept_downloads=True)
    pg = context.new_page()
    pg.errors = []  # type: ignore[attr-defined]
    refused: list[str] = []  # the browser's console names no URL: the failing answers do
    pg.on("response", lambda r: r.status >= 400 and refused.append(f"{r.status} {r.url}"))
    pg.on("console", lambda m: m.type == "error" and pg.errors.append(f"{m.text} {refused[-3:]}"))
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    pg.base = server.base  # type: ignore[attr-defined]
    yield pg
    context.close()


def open_dashboard(pg: Any, hash_: str = "") -> None:
    pg.goto(f"{pg.base}/{hash_}")
    pg.wait_for_selector("#map[data-status=ready]", timeout=30_000)
