"""bench.dashboard drives the real page in Chromium against a real `zicht serve`: each visit
draws a first map, then redraws once for the new year and once per theme."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.dashboard.dashboard_fixtures import build_home, require_browser

ROOT = Path(__file__).resolve().parents[2]


def test_first_map_and_redraws_are_timed_per_visit(tmp_path):
    require_browser()
    home = build_home(tmp_path)
    out = tmp_path / "dashboard.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.dashboard",
            "--home",
            str(home),
            "--runs",
            "2",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(out.read_text())
    visits = result["visits"]
    assert [v["run"] for v in visits] == [0, 1]
    assert all(v["first_map_ms"] > 0 for v in visits)
    themes = len(visits[0]["redraws_ms"]) - 1  # one redraw for the year, one per theme
    assert themes >= 4 and all(len(v["redraws_ms"]) == themes + 1 for v in visits)
    assert result["redraws"] == 2 * (themes + 1) and result["redraw_worst_ms"] > 0
