"""`zicht serve --workers 2` over real HTTP: both workers serve, follow a release switch made
through either, and share the audit log, the rate limits and the risk memory (embedded store
and PostgreSQL)."""

from __future__ import annotations

import contextlib
import http.client
import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.hardening.loadtest import build_two_releases
from tests.service.store_fixtures import Backing, backing_fixture  # noqa: F401 (fixture)
from tests.service.test_service_live import TOKEN, free_port, wait_ready, zicht

ADMIN = {"Authorization": f"Bearer {TOKEN}"}
AGG = "/api/v1/cubes/drug_suspects/aggregate?measures=suspects&drilldown=residence@gemeente"


def fresh(port: int, path: str, headers: dict[str, str] | None = None, method: str = "GET"):
    """One request on a new connection (the kernel picks the worker per connection)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, headers=headers or {})
        r = conn.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        conn.close()


def until_each_worker(port: int, path: str, headers: dict[str, str] | None = None) -> dict:
    """Ask on new connections until both workers have answered; {worker: (status, body)}.

    With ``headers``, each request also sends an API key of its own (``key-1000-secret`` on):
    a fresh rate-limit bucket every time."""
    seen: dict[str, Any] = {}
    for n in range(200):
        extra = {"X-API-Key": f"key-{1000 + n:04d}-secret"} if headers is not None else {}
        status, head, body = fresh(port, path, {**(headers or {}), **extra})
        seen.setdefault(head.get("X-Zicht-Worker"), (status, body))
        if {"0", "1"} <= set(seen):
            return seen
    raise AssertionError(f"only workers {sorted(map(str, seen))} answered")


@pytest.fixture(scope="module")
def two(tmp_path_factory) -> tuple[Path, str, str]:
    return build_two_releases(tmp_path_factory.mktemp("workers"))


def serve(home: Path, port: int, **env: str) -> subprocess.Popen[str]:
    extra = {"ZICHT_RELEASE_POLL_S": "0.2", **env}
    proc = zicht(home, "serve", "--port", str(port), "--workers", "2", "--threads", "2",
                 env_extra=extra, stdout=subprocess.PIPE, text=True)  # fmt: skip
    # The supervisor prints this once every worker serves (one may answer /ready before).
    assert proc.stdout is not None and "with 2 worker processes" in proc.stdout.readline()
    wait_ready(f"http://127.0.0.1:{port}", proc, timeout_s=90)
    return proc


@pytest.fixture
def stop() -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout:
            proc.stdout.close()


def test_a_switch_through_one_worker_reaches_every_worker(two, tmp_path, stop) -> None:
    import shutil

    src, first, second = two
    home = shutil.copytree(src, tmp_path / "home", ignore=shutil.ignore_patterns("audit", "state"))
    port = free_port()
    stop.append(proc := serve(home, port))
    before = until_each_worker(port, "/ready")
    assert {json.loads(b)["release"] for _, b in before.values()} == {first}
    status, _, body = fresh(port, f"/api/v1/admin/releases/{second}/activate", ADMIN, "POST")
    assert status == 200 and json.loads(body)["serving"] == second
    time.sleep(0.5)  # the other worker looks at `current` every 0.2 s
    after = until_each_worker(port, "/ready")
    assert {w: json.loads(b)["release"] for w, (_, b) in after.items()} == {
        "0": second,
        "1": second,
    }
    answers = until_each_worker(port, AGG)
    assert {json.loads(b)["release"] for _, b in answers.values()} == {second}
    # ... and back with the command line, which only rewrites `current`
    done = zicht(home, "releases", "switch", first, stdout=subprocess.DEVNULL)
    assert done.wait(timeout=60) == 0
    time.sleep(0.5)
    back = until_each_worker(port, "/ready")
    assert {json.loads(b)["release"] for _, b in back.values()} == {first}
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=40) == 0
    assert (
        proc.stdout is not None and "zicht: stopped (all requests finished)" in proc.stdout.read()
    )


def test_workers_share_audit_rate_limit_and_risk_memory(
    two, tmp_path, stop, backing: Backing
) -> None:
    import shutil

    src, _, _ = two
    home = shutil.copytree(src, tmp_path / "home", ignore=shutil.ignore_patterns("audit", "state"))
    port = free_port()
    keys = ",".join(f"k{i}=key-{i:04d}-secret" for i in (*range(40), *range(1000, 1200)))
    stop.append(serve(
        home, port, ZICHT_RATE_LIMIT_PER_MINUTE="1", ZICHT_RATE_LIMIT_BURST="6",
        ZICHT_API_KEYS=keys, ZICHT_MONITOR_THRESHOLD="1000000", **backing.env(),
    ))  # fmt: skip
    # Rate limit: a burst of 6, whichever worker a request reaches.
    codes: dict[str, list[int]] = {"0": [], "1": []}
    for _ in range(24):
        status, head, _ = fresh(port, "/api/v1/cubes")
        codes[head["X-Zicht-Worker"]].append(status)
    assert codes["0"] and codes["1"], codes
    assert sorted(codes["0"] + codes["1"]).count(200) == 6, codes
    assert set(codes["0"] + codes["1"]) == {200, 429}
    # Risk memory: an answer from one worker and a comparable one from the other are a pair.
    crossed = None
    for i in range(40):
        key = {"X-API-Key": f"key-{i:04d}-secret"}
        status, head, _ = fresh(port, AGG + "&cut=period@year:2022", key)
        assert status == 200
        status, other, _ = fresh(port, AGG + "&cut=period@year:2023", key)
        assert status == 200
        if other["X-Zicht-Worker"] != head["X-Zicht-Worker"]:
            crossed = f"key:k{i}"
            break
    assert crossed is not None, "the two answers never came from different workers"
    audit = until_each_worker(port, f"/api/v1/admin/audit?limit=5&client={crossed}", ADMIN)
    views = [json.loads(body)["records"] for _, body in audit.values()]
    assert views[0] == views[1]  # one audit log, whichever worker shows it
    latest, earliest = views[0][0], views[0][-1]
    assert (earliest["risk_flags"], latest["risk_flags"]) == ([], ["differencing"])
    risk = until_each_worker(port, f"/api/v1/admin/risk?client={crossed}", ADMIN)
    flags = [json.loads(body)["flags"] for _, body in risk.values()]
    assert flags[0] == flags[1] and [f["kind"] for f in flags[0]] == ["differencing"]


def test_a_worker_that_dies_is_replaced(two, tmp_path, stop) -> None:
    import os
    import shutil

    src, _, _ = two
    home = shutil.copytree(src, tmp_path / "home", ignore=shutil.ignore_patterns("audit", "state"))
    port = free_port()
    stop.append(proc := serve(home, port))
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    assert len(children) == 2
    os.kill(int(children[0]), signal.SIGKILL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        now = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        if len(now) == 2 and children[0] not in now:
            break
        time.sleep(0.2)
    else:
        raise AssertionError("no replacement worker")
    while True:  # the replacement opens its release, then listens: both answer again
        try:
            seen = until_each_worker(port, "/ready")
            break
        except AssertionError:
            assert time.monotonic() < deadline, "the replacement worker never answered"
            time.sleep(0.5)
    assert all(status == 200 for status, _ in seen.values())


def test_a_damaged_release_stops_every_worker_with_a_clear_error(tmp_path) -> None:
    from tests.service.test_service_live import ROOT  # noqa: F401 (same environment)

    (tmp_path / "current").write_text("20250101T000000Z-deadbeef\n")
    proc = zicht(tmp_path, "serve", "--port", str(free_port()), "--workers", "2",
                 stderr=subprocess.PIPE, text=True)  # fmt: skip
    assert proc.wait(timeout=60) == 2
    assert proc.stderr is not None
    err = proc.stderr.read()
    proc.stderr.close()
    assert "damaged" in err and "Traceback" not in err


def test_several_workers_need_a_release_poll(tmp_path, two) -> None:
    src, _, _ = two
    no_poll = {"ZICHT_RELEASE_POLL_S": "0"}
    proc = zicht(src, "serve", "--port", str(free_port()), "--workers", "2",
                 env_extra=no_poll, stderr=subprocess.PIPE, text=True)  # fmt: skip
    assert proc.wait(timeout=60) == 2
    assert proc.stderr is not None
    assert "release_poll_s" in proc.stderr.read()
    proc.stderr.close()


def _scrape(port: int) -> tuple[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]]:
    """(worker that answered, {(sample name, labels): value}) of one /metrics."""
    from prometheus_client.parser import text_string_to_metric_families

    status, head, body = fresh(port, "/metrics")
    assert status == 200
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
    }
    return head["X-Zicht-Worker"], samples


def _total(samples: dict, name: str, **labels: str) -> float:
    return sum(
        v for (n, ls), v in samples.items() if n == name and labels.items() <= dict(ls).items()
    )


def test_metrics_count_the_whole_service_whichever_worker_answers(two, tmp_path, stop) -> None:
    import shutil

    src, _, _ = two
    home = shutil.copytree(src, tmp_path / "home", ignore=shutil.ignore_patterns("audit", "state"))
    port = free_port()
    stop.append(serve(home, port, ZICHT_RATE_LIMIT_PER_MINUTE="0"))
    _, before = _scrape(port)
    answered: dict[str, int] = {"0": 0, "1": 0}
    for i in range(30):  # new connections: the kernel spreads them over both workers
        status, head, _ = fresh(port, AGG + f"&cut=period@year:{2022 + i % 2}")
        assert status == 200
        answered[head["X-Zicht-Worker"]] += 1
    assert answered["0"] and answered["1"], answered
    agg = "/api/v1/cubes/<cube>/aggregate"
    seen: set[str] = set()
    scrapes = 1  # the first scrape above is counted by the ones after it
    for _ in range(60):
        worker, after = _scrape(port)
        seen.add(worker)
        grew = _total(after, "zicht_http_requests_total", route=agg) - _total(
            before, "zicht_http_requests_total", route=agg
        )
        assert grew == 30, (worker, grew)  # all 30, not the answering worker's share
        assert (
            _total(after, "zicht_audit_records_total") - _total(before, "zicht_audit_records_total")
            == 30
        )
        assert (
            _total(after, "zicht_http_requests_total", route="/metrics")
            - _total(before, "zicht_http_requests_total", route="/metrics")
            == scrapes
        )
        assert (
            _total(after, "zicht_http_request_duration_seconds_count", route=agg)
            - _total(before, "zicht_http_request_duration_seconds_count", route=agg)
            == 30
        )
        lookups = _total(after, "zicht_cache_lookups_total") - _total(
            before, "zicht_cache_lookups_total"
        )
        assert lookups >= 30, lookups
        per_worker = {
            dict(ls)["worker"]: v
            for (n, ls), v in after.items()
            if n == "zicht_worker_requests_total"
        }
        assert set(per_worker) == {"0", "1"}
        assert sum(per_worker.values()) == _total(after, "zicht_http_requests_total")
        scrapes += 1
        if seen == {"0", "1"}:
            break
    assert seen == {"0", "1"}, "every scrape came from one worker"


def test_metrics_keep_a_dead_workers_counts_after_its_replacement(two, tmp_path, stop) -> None:
    import os
    import shutil

    src, _, _ = two
    home = shutil.copytree(src, tmp_path / "home", ignore=shutil.ignore_patterns("audit", "state"))
    port = free_port()
    stop.append(proc := serve(home, port, ZICHT_RATE_LIMIT_PER_MINUTE="0"))
    for _ in range(20):
        assert fresh(port, AGG)[0] == 200
    _, before = _scrape(port)
    counted = _total(before, "zicht_http_requests_total", route="/api/v1/cubes/<cube>/aggregate")
    assert counted == 20
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    os.kill(int(children[0]), signal.SIGKILL)
    deadline = time.monotonic() + 60
    while True:  # until the replacement answers too
        now = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        if len(now) == 2 and children[0] not in now:
            with contextlib.suppress(AssertionError):
                until_each_worker(port, "/ready")
                break
        assert time.monotonic() < deadline, "no replacement worker"
        time.sleep(0.3)
    for _ in range(10):  # scrapes from both workers, the replacement among them
        _, after = _scrape(port)
        route = "/api/v1/cubes/<cube>/aggregate"
        assert _total(after, "zicht_http_requests_total", route=route) == counted
        assert _total(after, "zicht_audit_records_total") >= 20


@pytest.mark.parametrize(
    ("asked", "workers", "cores", "threads"),
    [(0, 1, 2, 2), (0, 2, 2, 1), (0, 3, 2, 1), (0, 2, 8, 4), (3, 2, 2, 3)],
)
def test_workers_share_the_cores_among_their_duckdbs(asked, workers, cores, threads) -> None:
    from service.commands.serve import share_cores
    from service.settings import Settings

    assert share_cores(Settings(duckdb_threads=asked), workers, cores).duckdb_threads == threads
