"""acro (SACRO) against zicht on the same disclosure-checked table, from the same microdata.

The table: establishments (a count: threshold) and employees (a magnitude: threshold,
dominance (n, k) and p %) by SBI section x provincie on 1 January of one year, with margins.
The microdata are the release's ``fact_companies`` rows of that year, exported once as CSV
(acro reads pandas frames; its venv has no Parquet reader). acro runs in its own virtualenv
under the bench home (``pip install acro``: it pins its own pandas/numpy), in a child process,
timing only its two ``crosstab`` calls (suppression on). zicht's time is a cold ``answer()``
of the same table, from the release's rollups and from the raw facts as acro reads them
(holding-aware rules, secondary suppression and cell-key perturbation on top, which acro does
not do). acro is tried at the largest scale first and at smaller scales when it
does not finish within ``ACRO_LIMIT_S``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb

from cube.engine import Engine
from cube.query import Cut, Query
from loaders.releases import current_release

ACRO_LIMIT_S = 600
YEAR = 2024
TABLE = Query(
    "companies",
    ("establishments", "employees"),
    ("sector@section", "region@provincie"),
    (Cut("period", "year", (str(YEAR),)),),
    totals="margins",
)

_ACRO_SCRIPT = """
import json, sys, time, logging
import pandas as pd
df = pd.read_csv(sys.argv[1], dtype={"sector": str, "provincie": str})
import acro
logging.disable(logging.CRITICAL)  # acro logs every cell at INFO
session = acro.ACRO(suppress=True)
t = time.perf_counter()
counts = session.crosstab(df["sector"], df["provincie"], margins=True)
sums = session.crosstab(df["sector"], df["provincie"], values=df["employees"],
                        aggfunc="sum", margins=True)
seconds = time.perf_counter() - t
summary = {}
for i in range(2):
    rec = session.results.get_index(i)
    summary[f"table{i}"] = {"status": rec.status, "flagged": rec.sdc.get("summary", {})}
print(json.dumps({"seconds": seconds, "rows": len(df), "cells": int(sums.size),
                  "acro": acro.__version__ if hasattr(acro, "__version__") else "?",
                  "checks": summary}, default=str))
"""


def acro_python(root: Path) -> Path:
    """The acro virtualenv's python, created and filled with ``pip install acro`` if missing."""
    venv = root / "acro-venv"
    py = venv / "bin" / "python"
    if not py.exists():
        print("creating the acro virtualenv (pip install acro) under the bench home")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    probe = subprocess.run([str(py), "-c", "import acro"], capture_output=True)
    if probe.returncode != 0:
        subprocess.run([str(py), "-m", "pip", "install", "-q", "acro"], check=True)
    return py


def export_microdata(db_path: Path, out: Path) -> int:
    """The companies rows of ``YEAR`` with section and provincie codes, as CSV for acro."""
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        con.execute(f"""COPY (
            SELECT f.sbi_section AS sector, r.code AS provincie, f.employees
            FROM fact_companies f
            JOIN region r ON r.level = 'provincie' AND r.id = f.region_provincie
            WHERE f.year = {YEAR}) TO '{out}' (HEADER)""")
        row = con.execute(f"SELECT count(*) FROM fact_companies WHERE year = {YEAR}").fetchone()
    finally:
        con.close()
    return int(row[0]) if row else 0


def zicht_seconds(
    db_home: Path, repeat: int = 3, rollups: bool = True
) -> tuple[float, dict[str, Any]]:
    """Median cold ``answer()`` of the table; ``rollups=False`` reads the raw facts, as acro
    reads its microdata (with them, zicht reads the pre-aggregated facts built at load)."""
    engine = Engine.open(current_release(db_home), rollups=rollups)
    try:
        times = []
        for _ in range(repeat):
            engine.answer_cache.clear()
            engine.sql_cache.clear()
            t = time.perf_counter()
            answer = engine.answer(TABLE)
            times.append(time.perf_counter() - t)
    finally:
        engine.close()
    return sorted(times)[len(times) // 2], answer.report


def run_acro(py: Path, csv: Path) -> dict[str, Any] | None:
    try:
        proc = subprocess.run(
            [str(py), "-c", _ACRO_SCRIPT, str(csv)],
            capture_output=True,
            text=True,
            timeout=ACRO_LIMIT_S,
            check=True,
        )
    except subprocess.TimeoutExpired:
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def acro_bench(root: Path, scale_homes: list[Path]) -> dict[str, Any]:
    """``scale_homes`` largest first: the first scale at which acro finishes in time counts."""
    py = acro_python(root)
    tried = []
    for home in scale_homes:
        release = current_release(home)
        csv = root / f"acro-companies-{home.name}.csv"
        if not csv.exists():
            export_microdata(release.db_path, csv)
        acro_res = run_acro(py, csv)
        if acro_res is None:
            tried.append({"scale": home.name, "acro": f"over {ACRO_LIMIT_S} s"})
            continue
        ours, report = zicht_seconds(home)
        raw, _ = zicht_seconds(home, rollups=False)
        out = {
            "scale": home.name,
            "table": f"establishments + employees by SBI section x provincie, margins, {YEAR}",
            "rows": acro_res["rows"],
            "acro_s": round(acro_res["seconds"], 3),
            "zicht_cold_s": round(ours, 4),
            "speedup": round(acro_res["seconds"] / ours, 1),
            "zicht_cold_raw_facts_s": round(raw, 4),
            "speedup_raw_facts": round(acro_res["seconds"] / raw, 1),
            "acro_checks": acro_res["checks"],
            "zicht_report": report,
            "not_finished": tried,
        }
        print(
            f"\nacro at scale {home.name} ({out['rows']:,} rows): acro {out['acro_s']:.2f} s, "
            f"zicht cold {out['zicht_cold_s'] * 1000:.1f} ms: {out['speedup']:.0f}x faster; "
            f"from the raw facts {out['zicht_cold_raw_facts_s'] * 1000:.1f} ms: "
            f"{out['speedup_raw_facts']:.0f}x faster"
        )
        return out
    return {"not_finished": tried}
