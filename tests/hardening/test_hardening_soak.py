"""Memory stays flat under load: a short soak (``tests/hardening/soak.py``; ``make soak`` runs
it for ten minutes). 64 connections of uncached queries against two workers; after the
warm-up (half the run, the answer cache full by then) every worker's RSS stays within ±10 %."""

from __future__ import annotations

import os

from tests.hardening.soak import run

SECONDS = int(os.environ.get("ZICHT_SOAK_SECONDS", "60"))


def test_memory_is_flat_after_warm_up_under_uncached_load() -> None:
    # A cache bound the run fills during the warm-up (half the run) even on a busy machine:
    # afterwards the cache only replaces answers.
    figures = run(SECONDS, connections=64, every_s=2.0, workers=2, cache_max_bytes=4 << 20,
                  warmup_s=SECONDS / 2)  # fmt: skip
    assert figures["wrk"]["requests"] > 0 and figures["wrk"]["socket_errors"] == 0, figures["wrk"]
    assert figures["wrk"]["non_2xx_3xx"] == 0, figures["wrk"]
    verdict = figures["verdict"]
    assert len(verdict["workers"]) == 2, verdict
    assert verdict["flat"], verdict
