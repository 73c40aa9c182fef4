"""Bounded load test on loopback: `zicht serve` under wrk, a release switch half-way.

    .venv/bin/python -m tests.hardening.loadtest --duration 60 --connections 32

Builds two small releases (the cube-engine test load and a variant), serves the first, runs
wrk with a Lua script that mixes cached dashboard queries with uncached ones (random age
ranges: thousands of distinct queries), switches the release through the admin endpoint in
the middle of the run, samples the server's RSS every second, and prints the figures as
JSON. ``test_hardening_load.py`` runs a short variant in CI and checks the same promises.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from tests.service.test_service_live import TOKEN, free_port, wait_ready, zicht

LUA = r"""
local cached = {
  "/api/v1/cubes/drug_suspects/aggregate?measures=suspects&drilldown=residence@gemeente,period@year",
  "/api/v1/cubes/drug_suspects/aggregate?measures=suspects,registrations&drilldown=period@year&totals=grand",
  "/api/v1/cubes/drug_suspects/aggregate?measures=suspects&drilldown=residence@buurt&cut=period@year:2022",
  "/api/v1/cubes/population/aggregate?measures=inhabitants&drilldown=region@gemeente,period@year",
  "/api/v1/cubes",
  "/api/v1/cubes/drug_suspects",
  "/api/v1/cubes/drug_suspects/members/residence?level=buurt",
}
local n = 0
local threads = {}
refused = {}  -- per thread: answers >= 400 by status, printed at the end
setup = function(thread) n = n + 1; thread:set("id", n); table.insert(threads, thread) end
init = function(args) math.randomseed(1000 + id) end
response = function(status, headers, body)
  if status >= 400 then refused[status] = (refused[status] or 0) + 1 end
end
done = function(summary, latency, requests)
  for _, t in ipairs(threads) do
    for status, count in pairs(t:get("refused")) do
      io.write(string.format("refused %d: %d\n", status, count))
    end
  end
