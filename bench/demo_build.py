"""Build time and peak memory of the demo release: generation, then load, at given scales.

Each phase runs in its own child process so its peak resident memory (``ru_maxrss`` from
``os.wait4``) is its own. Usage::

    .venv/bin/python bench/demo_build.py --scale 0.02 --scale 1 [--seed 1] [--keep DIR]

Prints one table row per scale and phase. ``zicht demo`` = generate + load.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_GENERATE = """
import sys
from loaders.synthetic import generate
counts = generate(sys.argv[1], scale=float(sys.argv[2]), seed=int(sys.argv[3]))
print(sum(counts.values()))
"""
_LOAD = """
import sys
from pathlib import Path
from loaders.load import load_directory
from service.commands.demo import DEMO_SECRET
release = load_directory(Path(sys.argv[1]), Path(sys.argv[2]), secret=DEMO_SECRET)
print(sum(release.manifest.get("row_counts", {}).values()))
"""


def run_phase(code: str, *args: str) -> tuple[float, float, float, str]:
    """(wall s, CPU s, peak RSS MiB, stdout) of ``python -c code args`` in a child process.

    CPU seconds (user + system) are reported too: on a shared machine wall time mostly
    measures the neighbours.
    """
    began = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.monotonic() - began
    if proc.returncode != 0:
        raise SystemExit(f"phase failed with exit code {proc.returncode}")
    cpu = usage.ru_utime + usage.ru_stime
    return seconds, cpu, usage.ru_maxrss / 1024, out.strip()  # ru_maxrss is in KiB on Linux


def bench(
    scale: float, seed: int, work: Path, load_too: bool = True
) -> list[tuple[str, float, float, float, str]]:
    src, home = work / "input", work / "home"
    gen = run_phase(_GENERATE, str(src), str(scale), str(seed))
    size = sum(f.stat().st_size for f in src.iterdir()) / 2**20
    first = ("generate", *gen[:3], f"{int(gen[3]):,} rows, {size:,.0f} MiB of files")
    if not load_too:
        return [first]
    load = run_phase(_LOAD, str(src), str(home))
    return [
        first,
        ("load", *load[:3], f"{int(load[3]):,} rows in the release"),
        ("demo total", gen[0] + load[0], gen[1] + load[1], max(gen[2], load[2]), ""),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, action="append", help="repeatable")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", help="keep the generated files and release under this dir")
    parser.add_argument("--generate-only", action="store_true", help="skip the load phase")
    args = parser.parse_args(argv)
    scales = args.scale or [0.02]
    print(f"cpus: {os.cpu_count()}  python: {sys.version.split()[0]}")
    print(f"{'scale':>7}  {'phase':<11} {'wall s':>8} {'CPU s':>8} {'peak MiB':>9}  detail")
    for scale in scales:
        work = Path(args.keep) / f"{scale:g}" if args.keep else Path(tempfile.mkdtemp())
        work.mkdir(parents=True, exist_ok=True)
        try:
            for phase, seconds, cpu, peak, detail in bench(
                scale, args.seed, work, not args.generate_only
            ):
                print(
                    f"{scale:>7g}  {phase:<11} {seconds:>8.1f} {cpu:>8.1f} {peak:>9,.0f}  {detail}"
                )
                sys.stdout.flush()
        finally:
            if not args.keep:
                shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
