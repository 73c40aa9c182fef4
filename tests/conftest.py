"""How `make test` spreads the suite over the machine's cores (pytest-xdist) and which modules
it runs alone afterwards.

Each module is one unit of work: it runs whole in one worker, so its module fixtures (a demo
release, a live server) are built once and module-wide tallies (the fuzz budget) add up.
Modules that share a costly session fixture are one unit together. Modules in ``SERIAL`` are
marked ``serial``: they time answers or watch memory while they load the machine themselves,
so `make test` runs them after the rest, in one process with nothing beside them (``-m
serial``), and with them the modules whose items xdist cannot tell apart; a plain ``pytest``
runs everything in one process, in order.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

# Modules sharing a session fixture that takes long to start: one worker builds it once.
SHARED = {
    "tests/conformance/": "conformance",  # the Spark cluster and the exported release
    "tests/dashboard/test_dashboard_browser.py": "browser",  # Chromium and its served release
    "tests/dashboard/test_dashboard_screenshots.py": "browser",
}

# Modules whose verdicts depend on having the machine to themselves, and why.
SERIAL = {
    "tests/hardening/test_hardening_soak.py": "memory flat within ±10 % under 64 connections",
    "tests/hardening/test_hardening_load.py": "memory flat under load across a release switch",
    "tests/hardening/test_hardening_slow_clients.py": "p99 of /health and answers",
    "tests/hardening/test_hardening_input.py": "a hostile query refused within 5 s",
    "tests/service/test_service_serving.py": "health within 0.5 s while workers are busy",
    "tests/service/test_service_workers.py": "replacement workers within a deadline",
    "tests/cube/test_backends_datafusion.py": "an interrupt stops a statement within 1 s",
}


def group_of(path: str) -> str:
    """The xdist group of the module at ``path`` (relative to the project, as in a node id)."""
    return next((g for prefix, g in SHARED.items() if path.startswith(prefix)), path)


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist, which a plain run may lack
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """xdist's scheduling by scope, with ``group_of`` as the scope of a test."""
    from xdist.scheduler import LoadScopeScheduling

    class ByGroup(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return group_of(nodeid.split("::")[0])

    return ByGroup(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Items sharing one node id (schemathesis' tests, one per API operation) are one item to
    # xdist, which would run one of them: their modules run in the serial phase too.
    ids = Counter(item.nodeid for item in items)
    shared_ids = {item.nodeid.split("::")[0] for item in items if ids[item.nodeid] > 1}
    for item in items:
        path = item.nodeid.split("::")[0]
        if path in SERIAL or path in shared_ids:
            item.add_marker(pytest.mark.serial)