end
request = function()
  if math.random() < 0.5 then
    return wrk.format("GET", cached[math.random(#cached)])
  end
  local lo = math.random(0, 60)
  local hi = lo + math.random(0, 45)
  local dd = ({"residence@gemeente", "residence@buurt", "period@year", "sex"})[math.random(4)]
  return wrk.format("GET", "/api/v1/cubes/drug_suspects/aggregate?measures=suspects&drilldown="
    .. dd .. "&cut=age@single:" .. lo .. ".." .. hi)
end
"""


def build_two_releases(root: Path) -> tuple[Path, str, str]:
    """Two releases in one data home; the first is current."""
    from loaders.load import load_directory
    from loaders.releases import switch_release
    from tests.cube.cube_fixtures import tables
    from tests.loaders.load_fixtures import SECRET, write_tables

    home = root / "home"
    first = load_directory(write_tables(root / "in1", tables(seed=7)), home, secret=SECRET)
    second = load_directory(write_tables(root / "in2", tables(seed=8)), home, secret=SECRET)
    switch_release(home, first.id)
    return home, first.id, second.id


def rss_kb(pid: int) -> int:
    """Resident memory of ``pid`` and its worker processes (``zicht serve --workers``)."""
    total = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            total = int(line.split()[1])
    return total + sum(rss_kb(int(c)) for c in workers_of(pid))


def workers_of(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []


def sample_rss(pid: int, stop: threading.Event, out: list[tuple[float, int]]) -> None:
    began = time.monotonic()
    while not stop.wait(1.0):
        try:
            out.append((time.monotonic() - began, rss_kb(pid)))
        except OSError:
            return


def switch_later(base: str, release_id: str, delay_s: float, out: dict[str, Any]) -> None:
    time.sleep(delay_s)
    req = urllib.request.Request(
        f"{base}/api/v1/admin/releases/{release_id}/activate",
        method="POST",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        out["switch_status"] = r.status
        out["switched_at_s"] = round(delay_s, 1)
        out["release"] = release_id


def parse_wrk(text: str) -> dict[str, Any]:
    def grab(pattern: str, default: str = "0") -> str:
        m = re.search(pattern, text)
        return m.group(1) if m else default

    # wrk prints a duration with the largest unit that keeps it >= 1 (up to minutes, hours).
    units = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}

    def ms(value: str) -> float:
        m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", value)
        return round(float(m.group(1)) * units[m.group(2)], 2) if m else float("nan")

    refused: dict[int, int] = {}  # one line per wrk thread and status
    for status, count in re.findall(r"refused (\d+): (\d+)", text):
        refused[int(status)] = refused.get(int(status), 0) + int(count)
    socket = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text
    )
    return {
        "requests": int(grab(r"(\d+) requests in")),
        "requests_per_s": float(grab(r"Requests/sec:\s+([\d.]+)")),
        # The distribution's own lines: the thread statistics above end in a share too
        # ("+/- Stdev ... 68.50%"), whose "50%" must not be read as the median.
        "latency_p50_ms": ms(grab(r"(?m)^\s+50%\s+(\S+)", "nan")),
        "latency_p99_ms": ms(grab(r"(?m)^\s+99%\s+(\S+)", "nan")),
        "non_2xx_3xx": int(grab(r"Non-2xx or 3xx responses: (\d+)")),
        "socket_errors": sum(int(x) for x in socket.groups()) if socket else 0,
        "refused_by_status": refused,
    }


def run(duration_s: int, connections: int, threads: int = 2, server_threads: int = 8) -> dict:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed (apt-get install -y wrk)")
    with tempfile.TemporaryDirectory(prefix="zicht-load-") as tmp:
        root = Path(tmp)
        home, _first, second = build_two_releases(root)
        (root / "mix.lua").write_text(LUA)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        # No rate limit; a generous query time limit: under a busy CI machine a time-out (503)
        # is the server's right answer, but this run is about a release switch losing nothing.
        env_overrides = {
            "ZICHT_RATE_LIMIT_PER_MINUTE": "0",
            "ZICHT_RELEASE_POLL_S": "1",
            "ZICHT_QUERY_TIMEOUT_S": "60",
        }
        os.environ.update(env_overrides)
        log = (root / "server.log").open("w")
        proc = zicht(home, "serve", "--port", str(port), "--threads", str(server_threads),
                     stdout=log, stderr=log)  # fmt: skip
        try:
            wait_ready(base, proc)
            return _measure(wrk, base, root, proc.pid, duration_s, connections, threads, second)
        finally:
            proc.kill()
            proc.wait(timeout=10)
            log.close()
            if os.environ.get("ZICHT_LOAD_DEBUG"):
                print((root / "server.log").read_text()[-5000:], file=sys.stderr)
            for key in env_overrides:
                os.environ.pop(key, None)


def _measure(wrk, base, root, pid, duration_s, connections, threads, second) -> dict:
    samples: list[tuple[float, int]] = []
    switch: dict[str, Any] = {}
    stop = threading.Event()
    sampler = threading.Thread(target=sample_rss, args=(pid, stop, samples), daemon=True)
    switcher = threading.Thread(target=switch_later, args=(base, second, duration_s / 2, switch))
    sampler.start()
    switcher.start()
    cmd = [wrk, f"-t{threads}", f"-c{connections}", f"-d{duration_s}s", "--latency",
           "--timeout", "10s", "-s", str(root / "mix.lua"), base]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration_s + 60)
    stop.set()
    switcher.join()
    sampler.join()
    figures = parse_wrk(out.stdout)
    if os.environ.get("ZICHT_LOAD_DEBUG"):
        print(out.stdout, out.stderr, switch, file=sys.stderr)
    warm = max(5.0, duration_s / 4)  # memory is compared after warm-up
    after = [kb for t, kb in samples if t >= warm]
    figures.update(
        duration_s=duration_s,
        connections=connections,
        release_switch=switch,
        rss_after_warmup_mb=round(after[0] / 1024, 1) if after else None,
        rss_max_mb=round(max(after) / 1024, 1) if after else None,
        rss_end_mb=round(after[-1] / 1024, 1) if after else None,
        rss_growth_pct=round((max(after) / after[0] - 1) * 100, 1) if after else None,
        served_release_after=_serving(base),
    )
    return figures


def _serving(base: str) -> str:
    with urllib.request.urlopen(f"{base}/ready", timeout=60) as r:
        return str(json.loads(r.read())["release"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=60)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args(argv)
    figures = run(args.duration, args.connections)
    print(json.dumps(figures, indent=2))
    ok = figures["non_2xx_3xx"] == 0 and figures["socket_errors"] == 0
    return 0 if ok and (figures["rss_growth_pct"] or 0) <= 10 else 1


if __name__ == "__main__":
    sys.exit(main())
