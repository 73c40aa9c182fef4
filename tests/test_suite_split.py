"""The split `make test` runs (tests/conftest.py) names modules that exist: a renamed module
would otherwise lose its place in the serial phase or its shared worker without a word."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import SERIAL, SHARED, group_of, pytest_collection_modifyitems

ROOT = Path(__file__).parents[1]


def test_every_module_named_for_the_split_exists():
    missing = [p for p in (*SERIAL, *SHARED) if not (ROOT / p).exists()]
    assert not missing, missing


def test_modules_sharing_a_session_fixture_share_a_worker():
    assert group_of("tests/conformance/test_conformance_answers.py") == group_of(
        "tests/conformance/test_conformance_encrypted.py"
    )
    assert group_of("tests/dashboard/test_dashboard_browser.py") == group_of(
        "tests/dashboard/test_dashboard_screenshots.py"
    )
    assert group_of("tests/sdc/test_sdc_sweep.py") == "tests/sdc/test_sdc_sweep.py"


class Item:
    def __init__(self, nodeid: str):
        self.nodeid, self.marks = nodeid, []

    def add_marker(self, mark) -> None:
        self.marks.append(mark.name)


def test_items_sharing_a_node_id_run_in_the_serial_phase():
    """xdist would run only one of them (schemathesis' tests: one item per API operation)."""
    items = [
        Item("tests/service/test_a.py::test_fuzz"),
        Item("tests/service/test_a.py::test_fuzz"),
        Item("tests/service/test_a.py::test_other"),
        Item("tests/service/test_b.py::test_plain[1]"),
        Item("tests/service/test_b.py::test_plain[2]"),
        Item("tests/hardening/test_hardening_soak.py::test_memory"),
    ]
    pytest_collection_modifyitems(items)  # type: ignore[arg-type]
    assert [it.marks for it in items] == [["serial"], ["serial"], ["serial"], [], [], ["serial"]]
