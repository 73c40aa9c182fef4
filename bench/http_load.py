"""HTTP load with a real load tool: ``wrk`` against ``zicht serve`` over loopback.

    python -m bench.http_load --home ~/.cache/zicht-bench/0.1 [--seconds 5] [--threads 8] [--out F]

(``make bench`` runs the same through ``bench/run.py`` on its largest release.)

Cached: every request is one of the mix's queries, asked once beforehand, so the service's
answer cache serves them. Uncached: every request is a distinct query (a gemeente's time
series, its neighbours, its wijken, per year...), so each one runs the engine and disclosure
control; every run takes its own slice of the pool, so no request repeats across runs.
wrk's Lua script cycles through a path file and prints its latency summary as JSON.
Memory is the whole server's at the end: supervisor and workers (``server_memory``).

``wrk`` is installed with ``apt-get install -y wrk`` when missing (Debian; needs root).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bench.http_latency import Server
from bench.queries import MIX
from cube.query import Cut, Query

CLIENTS = (1, 8, 32)
# answers of megabytes (41,700 rows) are exports, not dashboard requests: not in the HTTP mix
EXPORT_SIZED = ("buurt_age_year",)
AGG = "/api/v1/cubes/{}/aggregate?"
YEARS = range(2016, 2025)

_LUA = """
local paths, n, first = {}, 0, 0
for line in io.lines(os.getenv("WRK_PATHS")) do n = n + 1; paths[n] = line end
local counter = 0
local threads = {}
function setup(thread)
  thread:set("id", #threads); table.insert(threads, thread)
end
function init(args)
  first = tonumber(args[1] or "0"); counter = 0
end
function request()
  local k = (first + counter * tonumber(os.getenv("WRK_THREADS")) + id) % n + 1
  counter = counter + 1
  return wrk.format("GET", paths[k])
end
function done(summary, latency, requests)
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "errors": %d, "non2xx": %d, "p50_us": %d, '
    .. '"p90_us": %d, "p99_us": %d, "max_us": %d}\\n',
    summary.requests, summary.duration, summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout, summary.errors.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


def _cut(c: Cut) -> str:
    head = ("!" if c.exclude else "") + f"{c.dimension}@{c.level}:"
    if c.relation:
        return head + f"{c.relation}({c.of}{',self' if c.include_self else ''})"
    if c.members:
        return head + ",".join(c.members)
    return head + f"{c.from_ or ''}..{c.to or ''}"


def get_path(q: Query) -> str:
    """The GET form of a query (service/query_params.py)."""
    params = [("measures", ",".join(q.measures))]
    if q.drilldown:
        params.append(("drilldown", ",".join(q.drilldown)))
    params += [("cut", _cut(c)) for c in q.cuts]
    if q.totals != "none":
        params.append(("totals", q.totals))
    if q.order:
        params.append(("order", ",".join(("-" if o.desc else "") + o.by for o in q.order)))
    if q.ranking:
        params += [("ranking", ",".join(q.ranking.measures))]
        params += [("ranking_method", q.ranking.method)]
    if q.limit is not None:
        params.append(("limit", str(q.limit)))
    query = "&".join(f"{k}={quote(v, safe=',@:()!.-')}" for k, v in params)
    return AGG.format(q.cube) + query


def uncached_pool(gemeenten: list[str]) -> list[str]:
    """Distinct dashboard queries: per gemeente and year, so no two requests repeat."""
    out = []
    for y in YEARS:
        for g in gemeenten:
            out += [
                AGG.format("drug_suspects") + "measures=suspects_per_10k_inhabitants"
                f"&drilldown=residence@gemeente&cut=residence@gemeente:neighbours({g},self)"
                f"&cut=period@year:{y}",
                AGG.format("dwellings") + "measures=dwellings,doorsluis_dwellings"
                f"&drilldown=region@wijk&cut=region@gemeente:{g}&cut=period@year:{y}",
                AGG.format("plantations") + "measures=plantations,plants"
                f"&drilldown=period@month&cut=region@gemeente:{g}&cut=period@year:{y}",
            ]
    return out


def ensure_wrk() -> str:
    path = shutil.which("wrk")
    if path:
        return path
    print("wrk is missing: installing it with apt-get (Debian package 'wrk')")
    subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True, capture_output=True)
    path = shutil.which("wrk")
    if not path:
        raise SystemExit("wrk could not be installed; run: apt-get install -y wrk")
    return path


