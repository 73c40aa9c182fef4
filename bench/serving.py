"""Throughput of `zicht serve` at 1 and 2 worker processes, with wrk over loopback.

    python -m bench.serving [--scale 0.01] [--seconds 15] [--connections 16] [--out FILE]

Uncached: the answer cache is off (``ZICHT_CACHE_SIZE=0``) and each request draws a random
drill-down and age range, so every request runs the engine and disclosure control. Cached:
eight dashboard queries, each asked once beforehand. Rate limits are off; wrk runs one thread.
The load average (``/proc/loadavg``) is recorded before and after every run: the machine may
be shared, and a figure without it cannot be judged. The state store's own latency per call
(audit record, risk observation, rate-limit bucket) is measured too: embedded, and PostgreSQL
when ``ZICHT_STORE_DSN`` is set (``--store-only`` measures just that). The demo release is
built once into ``~/.cache/zicht-bench/serving-<scale>`` (``zicht demo``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

AGG = "/api/v1/cubes/drug_suspects/aggregate?measures=suspects"
CACHED = [
    f"{AGG}&drilldown={dd}"
    for dd in (
        "residence@gemeente",
        "residence@provincie",
        "period@year",
        "sex",
        "residence@politie_eenheid",
        "residence@veiligheidsregio",
        "period@year,sex",
        "residence@provincie,period@year",
    )
]
UNCACHED_LUA = """
local n = 0
setup = function(thread) n = n + 1; thread:set("id", n) end
init = function(args) math.randomseed(os.time() * 100 + id) end
request = function()
  local lo = math.random(0, 60)
  local hi = lo + math.random(0, 30)
  local dd = ({"residence@gemeente", "residence@provincie", "period@year", "sex"})[math.random(4)]
  return wrk.format("GET", "/api/v1/cubes/drug_suspects/aggregate?measures=suspects&drilldown="
    .. dd .. "&cut=age@single:" .. lo .. ".." .. hi)
