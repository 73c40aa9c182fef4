"""Sweep: every cube x two region levels x the finest level of every other role, with margins.

On a demo release of the swept year (``zicht demo --first-year``, the year's rows as the full
run writes them; scale ``ZICHT_SWEEP_SCALE``, default 0.02; a home with a current release can
be given as ``ZICHT_SWEEP_HOME``), every such query up to the engine's cell limit must answer
without an audit failure, and every suppression pattern it publishes is audited again from
scratch: a fresh LP audit of the final pattern (no proof carried over
from the search, no rectangles, no sub-tables) must find every suppressed cell protected
against an attacker who knows what the reasons tell (a count that passed the threshold rule
holds at least the threshold: ``sdc_cases.known_lower_bound``), or against non-negativity
alone where the last resort says it proved some directions only so.
``ZICHT_SWEEP_FULL=1`` also sweeps buurt (``make sweep``).

A second sweep takes three items: every cube's gemeenten x two of its other items at their
finest level (``bench.sweep_three``), the tables without flows or rectangles where the LPs
have a budget and boxes prove the rest; the same re-audit.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sdc_cases import known_lower_bound

from bench import sweep_three
from cube import protect as cube_protect
from cube.engine import Engine
from cube.errors import TooManyCells
from cube.query import Cut, Query
from loaders.releases import current_release
from sdc import status
from sdc.audit import audit
from sdc.protect import primary_suppression
from sdc.relations import build_relations
from sdc.secondary import requirements

SCALE = os.environ.get("ZICHT_SWEEP_SCALE", "0.02")
FULL = os.environ.get("ZICHT_SWEEP_FULL") == "1"
REGION_LEVELS = ("gemeente", "wijk", "buurt") if FULL else ("gemeente", "wijk")
YEAR = "2023"


@pytest.fixture(scope="module")
def engine(tmp_path_factory) -> Iterator[Engine]:
    home = Path(os.environ.get("ZICHT_SWEEP_HOME") or tmp_path_factory.mktemp("sweep"))
    if current_release(home) is None:
        subprocess.run(
            [sys.executable, "-m", "service.cli", "--home", str(home), "demo",
             "--scale", SCALE, "--seed", "7", "--first-year", YEAR],
            check=True, capture_output=True,
        )  # fmt: skip
    release = current_release(home)
    assert release is not None
    # a sweep of patterns, not of speed: a table that takes longer than the service's time
    # limit on a busy machine must still be audited
    eng = Engine.open(release, query_timeout_s=3600)
    yield eng
    eng.close()


def sweep_queries(engine: Engine) -> list[tuple[str, Query]]:
    out = []
    for cube in engine.catalog.cubes.values():
        if cube.id not in {c["id"] for c in engine.cubes()}:
            continue
        base = tuple(m.id for m in cube.measures if m.kind in ("count", "sum"))
        period = [r for r in cube.roles if r.dimension.id == "period"]
        cuts = tuple(Cut(r.id, "year", (YEAR,)) for r in period)
        regions = [r for r in cube.roles if r.dimension.id == "region"]
        others = [r for r in cube.roles if r.dimension.id not in ("region", "period")]
        for region in regions:
            for level in (lv for lv in REGION_LEVELS if lv in _levels(region)):
                for other in others:
                    finest = _levels(other)[-1]
                    items = (f"{region.id}@{level}", f"{other.id}@{finest}")
                    name = f"{cube.id}:{items[0]}x{items[1]}"
                    out.append((name, Query(cube.id, base, items, cuts, totals="margins")))
    return out


def _levels(role: Any) -> tuple[str, ...]:
    return role.levels or tuple(lv.id for lv in role.dimension.levels)


class Recheck:
    """Wraps ``sdc.protect.protect`` as the engine calls it; audits every pattern again."""

    def __init__(self, real):
        self.real = real
        self.tables = 0
        self.cells = 0
        self.weak = 0  # measures re-audited against non-negativity alone
        self.failures: list[str] = []

    def __call__(self, table, policy):
        result = self.real(table, policy)
        self.tables += 1
        rel = build_relations(table)
        for name, stats in table.measures.items():
            p = policy.for_measure(name)
            suppressed = result.measures[name].status == status.SUPPRESSED
            primary, _, level = primary_suppression(stats, p)
            if not (p.secondary and rel.n and primary.any()):
                continue
            source = stats.value if stats.additive_value is None else stats.additive_value
            values = np.asarray(source, dtype=np.float64)
            # what the reasons tell the attacker, unless the last resort said it proved some
            # directions against non-negativity alone (then that is what it promises)
            weak = result.measures[name].facts["fallbacks_without_status_bounds"]
            known = np.zeros(len(values)) if weak else known_lower_bound(stats, p)
            lb = np.where(stats.negative_mask(), -np.inf, known)
            self.weak += bool(weak)
            if not suppressed[primary].all():
                self.failures.append(f"{name}: a primary cell is published")
            self.cells += int(suppressed.sum())
            outcome = audit(
                rel, values, suppressed, requirements(values, primary, suppressed, level, lb)
            )
            if not outcome.passed:
                self.failures.append(
                    f"{name}: {len(outcome.failing_up)} up, {len(outcome.failing_down)} down"
                )
        return result


def test_every_cube_by_two_region_levels_and_the_finest_other_level(engine, monkeypatch):
    recheck = Recheck(cube_protect.protect)
    monkeypatch.setattr(cube_protect, "protect", recheck)
    answered, too_big, slowest = [], [], (0.0, "")
    for name, query in sweep_queries(engine):
        start = time.perf_counter()
        try:
            engine.answer(query)
        except TooManyCells:
            too_big.append(name)
            continue
        seconds = time.perf_counter() - start
        slowest = max(slowest, (seconds, name))
        answered.append(name)
    print(
        f"\nsweep: {len(answered)} answered, {len(too_big)} over the cell limit, "
        f"{recheck.tables} tables, {recheck.cells} suppressed cells re-audited "
        f"({recheck.weak} measures without status bounds), "
        f"slowest {slowest[0]:.2f} s ({slowest[1]})"
    )
    assert recheck.failures == []
    # Every cube took part, and most of the sweep fits under the cell limit.
    assert {n.split(":")[0] for n in answered} == {q.cube for _, q in sweep_queries(engine)}
    assert len(answered) >= 2 * len(too_big)


def test_every_cube_by_gemeente_and_two_other_items_with_margins(engine, monkeypatch):
    """Three items with margins: no audit failure, every pattern proven again from scratch,
    and what secondary suppression adds stays a small share of what is published."""
    recheck = Recheck(cube_protect.protect)
    monkeypatch.setattr(cube_protect, "protect", recheck)
    records = sweep_three.run(engine, sweep_three.queries(engine, "gemeente", YEAR))
    result = sweep_three.summary(records)
    print(
        f"\nsweep of three items: {result['answered']} answered in {result['seconds']} s "
        f"(re-audit included), {recheck.tables} tables ({recheck.weak} measures re-audited "
        f"without status bounds), {result['suppressed']} of "
        f"{result['values']} values suppressed, {result['secondary']} secondary"
    )
    assert result["errors"] == []
    assert recheck.failures == []
    assert result["answered"] >= 20 and result["answered"] >= 2 * result["over_cell_limit"]
    assert result["secondary"] <= 0.05 * result["values"]
