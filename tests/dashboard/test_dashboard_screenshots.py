"""The committed screenshots are the browser tests' own, and every one the docs name exists.

`make screenshots` runs tests/dashboard/test_dashboard_browser.py and copies the views it
captured (`view-*.png`) and their axe-core results (`axe-*.json`) to docs/screenshots/.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "docs" / "screenshots"
BROWSER_TESTS = Path(__file__).with_name("test_dashboard_browser.py")
NAMED = re.compile(r"docs/screenshots/([A-Za-z0-9_.-]+)")
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def named_in(text: str) -> set[str]:
    return set(NAMED.findall(text))


def captured_by_the_browser_tests() -> set[str]:
    """File names the browser tests write: each view of the axe run and each named screenshot."""
    source = BROWSER_TESTS.read_text("utf-8")
    views = re.search(r"^VIEWS = \{(.*?)^\}", source, re.S | re.M)
    assert views, "the browser tests' VIEWS table was not found"
    names = re.findall(r'^    "([a-z0-9-]+)": \(', views.group(1), re.M)
    out = {f"view-{n}.png" for n in names} | {f"axe-{n}.json" for n in names}
    out |= set(re.findall(r'ARTIFACTS / "(view-[a-z0-9-]+\.png)"', source))
    return out


def test_the_pattern_finds_names_and_only_names():
    text = "see ![x](docs/screenshots/view-a.png) and docs/screenshots/axe-b.json, not docs/other"
    assert named_in(text) == {"view-a.png", "axe-b.json"}


def test_the_readme_shows_screenshots():
    assert named_in((ROOT / "README.md").read_text("utf-8"))


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_screenshot_a_doc_names_exists(doc: Path):
    missing = sorted(n for n in named_in(doc.read_text("utf-8")) if not (SHOTS / n).is_file())
    assert missing == [], f"{doc.name} names screenshots that do not exist: {missing}"


def test_every_named_screenshot_is_one_the_browser_tests_capture():
    captured = captured_by_the_browser_tests()
    named = set().union(*(named_in(d.read_text("utf-8")) for d in DOCS))
    assert sorted(named - captured) == [], "make screenshots would not refresh these"


def test_the_committed_screenshots_are_all_from_the_browser_tests():
    # A file left from an older run (a view since renamed or dropped) is stale.
    committed = {p.name for p in SHOTS.iterdir() if p.is_file()}
    assert committed, "docs/screenshots/ is empty: run make screenshots"
    assert sorted(committed - captured_by_the_browser_tests()) == []


def test_make_screenshots_copies_what_the_browser_tests_write():
    makefile = (ROOT / "Makefile").read_text("utf-8")
    rule = re.search(r"^screenshots:.*?(?=^\S|\Z)", makefile, re.S | re.M)
    assert rule, "no screenshots target in the Makefile"
    body = rule.group(0)
    assert "tests/dashboard/test_dashboard_browser.py" in body
    assert "rm -rf test-artifacts" in body  # never copies a screenshot from an older run
    assert "test-artifacts/view-*.png" in body and "docs/screenshots/" in body
