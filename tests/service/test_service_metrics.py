"""What /metrics reads from the state store at scrape time."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from service.metrics import _StateCollector


def scrape(flags: dict[str, int]) -> str:
    state = {"store_up": 1, "risk_flags": flags, "risk_clients": 3, "release": "r1"}
    registry = CollectorRegistry()
    registry.register(_StateCollector(lambda: state, lambda: (1.0, 1.0)))
    return generate_latest(registry).decode()


def test_risk_flags_are_a_gauge_that_may_fall_when_old_flags_are_forgotten():
    before, after = scrape({"differencing": 5, "burst": 2}), scrape({"differencing": 1})
    assert "# TYPE zicht_risk_flags gauge" in before
    assert 'zicht_risk_flags{kind="differencing"} 5.0' in before
    assert 'zicht_risk_flags{kind="differencing"} 1.0' in after and "burst" not in after
    assert "zicht_risk_flags_total" not in before + after
