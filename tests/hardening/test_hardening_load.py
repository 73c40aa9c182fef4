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


def test_wrk_figures_are_read_in_every_unit_wrk_prints():
    """wrk prints each latency in the largest unit keeping it >= 1: microseconds up to
    minutes. A unit not understood must not turn into NaN in a committed bench result."""
    from tests.hardening.loadtest import parse_wrk

    out = """Running 15s test @ http://127.0.0.1:8000
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   160.31ms   63.56ms 400.00ms   68.50%
    Req/Sec    99.00     20.00   150.00     71.99%
  Latency Distribution
     50%  843.00us
     75%    1.50ms
     90%    2.10s
     99%    1.05m
  13245 requests in 15.01s, 20.00MB read
  Non-2xx or 3xx responses: 3
Requests/sec:    882.41
"""
    figures = parse_wrk(out)
    assert figures["latency_p50_ms"] == 0.84
    assert figures["latency_p99_ms"] == 63_000.0
    assert figures["requests"] == 13245 and figures["requests_per_s"] == 882.41
    assert figures["non_2xx_3xx"] == 3
    unknown = parse_wrk(out.replace("1.05m", "1.05x"))["latency_p99_ms"]
    assert unknown != unknown  # NaN: no figure rather than a wrong one
