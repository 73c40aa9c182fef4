"""Integration: the synthetic generator's files pass validation and load (tiny scale)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import duckdb
import pytest

from loaders.load import load_directory
from tests.loaders.load_fixtures import SECRET

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("loaders.synthetic") is None,
    reason="loaders.synthetic (helper A's generator) is not importable yet",
)


def test_generated_files_load(tmp_path: Path) -> None:
    from loaders.synthetic import generate

    counts = generate(tmp_path / "in", scale=0.001, seed=11)
    release = load_directory(
        tmp_path / "in", tmp_path / "home", secret=SECRET, extra_meta={"seed": 11}
    )
    rows = release.manifest["row_counts"]
    assert release.manifest["warnings"] == []
    for name in ("population", "dwellings", "plantations", "suspects", "transactions", "companies"):
        assert rows[f"fact_{name}"] == counts[name]
    with duckdb.connect(str(release.db_path), read_only=True) as con:
        buurten = con.execute("SELECT count(*) FROM region WHERE level = 'buurt'").fetchone()
        assert buurten == (counts["buurten"],)
        # Every buurt has its full chain of parents.
        orphans = con.execute(
            "SELECT count(*) FROM region WHERE level = 'buurt' AND (wijk IS NULL "
            "OR gemeente IS NULL OR provincie IS NULL OR politie_eenheid IS NULL "
            "OR veiligheidsregio IS NULL)"
        ).fetchone()
        assert orphans == (0,)
