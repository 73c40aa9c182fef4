"""Soak: `zicht serve` under steady load with uncached queries; is memory flat?

    python -m tests.hardening.soak --seconds 600 --out soak.json     (make soak)

wrk keeps 64 connections busy with queries drawn from some 15,000 distinct ones (drill-down,
age range, totals), so nearly every request misses the answer cache and the cache fills to
its bound. The resident memory (VmRSS) of every worker process is sampled every few seconds
and written with the load average and the workers' answer-cache bytes together (from
/metrics) to a JSON file. After the warm-up (a fifth of the run, at least 20 s) each worker's
RSS must stay within ±10 % of its value at the end of the warm-up. The releases are the small
synthetic ones of the hardening tests; ``--cache-max-bytes`` sets the workers' cache bound
(the default setting when omitted).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from tests.hardening.loadtest import build_two_releases, parse_wrk, workers_of
from tests.service.test_service_live import free_port, wait_ready, zicht

LUA = """
local n = 0
setup = function(thread) n = n + 1; thread:set("id", n) end
init = function(args) math.randomseed(os.time() * 100 + id) end
request = function()
  local lo = math.random(0, 60)
  local hi = lo + math.random(0, 29)
  local dd = ({"residence@gemeente", "residence@buurt", "period@year", "sex"})[math.random(4)]
  local totals = ({"", "&totals=grand"})[math.random(2)]
  return wrk.format("GET", "/api/v1/cubes/drug_suspects/aggregate?measures=suspects&drilldown="
    .. dd .. "&cut=age@single:" .. lo .. ".." .. hi .. totals)
end
"""
TOLERANCE = 0.10


def loadavg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cache_mb(base: str) -> dict[str, float]:
    """The answer caches' bytes, all workers together (/metrics sums them), as {"all": MB}."""
    import http.client
    import re

    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request("GET", "/metrics")
        found = re.search(rb"^zicht_cache_bytes ([0-9.e+]+)$", conn.getresponse().read(), re.M)
        return {"all": round(float(found[1]) / 2**20, 1)} if found else {}
    except OSError:
        return {}
    finally:
        conn.close()


def sample(
    pid: int, every_s: float, stop: threading.Event, out: list[dict[str, Any]], base: str = ""
) -> None:
    began = time.monotonic()
    while not stop.wait(every_s):
        workers = workers_of(pid) or [str(pid)]
        point: dict[str, Any] = {"t_s": round(time.monotonic() - began, 1), "rss_mb": {}}
        for w in workers:
            with contextlib.suppress(OSError):
                point["rss_mb"][w] = round(rss_kb(int(w)) / 1024, 1)
        point["loadavg"] = loadavg()
        if base:
            point["cache_mb"] = cache_mb(base)
        out.append(point)


def verdict(samples: list[dict[str, Any]], warm_s: float) -> dict[str, Any]:
    """Per worker: RSS at the end of the warm-up, lowest and highest after it, and whether
    all of it stays within the tolerance."""
    after = [p for p in samples if p["t_s"] >= warm_s]
    per_worker: dict[str, Any] = {}
    for pid in sorted({w for p in after for w in p["rss_mb"]}):
        series = [p["rss_mb"][pid] for p in after if pid in p["rss_mb"]]
        base = series[0]
        per_worker[pid] = {
            "after_warmup_mb": base,
            "min_mb": min(series),
            "max_mb": max(series),
            "end_mb": series[-1],
            "spread_pct": round((max(series) / base - 1) * 100, 1),
            "drop_pct": round((1 - min(series) / base) * 100, 1),
            "flat": max(series) <= base * (1 + TOLERANCE) and min(series) >= base * (1 - TOLERANCE),
        }
    return {"warmup_s": warm_s, "workers": per_worker,
            "flat": bool(per_worker) and all(w["flat"] for w in per_worker.values())}  # fmt: skip


def run(
    seconds: int,
    connections: int = 64,
    every_s: float = 5.0,
    workers: int = 0,
    cache_max_bytes: int | None = None,
    warmup_s: float | None = None,
) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install -y wrk)")
    with tempfile.TemporaryDirectory(prefix="zicht-soak-") as tmp:
        root = Path(tmp)
        home, _, _ = build_two_releases(root)
        (root / "soak.lua").write_text(LUA)
        env = {"ZICHT_RATE_LIMIT_PER_MINUTE": "0", "ZICHT_LOG_LEVEL": "WARNING"}
        if cache_max_bytes is not None:
            env["ZICHT_CACHE_MAX_BYTES"] = str(cache_max_bytes)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        args = ["serve", "--port", str(port)] + (["--workers", str(workers)] if workers else [])
        log = (root / "server.log").open("w")
        proc = zicht(home, *args, env_extra=env, stdout=log, stderr=log)
        samples: list[dict[str, Any]] = []
        stop = threading.Event()
        try:
            wait_ready(base, proc, timeout_s=120)
            sampler = threading.Thread(target=sample, args=(proc.pid, every_s, stop, samples, base))
            sampler.start()
            cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency",
                   "--timeout", "10s", "-s", str(root / "soak.lua"), base]  # fmt: skip
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120)
            stop.set()
            sampler.join()
        finally:
            stop.set()
            proc.terminate()
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()
    warm = warmup_s if warmup_s is not None else max(20.0, seconds / 5)
    return {
        "seconds": seconds,
        "connections": connections,
        "sample_every_s": every_s,
        "wrk": parse_wrk(out.stdout),
        "verdict": verdict(samples, warm),
        "samples": samples,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=600)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--every", type=float, default=5.0, help="seconds between RSS samples")
    parser.add_argument("--workers", type=int, default=0, help="0: one per core")
    parser.add_argument("--cache-max-bytes", type=int, default=None)
    parser.add_argument("--out", default="soak.json")
    args = parser.parse_args(argv)
    figures = run(args.seconds, args.connections, args.every, args.workers, args.cache_max_bytes)
    Path(args.out).write_text(json.dumps(figures, indent=1) + "\n")
    print(json.dumps({k: v for k, v in figures.items() if k != "samples"}, indent=2))
    print(f"samples written to {os.path.abspath(args.out)}", file=sys.stderr)
    return 0 if figures["verdict"]["flat"] else 1


if __name__ == "__main__":
    sys.exit(main())
