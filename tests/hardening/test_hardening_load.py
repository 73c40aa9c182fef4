"""The load test in CI: a shorter run of ``tests.hardening.loadtest`` (the full 60 s run is
``python -m tests.hardening.loadtest``; its figures are in the README)."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.hardening.hardening_fixtures import write_figures
from tests.hardening.loadtest import run

DURATION_S = int(os.environ.get("ZICHT_LOAD_SECONDS", "20"))


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is installed by .ci/run")
def test_load_with_a_release_switch_loses_no_request_and_keeps_memory_flat():
    figures = run(DURATION_S, connections=32)
    write_figures("load", figures, os.environ.get("ZICHT_HARDENING_FIGURES"))
    assert figures["requests"] > 0
    lost = (figures["non_2xx_3xx"], figures["socket_errors"], figures["refused_by_status"])
    assert figures["non_2xx_3xx"] == 0 and figures["socket_errors"] == 0, lost
    assert figures["release_switch"].get("switch_status") == 200, figures
    assert figures["served_release_after"] == figures["release_switch"]["release"], figures
    assert figures["rss_growth_pct"] is not None and figures["rss_growth_pct"] <= 10, figures
