"""How `make test` spreads the suite over the machine's cores (pytest-xdist) and which modules
it runs alone afterwards.

Each module is one unit of work: it runs whole in one worker, so its module fixtures (a demo
release, a live server) are built once and module-wide tallies (the fuzz budget) add up.
Modules that share a costly session fixture are one unit together; the units that take
longest start first, so that the cores finish about together. Modules in ``SERIAL`` are marked
``serial``: they time answers or watch memory while they load the machine themselves, so `make
test` runs them after the rest, in one process with nothing beside them (``-m serial``); a
plain ``pytest`` runs everything in one process, in order.
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


# The units that take longest (about a minute or more on two cores), longest first: xdist
# starts the units with most tests first, which would leave a long one to run alone at the end.
LONGEST_FIRST = (
    "conformance",
    "tests/sdc/test_sdc_sweep.py",
    "browser",
    "tests/hardening/test_hardening_series.py",
    "tests/loaders/test_load_build_checksums.py",
    "tests/sdc/test_sdc_fallback.py",
    "tests/hardening/test_hardening_fuzz.py",
    "tests/sdc/test_sdc_flows.py",
    "tests/dashboard/test_dashboard_demo_shares.py",
)


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

        def _assign_work_unit(self, node: Any) -> None:
            for group in reversed(LONGEST_FIRST):
                if group in self.workqueue:
                    self.workqueue.move_to_end(group, last=False)
            super()._assign_work_unit(node)

    return ByGroup(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Schemathesis gives its items (one per API operation) one node id, which xdist reads as one
    # item and would run once: each gets its own, from its name (``test_x[GET /path]``). Should
    # a pytest keep node ids where this cannot reach, their modules run in the serial phase.
    ids = Counter(item.nodeid for item in items)
    for item in items:
        if ids[item.nodeid] > 1:
            _rename(item, f"{item.nodeid.split('::')[0]}::{item.name}")
    ids = Counter(item.nodeid for item in items)
    shared = {item.nodeid.split("::")[0] for item in items if ids[item.nodeid] > 1}
    for item in items:
        path = item.nodeid.split("::")[0]
        if path in SERIAL or path in shared:
            item.add_marker(pytest.mark.serial)


def _rename(item: pytest.Item, nodeid: str) -> None:
    if hasattr(item, "_id"):  # pytest 9.2 keeps a node's id as a parsed structure
        item._id = type(item._id).parse(nodeid)
    else:
        item._nodeid = nodeid
