"""``bench.sdc_scaling``: the protect-time bench runs end to end and reports other seeds."""

from __future__ import annotations

import json

from bench import sdc_scaling


def test_a_small_run_writes_every_size_and_the_other_seeds(tmp_path, monkeypatch):
    monkeypatch.setattr(sdc_scaling, "FAMILIES", {"regions_x_21_sectors": 21})
    out = tmp_path / "scaling.json"
    args = ["--repeat", "1", "--max-cells", "3000", "--seeds", "2", "--out", str(out)]
    assert sdc_scaling.main(args) == 0
    family = json.loads(out.read_text())["families"]["regions_x_21_sectors"]
    assert [r["cells"] for r in family["rows"]] == [990, 2992]
    seeds = family["other_seeds"]
    assert [s["seed"] for s in seeds] == [1, 2]
    assert all(s["cells"] == 2992 and s["after"]["seconds"] > 0 for s in seeds)
    # Another draw is another table: not the seed-0 table's pattern again.
    assert {s["after"]["suppressed"] for s in seeds} != {family["rows"][-1]["after"]["suppressed"]}
