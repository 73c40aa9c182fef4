"""Dashboard query mix over real HTTP against `zicht serve`.

    python -m bench.http_latency --home ~/.local/share/zicht [--gemeenten 20] [--seconds 5]

Starts `zicht serve` on a free loopback port, asks each query of the mix once (cold: engine
and disclosure control), then five more times (cached), and finally measures cached requests
per second with a few keep-alive client threads. Client and server share this machine's cores,
so throughput is a lower bound.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AGG = "/api/v1/cubes/{}/aggregate?"


def mix(gemeenten: list[str], years: range) -> list[str]:
    """What a dashboard asks: time series, neighbour comparison, map per year, wijk detail."""
    out = []
    for g in gemeenten:
        out += [
            AGG.format("drug_suspects") + "measures=suspects,suspects_per_10k_inhabitants"
            f"&drilldown=period@year&cut=residence@gemeente:{g}",
            AGG.format("drug_suspects") + "measures=suspects_per_10k_inhabitants"
            f"&drilldown=residence@gemeente&cut=residence@gemeente:neighbours({g},self)"
            f"&cut=period@year:{years[-1]}",
            AGG.format("plantations")
            + f"measures=plantations&drilldown=period@year&cut=region@gemeente:{g}",
            AGG.format("dwellings") + "measures=dwellings,doorsluis_dwellings"
            f"&drilldown=region@wijk&cut=region@gemeente:{g}&cut=period@year:{years[-1]}",
        ]
    out += [
        AGG.format("drug_suspects")
        + f"measures=suspects_per_10k_inhabitants&drilldown=residence@gemeente&cut=period@year:{y}"
        for y in years
    ]
    return out


def percentile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


class Server:
    def __init__(self, home: str, threads: int, quiet: bool = False):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        env = {**os.environ, "PYTHONPATH": str(ROOT), "ZICHT_RATE_LIMIT_PER_MINUTE": "0"}
        env["ZICHT_LOG_LEVEL"] = "WARNING"
        main = "import sys; from service.cli import main; sys.exit(main())"
        cmd = [sys.executable, "-c", main, "--home", home, "serve", "--port", str(self.port)]
        cmd += ["--threads", str(threads)]
        err = subprocess.DEVNULL if quiet else None  # waitress logs every queue build-up
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)

    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)

    def wait_ready(self, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit("zicht serve exited")
            c = self.connect()
            try:
                c.request("GET", "/ready")
                if c.getresponse().status == 200:
                    return
            except OSError:
                pass
            finally:
                c.close()
            time.sleep(0.2)
        raise SystemExit("zicht serve did not become ready")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def timed(conn: http.client.HTTPConnection, path: str) -> tuple[float, int]:
    t = time.perf_counter()
    conn.request("GET", path)
    r = conn.getresponse()
    r.read()
    return (time.perf_counter() - t) * 1000, r.status


def throughput(server: Server, paths: list[str], seconds: float, clients: int) -> float:
    stop = time.monotonic() + seconds
    counts = [0] * clients

    def worker(i: int) -> None:
        conn, k = server.connect(), i
        while time.monotonic() < stop:
            timed(conn, paths[k % len(paths)])
            counts[i] += 1
            k += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", required=True)
    ap.add_argument("--gemeenten", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--threads", type=int, default=4, help="server threads")
    ap.add_argument("--clients", type=int, default=4)
    args = ap.parse_args()
    server = Server(args.home, args.threads)
    try:
        server.wait_ready()
        conn = server.connect()
        conn.request("GET", "/api/v1/cubes/drug_suspects/members/residence?level=gemeente")
        members = json.loads(conn.getresponse().read())["members"]
        paths = mix([m["code"] for m in members][: args.gemeenten], range(2016, 2025))
        cold = [timed(conn, p) for p in paths]
        bad = sum(1 for _, status in cold if status != 200)
        warm = [timed(conn, p)[0] for _ in range(5) for p in paths]
        rps = throughput(server, paths, args.seconds, args.clients)
    finally:
        server.stop()
    cold_ms = [ms for ms, _ in cold]
    print("| queries | non-200 | cold p50 | cold p99 | cached p50 | cached p99 | cached req/s |")
    print("|---|---|---|---|---|---|---|")
    print(
        f"| {len(paths)} | {bad} | {percentile(cold_ms, 0.5):.1f} ms | "
        f"{percentile(cold_ms, 0.99):.1f} ms | {percentile(warm, 0.5):.2f} ms | "
        f"{percentile(warm, 0.99):.2f} ms | {rps:.0f} |"
    )


if __name__ == "__main__":
    main()
