"""Slow and idle clients do not starve the others: a small run of the tool behind
``make slowclients`` (``tests/hardening/slow_clients.py``; 1,000 slowloris sockets and 500
idle keep-alive connections there). Here 200 and 100, with time-outs short enough that the
server cuts them during the run and the attacker reopens them."""

from __future__ import annotations

from tests.hardening.slow_clients import run


def test_slowloris_and_idle_connections_leave_health_and_answers_fast() -> None:
    env = {"ZICHT_HEADER_TIMEOUT_S": "2", "ZICHT_IDLE_TIMEOUT_S": "3"}
    figures = run(8.0, slow=200, idle=100, env=env, workers=2)
    attacker = figures["attacker"]
    assert attacker["slow_cut_by_server"] >= 200, attacker  # each cut at least once
    assert attacker["idle_cut_by_server"] >= 100 and attacker["idle_answered"] >= 200, attacker
    assert attacker["sockets_held_min"] >= 270, attacker  # the pressure held all run
    for probe in ("health", "answers"):
        assert figures[probe]["count"] >= 20 and figures[probe]["failed"] == 0, figures
    # Bounds looser than the full run's (100 ms, 1 s): CI machines are shared and busy.
    assert figures["health"]["p99_ms"] < 500, figures["health"]
    assert figures["answers"]["p99_ms"] < 3000, figures["answers"]
