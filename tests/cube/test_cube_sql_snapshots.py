"""SQL snapshots: the compiled SQL of a few queries is committed; a change must be deliberate.

Regenerate with ``ZICHT_UPDATE_SNAPSHOTS=1 pytest tests/cube/test_cube_sql_snapshots.py``.
"""

from __future__ import annotations

import os
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest

from cube import run
from cube.dialects import DIALECTS
from cube.plan import cell_grid, make_plan
from cube.query import Cut, Query
from cube.run import compiled
from cube.statement import Statement
from cube.strategies import choose, run_part

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
    if source == "rollups" and q.cube not in engine.rollups:
        pytest.skip(f"cube {q.cube} has no rollups: its SQL is the facts snapshot")
    engine = engine if source == "rollups" else facts_engine
    name = name if source == "facts" else f"{name}.rollups"
    plan = make_plan(q, engine.catalog, engine.axes_for, engine.store, engine.max_cells)
    text = (
        "\n\n".join(_text(compiled(engine.context, engine.caches, plan, p), p) for p in plan.parts)
        + "\n"
    )
    path = SNAPSHOTS / f"{name}.sql"
    if os.environ.get("ZICHT_UPDATE_SNAPSHOTS"):
        path.write_text(text)
    assert path.exists(), f"no snapshot {path.name}: run with ZICHT_UPDATE_SNAPSHOTS=1"
    assert text == path.read_text()


def _text(sql, part) -> str:
    """The strategy's statements under their names, in the order it declares them: the tree
    as DuckDB reads it (placeholders as ``:name``), then as Spark runs it (rows unrestricted)."""
    head = f"-- part {part.cube.id} shift {part.shift} strategy {sql.strategy}"
    texts = []
    for f in fields(sql):
        value = getattr(sql, f.name)
        if isinstance(value, Statement):
            texts.append(f"-- {f.name}\n{value}")
            spark = value.bind(where=None).render("spark")
            texts.append(f"-- {f.name} on spark\n{spark}")
    return "\n".join([head, *texts])


def rendered(sql) -> dict[str, object]:
    """A strategy's SQL as every dialect's text, each statement with its rows unrestricted."""
    out: dict[str, object] = {"strategy": sql.strategy, "columns": sql.columns}
    for f in fields(sql):
        value = getattr(sql, f.name)
        if isinstance(value, Statement):
            bound = value.bind(where=None)
            out[f.name] = {name: bound.render(name) for name in DIALECTS}
    return out


TEMPLATED = [
    *CASES.values(),
    Query(
        "population",
        ("inhabitants",),
        ("region@buurt", "age@band5"),
        cuts=(
            Cut("region", "gemeente", ("GM0363", "GM0014")),
            Cut("period", "year", ("2023",)),
            Cut("age", "band5", ("15-19",), exclude=True),
        ),
    ),
    Query(
        "drug_suspects",
        ("suspects",),
        ("sex", "drug_type"),
        cuts=(Cut("drug_type", "drug_type", ("cannabis", "cocaine")), Cut("sex", "sex", ("M",))),
    ),
    Query(
        "dwellings",
        ("dwellings",),
        ("owner_type",),
        cuts=(
            Cut("region", "gemeente", (), relation="neighbours", of="GM0363", include_self=True),
            Cut("period", "year", ("2023",)),
        ),
    ),
]


@pytest.mark.parametrize("q", TEMPLATED, ids=lambda q: f"{q.cube}:{'+'.join(q.drilldown)}")
def test_a_filled_template_is_the_sql_compiled_directly(engine, q):
    """Placeholders filled with the cut's keys give, character for character, what compiling
    the part itself gives: the template is only a faster way to the same SQL."""
    engine.sql_cache.clear()
    plan = make_plan(q, engine.catalog, engine.axes_for, engine.store, engine.max_cells)
    for part in plan.parts:
        got = compiled(engine.context, engine.caches, plan, part)
        part = run.coarsened(engine.context, part)  # as ``compiled`` reads it
        direct = choose(
            run.target(engine.context, plan, part), run.situation_of(engine.context, plan, part)
        )
        assert rendered(got) == rendered(direct)


def test_another_member_reuses_the_shape(engine, monkeypatch):
    engine.sql_cache.clear()
    engine.template_cache.clear()
    calls = []
    real = run.choose
    monkeypatch.setattr(run, "choose", lambda *a: calls.append(a) or real(*a))
    for code in ("GM0014", "GM0363", "GM0362"):
        q = Query(
            "drug_suspects",
            ("suspects",),
            ("period@year",),
            cuts=(Cut("residence", "gemeente", (code,)),),
        )
        plan = make_plan(q, engine.catalog, engine.axes_for, engine.store, engine.max_cells)
        sql = compiled(engine.context, engine.caches, plan, plan.parts[0]).one_pass
        assert len(engine.template_cache) == 1
        key = engine.axes_for(plan.cube)["residence"].levels["gemeente"]
        assert f"IN ({key.keys[key.codes.index(code)]})" in sql.render("duckdb")
    assert len(calls) == 1  # the shape, compiled once; then filled for every gemeente


@pytest.mark.parametrize(
    "cuts",
    [
        # another gemeente: other wijken in the drill-down
        [
            (Cut("region", "gemeente", (code,)), Cut("period", "year", ("2023",)))
            for code in ("GM0014", "GM0363", "GM0362")
        ],
        # other member sets, of other sizes
        [
            (Cut("region", "wijk", codes), Cut("period", "year", ("2022",)))
            for codes in (
                ("WK001400",),
                ("WK001400", "WK0363AA"),
                # (not every wijk of a gemeente: that is the gemeente, another shape)
                ("WK001400", "WK0363AA", "WK036201"),
            )
        ],
    ],
    ids=["gemeente", "members"],
)
def test_other_members_compile_nothing_new_and_answer_alike(facts_engine, monkeypatch, cuts):
    """The template key is the shape only: a query with other members fills the compiled
    shape, and its cells equal those of the part compiled directly."""
    engine = facts_engine
    engine.sql_cache.clear()
    engine.template_cache.clear()
    calls = []
    real = run.choose
    monkeypatch.setattr(run, "choose", lambda *a: calls.append(a) or real(*a))
    for i, cut in enumerate(cuts):
        q = Query("dwellings", ("dwellings", "woz_total"), ("region@wijk",), cut, totals="grand")
        plan = make_plan(q, engine.catalog, engine.axes_for, engine.store, engine.max_cells)
        (part,) = plan.parts
        filled = compiled(engine.context, engine.caches, plan, part)
        assert len(calls) == 1, f"query {i} compiled its shape again"
        sql_part = run.coarsened(engine.context, part)
        direct = real(
            run.target(engine.context, plan, sql_part),
            run.situation_of(engine.context, plan, sql_part),
        )
        assert rendered(filled) == rendered(direct)
        axes = engine.axes_for(plan.cube)
        grid = cell_grid(list(plan.items), plan.grouping_sets, axes, plan.masks)
        got = run_part(engine.backend(), filled, part, plan.items, grid, axes)
        want = run_part(engine.backend(), direct, part, plan.items, grid, axes)
        for mid, stats in got.items():
            assert np.array_equal(stats.value, want[mid].value), mid
            assert np.array_equal(stats.cell_key, want[mid].cell_key), mid
        assert len(grid) > 1