def run_wrk(
    wrk: str, port: int, paths_file: Path, clients: int, seconds: float, first: int
) -> dict[str, Any]:
    threads = min(clients, 2)  # 2 cores: more client threads only steal from the server
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(_LUA)
    cmd = [wrk, f"-t{threads}", f"-c{clients}", f"-d{seconds:g}s", "--timeout", "60s"]
    cmd += ["-s", f.name, f"http://127.0.0.1:{port}", "--", str(first)]
    env = {"WRK_PATHS": str(paths_file), "WRK_THREADS": str(threads), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
    Path(f.name).unlink()
    line = next(ln for ln in out.splitlines() if ln.startswith("{"))
    stats = json.loads(line)
    secs = stats["duration_us"] / 1e6
    return {
        "clients": clients,
        "requests": stats["requests"],
        "req_per_s": round(stats["requests"] / secs, 1),
        "p50_ms": stats["p50_us"] / 1000,
        "p99_ms": stats["p99_us"] / 1000,
        "errors": stats["errors"] + stats["non2xx"],
    }


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def _pss_kib(pid: int) -> int:
    """Proportional set size: shared pages divided among the processes that share them."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def server_memory(pid: int) -> dict[str, Any]:
    """The memory of ``zicht serve`` as a whole: the supervisor and every worker process it
    started (one per core by default; each has its own engine and answer cache). Per process
    its peak resident set (``VmHWM``); their sum (an upper bound: forked workers share pages
    and the peaks need not coincide) and the sum of their proportional sets now (``Pss``,
    shared pages counted once)."""
    workers = _children(pid)
    peaks = {p: _status_kib(p, "VmHWM") / 1024 for p in [pid, *workers]}
    return {
        "processes": 1 + len(workers),
        "supervisor_peak_mib": round(peaks[pid], 1),
        "worker_peaks_mib": [round(peaks[w], 1) for w in workers],
        "sum_of_peaks_mib": round(sum(peaks.values()), 1),
        "pss_now_mib": round(sum(_pss_kib(p) for p in peaks) / 1024, 1),
    }


def _gemeenten(server: Server) -> list[str]:
    conn = server.connect()
    conn.request("GET", "/api/v1/cubes/drug_suspects/members/residence?level=gemeente&limit=400")
    return [m["code"] for m in json.loads(conn.getresponse().read())["members"]]


def _warm(server: Server, paths: list[str]) -> None:
    conn = server.connect()
    for p in paths:
        conn.request("GET", p)
        resp = conn.getresponse()
        resp.read()
        if resp.status != 200:
            raise SystemExit(f"HTTP {resp.status} for {p}")


def http_bench(home: Path, seconds: float, threads: int = 8) -> dict[str, Any]:
    wrk = ensure_wrk()
    server = Server(str(home), threads, quiet=True)
    work = Path(tempfile.mkdtemp())
    try:
        server.wait_ready(600)
        cached = [get_path(bq.query) for bq in MIX if bq.name not in EXPORT_SIZED]
        _warm(server, cached)
        (work / "cached.txt").write_text("\n".join(cached) + "\n")
        pool = uncached_pool(_gemeenten(server))
        (work / "uncached.txt").write_text("\n".join(pool) + "\n")
        out: dict[str, Any] = {"server_threads": threads, "seconds": seconds, "wrk": wrk}
        out["cached"] = [
            run_wrk(wrk, server.port, work / "cached.txt", c, seconds, 0) for c in CLIENTS
        ]
        out["uncached"], first = [], 0
        for c in CLIENTS:
            res = run_wrk(wrk, server.port, work / "uncached.txt", c, seconds, first)
            first += 2 * res["requests"] + 2 * c  # past every path this run used (threads drift)
            res["repeats"] = first > len(pool)
            out["uncached"].append(res)
        out["uncached_pool"] = len(pool)
        out["server_memory"] = server_memory(server.proc.pid)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    _print(out)
    return out


def _print(out: dict[str, Any]) -> None:
    print(f"\nHTTP (wrk, {out['server_threads']} server threads, {out['seconds']:g} s per run)")
    print(f"{'kind':<9} {'clients':>7} {'req/s':>9} {'p50 ms':>9} {'p99 ms':>9} {'errors':>6}")
    for kind in ("cached", "uncached"):
        for r in out[kind]:
            print(
                f"{kind:<9} {r['clients']:>7} {r['req_per_s']:>9.1f} {r['p50_ms']:>9.2f} "
                f"{r['p99_ms']:>9.2f} {r['errors']:>6}"
            )
    m = out["server_memory"]
    print(
        f"server memory, {m['processes']} processes: peaks (VmHWM) supervisor "
        f"{m['supervisor_peak_mib']:.0f} MiB, workers "
        f"{', '.join(f'{w:.0f}' for w in m['worker_peaks_mib'])} MiB, sum "
        f"{m['sum_of_peaks_mib']:.0f} MiB; proportional sets at the end (Pss) "
        f"{m['pss_now_mib']:.0f} MiB"
    )


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", required=True, help="data home with a demo release")
    ap.add_argument("--seconds", type=float, default=5.0, help="seconds per wrk run")
    ap.add_argument("--threads", type=int, default=8, help="server threads")
    ap.add_argument("--out", help="write the figures as JSON here")
    args = ap.parse_args()
    out = http_bench(Path(args.home).expanduser(), args.seconds, args.threads)
    if args.out:
        out["load_average"] = list(os.getloadavg())
        Path(args.out).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
