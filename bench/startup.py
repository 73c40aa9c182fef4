"""Start-up of `zicht query`: a whole process's wall time, and what it imports.

    python -m bench.startup --home ~/.local/share/zicht [--runs 10] [--query JSON]

Runs ``zicht query QUERY --format json`` ``--runs`` times in fresh processes (one untimed run
first, so the files are in the page cache and the bytecode is written) and prints the best
and the median wall and CPU time with the load average. ``--imports`` lists the slowest
top-level imports of one run (``python -X importtime``) and the heavy packages it loaded.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUERY = {"cube": "drug_suspects", "measures": ["suspects"], "drilldown": ["residence@provincie"]}
# Packages `zicht query` must answer without: the loader's, Arrow's, the web framework's, the
# LP solver's and the SQL compiler's (the engine's SQL is compiled once per release and kept),
# the metrics' (nothing is served), YAML (the parsed model is kept with the release's
# members, cube/opened.py) and marshmallow (a plain query body is parsed without it,
# service/querybody.py).
HEAVY = (
    "pandas",
    "pyarrow",
    "shapely",
    "ibis",
    "sqlglot",
    "flask",
    "scipy",
    "polars",
    "pyspark",
    "prometheus_client",
    "yaml",
    "marshmallow",
)

# Runs the CLI in this process and then names the heavy packages it had imported.
_PROBE = (
    "import json, sys\n"
    "from service.cli import main\n"
    "code = main(sys.argv[2:])\n"
    "heavy = sorted({m.split('.')[0] for m in sys.modules} & set(json.loads(sys.argv[1])))\n"
    "print(json.dumps({'exit': code, 'heavy': heavy}), file=sys.stderr)\n"
)


def command(home: str, query: dict[str, object], fmt: str = "json") -> list[str]:
    return [*_cli(), "--home", home, "query", json.dumps(query), "--format", fmt]


def _cli() -> list[str]:
    return [sys.executable, "-m", "service.cli"]


def wall_times(home: str, query: dict[str, object], runs: int) -> list[tuple[float, float]]:
    """(wall, CPU) seconds per run of the whole process, CPU = user + system (less sensitive
    to a busy machine than wall time); a failing run stops the measurement."""
    argv = command(home, query)
    subprocess.run(argv, check=True, capture_output=True, cwd=ROOT)  # warms the page cache
    out = []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        began = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True, cwd=ROOT)
        wall = time.perf_counter() - began
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        out.append((wall, cpu))
    return out


def heavy_imports(
    home: str, query: dict[str, object], fmt: str = "json", env: dict[str, str] | None = None
) -> dict:
    """``{"exit": code, "heavy": [...]}``: the ``HEAVY`` packages one `zicht query` loaded."""
    argv = [sys.executable, "-c", _PROBE, json.dumps(HEAVY)]
    argv += command(home, query, fmt)[len(_cli()) :]
    done = subprocess.run(
        argv,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
        check=False,
    )
    last = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""
    if not last.startswith("{"):
        raise RuntimeError(f"zicht query failed: {done.stderr[-2000:]}")
    result: dict = json.loads(last)
    return result


def import_times(home: str, query: dict[str, object], top: int = 15) -> list[tuple[str, float]]:
    """The slowest top-level imports of one run, cumulative seconds (``-X importtime``)."""
    argv = [sys.executable, "-X", "importtime", *command(home, query)[1:]]
    done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, check=True)
    rows = []
    for line in done.stderr.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\S.*)$", line)
        if m:  # one space before the name: imported at the top, not by another import
            rows.append((m.group(2), int(m.group(1)) / 1e6))
    return sorted(rows, key=lambda r: -r[1])[:top]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", default=os.environ.get("ZICHT_HOME"), required=False)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--query", type=json.loads, default=QUERY, help="query JSON")
    ap.add_argument("--imports", action="store_true", help="also list imports")
    args = ap.parse_args(argv)
    if not args.home:
        ap.error("--home (or ZICHT_HOME) is required")
    load = os.getloadavg()
    times = wall_times(args.home, args.query, args.runs)
    load_after = os.getloadavg()
    wall, cpu = [t[0] for t in times], [t[1] for t in times]
    print(
        f"zicht query, {args.runs} runs: wall best {min(wall):.3f} s, "
        f"median {statistics.median(wall):.3f} s; CPU best {min(cpu):.3f} s, "
        f"median {statistics.median(cpu):.3f} s "
        f"(load average {load[0]:.2f} before, {load_after[0]:.2f} after)"
    )
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        # every run compiles the project's modules again: an install writes their bytecode
        print("  (PYTHONDONTWRITEBYTECODE is set: no bytecode cache, slower than installed)")
    if args.imports:
        for name, seconds in import_times(args.home, args.query):
            print(f"  import {name:<40} {seconds * 1000:7.1f} ms")
        print(f"  heavy packages loaded: {heavy_imports(args.home, args.query)['heavy']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
