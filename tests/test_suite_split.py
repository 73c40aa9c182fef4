"""The split `make test` runs (tests/conftest.py) names modules that exist: a renamed module
would otherwise lose its place in the serial phase, its shared worker or its early start
without a word."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import (
    LONGEST_FIRST,
    SERIAL,
    SHARED,
    group_of,
    pytest_collection_modifyitems,
)

ROOT = Path(__file__).parents[1]


def test_every_module_named_for_the_split_exists():
    missing = [p for p in (*SERIAL, *SHARED) if not (ROOT / p).exists()]
    assert not missing, missing


def test_every_unit_started_first_is_a_group_or_a_module_that_runs_on_every_core():
    groups = set(SHARED.values())
    unknown = [g for g in LONGEST_FIRST if g not in groups and not (ROOT / g).exists()]
    assert not unknown, unknown
    assert not [g for g in LONGEST_FIRST if g in SERIAL]


def test_modules_sharing_a_session_fixture_share_a_worker():
    assert group_of("tests/conformance/test_conformance_answers.py") == group_of(
        "tests/conformance/test_conformance_encrypted.py"
    )
    assert group_of("tests/dashboard/test_dashboard_browser.py") == group_of(
        "tests/dashboard/test_dashboard_screenshots.py"
    )
    assert group_of("tests/sdc/test_sdc_sweep.py") == "tests/sdc/test_sdc_sweep.py"


class Item:
    """An item as pytest before 9.2 keeps it: its id in ``_nodeid``."""

    def __init__(self, nodeid: str, name: str = ""):
        self._nodeid, self.marks = nodeid, []
        self.name = name or nodeid.split("::")[-1]

    @property
    def nodeid(self) -> str:
        return self._nodeid

    def add_marker(self, mark) -> None:
        self.marks.append(mark.name)


def test_items_sharing_a_node_id_get_their_own_and_run_on_every_core():
    """Schemathesis' tests (one item per API operation, one node id): xdist would run one."""
    items = [
        Item("tests/service/test_a.py::test_fuzz", "test_fuzz[GET /a]"),
        Item("tests/service/test_a.py::test_fuzz", "test_fuzz[GET /b]"),
        Item("tests/service/test_a.py::test_other"),
        Item("tests/service/test_b.py::test_plain[1]"),
        Item("tests/hardening/test_hardening_soak.py::test_memory"),
    ]
    pytest_collection_modifyitems(items)  # type: ignore[arg-type]
    assert [it.nodeid for it in items[:2]] == [
        "tests/service/test_a.py::test_fuzz[GET /a]",
        "tests/service/test_a.py::test_fuzz[GET /b]",
    ]
    assert [it.marks for it in items] == [[], [], [], [], ["serial"]]


def test_items_whose_node_ids_stay_shared_run_in_the_serial_phase():
    items = [
        Item("tests/service/test_a.py::test_fuzz", "test_fuzz"),
        Item("tests/service/test_a.py::test_fuzz", "test_fuzz"),
        Item("tests/service/test_a.py::test_other"),
        Item("tests/service/test_b.py::test_plain[1]"),
    ]
    pytest_collection_modifyitems(items)  # type: ignore[arg-type]
    assert [it.marks for it in items] == [["serial"], ["serial"], ["serial"], []]


def test_schemathesis_items_get_their_own_node_ids_in_a_real_collection():
    """The renaming as the installed pytest and schemathesis do it (the fakes above stand for
    a pytest before 9.2): one schemathesis module collected, every item with its own id."""
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         "tests/service/test_service_openapi.py"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    ids = [line for line in out.splitlines() if "::test_schemathesis" in line]
    assert len(ids) > 10 and len(set(ids)) == len(ids), ids[:3]
    assert all(i.endswith("]") for i in ids), ids[:3]
