"""SQL snapshots: the compiled SQL of a few queries is committed; a change must be deliberate.

Regenerate with ``ZICHT_UPDATE_SNAPSHOTS=1 pytest tests/cube/test_cube_sql_snapshots.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cube.plan import make_plan
from cube.query import Cut, Query
from cube.run import compiled

SNAPSHOTS = Path(__file__).parent / "snapshots"
CASES = {
    "population_margins": Query(
        "population",
        ("inhabitants", "inhabitants_low_income"),
        ("region@gemeente", "period@year"),
        totals="margins",
    ),
    "suspects_flows": Query(
        "drug_suspects",
        ("suspects",),
        ("residence@gemeente", "offence@gemeente"),
        cuts=(Cut("period", "year", ("2023",)),),
    ),
    "dwellings_bounds": Query(
        "dwellings",
        ("dwellings", "woz_total"),
        ("region@wijk",),
        cuts=(Cut("region", "gemeente", ("GM0014",)), Cut("period", "year", ("2023",))),
        totals="grand",
    ),
}


@pytest.mark.parametrize("source", ["facts", "rollups"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_compiled_sql_matches_snapshot(engine, facts_engine, name, source):
    """From the facts (``name.sql``) and from the release's rollups (``name.rollups.sql``)."""
    q = CASES[name]
    engine = engine if source == "rollups" else facts_engine
    name = name if source == "facts" else f"{name}.rollups"
    plan = make_plan(q, engine.catalog, engine.axes_for, engine.store, engine.max_cells)
    text = (
        "\n\n".join(
            f"-- part {p.cube.id} shift {p.shift} strategy {compiled(engine, plan, p).strategy}\n"
            f"{compiled(engine, plan, p).one_pass}\n-- holding pass\n"
            f"{compiled(engine, plan, p).holding}"
            for p in plan.parts
        )
        + "\n"
    )
    path = SNAPSHOTS / f"{name}.sql"
    if os.environ.get("ZICHT_UPDATE_SNAPSHOTS"):
        path.write_text(text)
    assert path.exists(), f"no snapshot {path.name}: run with ZICHT_UPDATE_SNAPSHOTS=1"
    assert text == path.read_text()