end
"""
CACHED_LUA = """
local paths = {%s}
local i = 0
request = function() i = i + 1; return wrk.format("GET", paths[i %% #paths + 1]) end
"""


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def demo_home(scale: float) -> Path:
    home = Path.home() / ".cache" / "zicht-bench" / f"serving-{scale:g}"
    if not (home / "current").exists():
        env = {**os.environ, "ZICHT_HOME": str(home)}
        subprocess.run([sys.executable, "-m", "service.cli", "demo", "--scale", str(scale),
                        "--first-year", "2015"],
                       env=env, check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    return home


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(
    home: Path, workers: int, cache: bool, store: str = "embedded"
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZICHT_")}
    env.update(ZICHT_HOME=str(home), ZICHT_RATE_LIMIT_PER_MINUTE="0", ZICHT_LOG_LEVEL="WARNING")
    env.update(ZICHT_STORE=store, ZICHT_STORE_SCHEMA="bench_serving")
    if store == "postgresql":
        env["ZICHT_STORE_DSN"] = os.environ["ZICHT_STORE_DSN"]
    if not cache:
        env["ZICHT_CACHE_SIZE"] = "0"
    cmd = [sys.executable, "-m", "service.cli", "serve", "--port", str(port),
           "--workers", str(workers), "--threads", "4"]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/ready", timeout=5) as r:
                if r.status == 200:
                    return proc, base
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("zicht serve did not become ready")


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) ``pid`` has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_pids(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [pid, *map(int, children)]


def wrk(base: str, script: Path, seconds: int, connections: int, pid: int = 0) -> dict[str, Any]:
    """wrk's figures, the load average, and the cores the server's processes used meanwhile:
    on a shared machine the workers may get less than a core each, which bounds the speed-up."""
    before = loadavg()
    pids = server_pids(pid) if pid else []
    cpu_before, began = {p: cpu_s(p) for p in pids}, time.monotonic()
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), base]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60).stdout
    took = time.monotonic() - began
    from tests.hardening.loadtest import parse_wrk

    figures = parse_wrk(out)
    figures.update(loadavg_before=before, loadavg_after=loadavg())
    if pids:
        cores = [round((cpu_s(p) - cpu_before[p]) / took, 2) for p in pids]
        figures["cores_used"] = round(sum(cores), 2)
        figures["cores_used_per_process"] = cores
        if figures["cores_used"]:
            figures["requests_per_core_s"] = round(figures["requests_per_s"] / sum(cores), 1)
    return figures


def store_latency(dsn: str, n: int = 400) -> dict[str, Any]:
    """Milliseconds per store call (p50, p99) for what every answered request does: the audit
    record (durable), the risk observation (one client, a full window of 200) and the
    rate-limit bucket; embedded store, and PostgreSQL when ``dsn`` is given."""
    from service.store import EmbeddedStore, Observation, Store

    def timed(fn: Any) -> dict[str, float]:
        took = []
        for i in range(n):
            began = time.perf_counter()
            fn(i)
            took.append((time.perf_counter() - began) * 1000)
        took.sort()
        return {"p50_ms": round(took[n // 2], 3), "p99_ms": round(took[int(n * 0.99)], 3)}

    def measure(store: Store) -> dict[str, Any]:
        record = json.dumps({"client": "addr:x", "query": "q" * 600, "cells": 400})[1:-1]
        return {
            "audit": timed(lambda i: store.append_audit(record, "addr:x")),
            "risk": timed(
                lambda i: store.observe(
                    "addr:x", Observation(i, f"q{i}", "c", "s", 1.0 * i, 0), 200, lambda h: []
                )
            ),
            "bucket": timed(lambda i: store.update_bucket("addr:x", lambda b: ((1.0, i), None))),
        }

    out: dict[str, Any] = {"loadavg": loadavg()}
    with tempfile.TemporaryDirectory() as tmp:
        embedded = EmbeddedStore(Path(tmp))
        out["embedded"] = measure(embedded)
        embedded.close()
    if dsn:
        import psycopg

        from service.store.postgres import PostgresStore

        pg = PostgresStore(dsn, "bench_serving")
        try:
            out["postgresql"] = measure(pg)
        finally:
            pg.close()
            with psycopg.connect(dsn, autocommit=True) as con:
                con.execute("DROP SCHEMA bench_serving CASCADE")
    out["loadavg_after"] = loadavg()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=0.01)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--out", default="")
    parser.add_argument(
        "--store",
        choices=("embedded", "postgresql"),
        default="embedded",
        help="the workers' state store (postgresql: its DSN in ZICHT_STORE_DSN)",
    )
    parser.add_argument(
        "--store-only",
        action="store_true",
        help="only the state stores' latency (PostgreSQL too with ZICHT_STORE_DSN set)",
    )
    args = parser.parse_args(argv)
    if args.store_only:
        print(json.dumps(store_latency(os.environ.get("ZICHT_STORE_DSN", "")), indent=2))
        return 0
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install -y wrk)")
    home = demo_home(args.scale)
    results: dict[str, Any] = {
        "scale": args.scale,
        "cores": len(os.sched_getaffinity(0)),
        "connections": args.connections,
        "seconds": args.seconds,
        "store": args.store,
    }
    with tempfile.TemporaryDirectory() as tmp:
        uncached, cached = Path(tmp) / "uncached.lua", Path(tmp) / "cached.lua"
        uncached.write_text(UNCACHED_LUA)
        cached.write_text(CACHED_LUA % ", ".join(json.dumps(p) for p in CACHED))
        for workers in (1, 2):
            for kind, script in (("uncached", uncached), ("cached", cached)):
                proc, base = serve(home, workers, cache=kind == "cached", store=args.store)
                try:
                    for path in CACHED:  # warm: the cached run's answers, each engine's pages
                        for _ in range(2 * workers):
                            urllib.request.urlopen(base + path, timeout=60).read()
                    wrk(base, script, 3, args.connections)  # warm-up, not counted
                    figures = wrk(base, script, args.seconds, args.connections, proc.pid)
                finally:
                    proc.terminate()
                    proc.wait(timeout=60)
                results[f"{kind}_{workers}_workers"] = figures
                print(kind, workers, json.dumps(figures), flush=True)
    results["store_latency"] = store_latency(os.environ.get("ZICHT_STORE_DSN", ""))
    for kind in ("uncached", "cached"):
        one = results[f"{kind}_1_workers"]["requests_per_s"]
        two = results[f"{kind}_2_workers"]["requests_per_s"]
        results[f"{kind}_speedup"] = round(two / one, 2) if one else None
    print(json.dumps(results, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
