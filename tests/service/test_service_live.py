"""`zicht serve` in a subprocess over real HTTP on loopback; audit survives SIGKILL."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from service.cli import main
from tests.cube.cube_fixtures import build_release
from tests.service.test_service_openapi import FUZZ_EXAMPLES, SPEC, _checks

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "live-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def zicht(home: Path, *args: str, env_extra: dict | None = None, **popen) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ZICHT_ADMIN_TOKEN": TOKEN}
    env["ZICHT_QUERY_TIMEOUT_S"] = "120"  # busy CI machines: correctness, not speed, here
    env.update(env_extra or {})
    env.pop("ZICHT_CONFIG", None)
    # Not `-m service.cli`: as __main__ its CliError would be another class than the one
    # the commands raise.
    main = "import sys; from service.cli import main; sys.exit(main())"
    cmd = [sys.executable, "-c", main, "--home", str(home), *args]
    return subprocess.Popen(cmd, cwd=ROOT, env=env, **popen)


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, Any, bytes]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, r.read()  # case-insensitive headers
    except urllib.error.HTTPError as e:
        with e:
            return e.code, e.headers, e.read()


def wait_ready(base: str, proc: subprocess.Popen, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, "zicht serve exited early"
        try:
            if get(f"{base}/ready")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError("zicht serve did not become ready")


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return build_release(tmp_path_factory.mktemp("live")).path.parent.parent


def test_live_server_answers_over_http_and_audit_survives_kill(home, tmp_path):
    # its own copy without any audit log, so the counts below are exact
    home = shutil.copytree(home, tmp_path / "home", ignore=shutil.ignore_patterns("audit"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = zicht(home, "serve", "--port", str(port), "--threads", "2",
                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    try:
        wait_ready(base, proc)
        status, headers, body = get(f"{base}/api/v1/cubes")
        assert status == 200 and headers["X-Content-Type-Options"] == "nosniff"
        acknowledged = 0
        for year in ("2022", "2023", "2022..2023"):
            url = f"{base}/api/v1/cubes/drug_suspects/aggregate?measures=suspects"
            url += f"&drilldown=residence@gemeente&cut=period@year:{year}"
            status, headers, body = get(url)
            assert status == 200, body
            assert json.loads(body)["rows"]
            acknowledged += 1
        status, _, body = get(url, {"If-None-Match": headers["ETag"]})
        assert status == 304
        acknowledged += 1
        status, _, body = get(f"{base}/api/v1/cubes/nope")
        assert status == 404 and json.loads(body)["error_type"] == "not_found"
        status, _, body = get(f"{base}/metrics")
        assert b"zicht_cache_hit_ratio" in body
        status, _, body = get(f"{base}/api/v1/admin/audit", {"Authorization": f"Bearer {TOKEN}"})
        assert status == 200 and len(json.loads(body)["records"]) == acknowledged
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()
    lines = [
        ln for p in (home / "audit").glob("audit-*.jsonl") for ln in p.read_text().splitlines()
    ]
    assert len(lines) == acknowledged  # every acknowledged answer is on disk after SIGKILL


def test_serve_refuses_without_release(tmp_path, capsys):
    assert main(["--home", str(tmp_path), "serve", "--port", str(free_port())]) == 2
    err = capsys.readouterr().err
    assert "no release" in err and "Traceback" not in err


def test_serve_refuses_a_damaged_release(tmp_path, capsys):
    (tmp_path / "current").write_text("20250101T000000Z-deadbeef\n")
    assert main(["--home", str(tmp_path), "serve", "--port", str(free_port())]) == 2
    err = capsys.readouterr().err
    assert "damaged" in err and "Traceback" not in err


@pytest.fixture(scope="module")
def live_base(home):
    port = free_port()
    proc = zicht(home, "serve", "--port", str(port), env_extra={"ZICHT_RATE_LIMIT_PER_MINUTE": "0"},
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, proc)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


schema = schemathesis.openapi.from_dict(SPEC)


@schema.parametrize()
@settings(max_examples=max(3, FUZZ_EXAMPLES // 5), deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))  # fmt: skip
def test_schemathesis_over_real_http(case, live_base):
    case.call_and_validate(base_url=live_base, checks=_checks())
