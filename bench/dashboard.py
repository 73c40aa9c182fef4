"""Time to first map and redraw in a real browser: the dashboard as a user meets it, against
``zicht serve`` on a demo release, in Debian's Chromium (headless, driven by playwright).

    python -m bench.dashboard --home HOME [--runs 5] [--out FILE]

Per run a new browser context (an empty HTTP cache: a first visit). **first map**: from the
navigation's start to the first map drawn (the page's own ``zichtTimings.firstMap``); run 1 is
the first visit of a freshly started service (nothing in its memory), later runs a
new visitor of a running one. **redraw**: from a change of theme or year to the map redrawn
(``zichtTimings.redraws``): each run first moves to a year no earlier run asked for, then walks
every theme in it, so every redraw asks the service for figures it has not answered before.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
from pathlib import Path
from typing import Any

from bench.serving import loadavg, serve
from loaders.releases import current_release, data_home

CHROMIUM = Path(os.environ.get("ZICHT_CHROMIUM", "/usr/bin/chromium"))
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
TIMEOUT_MS = 60_000


def _wait_redraw(page: Any, before: int) -> None:
    page.wait_for_function(
        "n => window.zichtTimings.redraws.length > n", arg=before, timeout=TIMEOUT_MS
    )
    page.wait_for_selector("#map[data-status=ready]", timeout=TIMEOUT_MS)


def visit(browser: Any, base: str, run: int) -> dict[str, Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{base}/", timeout=TIMEOUT_MS)
        page.wait_for_selector("#map[data-status=ready]", timeout=TIMEOUT_MS)
        first = page.evaluate("window.zichtTimings.firstMap")
        years = page.eval_on_selector_all("#year option", "os => os.map(o => o.value)")
        year = years[(run + 1) % len(years)]  # newest first: run 0 asks the year before
        if year != page.input_value("#year"):
            before = len(page.evaluate("window.zichtTimings.redraws"))
            page.select_option("#year", year)
            _wait_redraw(page, before)
        themes = page.eval_on_selector_all("#theme option", "os => os.map(o => o.value)")
        shown = page.input_value("#theme")
        for theme in [t for t in themes if t != shown] + [shown]:
            before = len(page.evaluate("window.zichtTimings.redraws"))
            page.select_option("#theme", theme)
            _wait_redraw(page, before)
        redraws = page.evaluate("window.zichtTimings.redraws")
        return {"run": run, "first_map_ms": round(first), "redraws_ms": [round(r) for r in redraws]}
    finally:
        context.close()


def run(home: Path, runs: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    release = current_release(home)
    if release is None:
        raise SystemExit(f"no current release in {home}")
    proc, base = serve(home, workers=1, cache=True)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
            try:
                visits = []
                for n in range(runs):
                    visits.append(visit(browser, base, n))
                    print(json.dumps(visits[-1]), flush=True)
            finally:
                browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    redraws = sorted(r for v in visits for r in v["redraws_ms"])
    later = [v["first_map_ms"] for v in visits[1:]]
    return {
        "release": release.id,
        "scale": release.manifest.get("meta", {}).get("scale"),
        "load_average": loadavg(),
        "first_map_fresh_service_ms": visits[0]["first_map_ms"],
        "first_map_median_ms": round(statistics.median(later)) if later else None,
        "redraw_median_ms": round(statistics.median(redraws)),
        "redraw_p90_ms": redraws[int(0.9 * (len(redraws) - 1))],
        "redraw_worst_ms": redraws[-1],
        "redraws": len(redraws),
        "targets_ms": {"first_map": 1500, "redraw": 300},
        "visits": visits,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", required=True)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    result = run(data_home(args.home), args.runs)
    print(json.dumps({k: v for k, v in result.items() if k != "visits"}, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
