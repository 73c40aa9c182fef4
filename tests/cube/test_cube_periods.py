"""A stock over several years is the sum of its yearly stocks (person-years), each year
protected as everywhere else (cube/periods.py)."""

from __future__ import annotations

import dataclasses
import math

import duckdb
import numpy as np
import pytest

from cube.engine import Engine
from cube.model import Catalog, load_catalog
from cube.periods import is_over_years, summed, yearly
from cube.plan import cell_grid, make_plan
from cube.query import Cut, Query
from sdc.protect import ProtectedMeasure
from sdc.status import DERIVED, PERTURBED, SAFE, SUPPRESSED, THRESHOLD

RATE = ("suspects", "population.inhabitants", "suspects_per_10k_inhabitants")


def _open_catalog() -> Catalog:
    """The model with every disclosure rule off: published values are the true values."""
    cat = load_catalog()
    cubes = {
        cid: dataclasses.replace(
            c,
            policy=dataclasses.replace(
                c.policy, threshold=0, p_percent=0.0, dominance_k=100.0, perturb=False
            ),
        )
        for cid, c in cat.cubes.items()
    }
    return dataclasses.replace(cat, cubes=cubes)


@pytest.fixture(scope="module")
def open_engine(release):
    eng = Engine.open(release, catalog=_open_catalog(), answer_cache_size=0)
    yield eng
    eng.close()


def _by_cell(answer) -> dict[tuple, list]:
    return {r.members: [v.value for v in r.values] for r in answer.rows}


def _sql(release, text: str) -> dict[tuple, float]:
    con = duckdb.connect(str(release.db_path), read_only=True)
    try:
        return {tuple(r[:-1]): float(r[-1]) for r in con.execute(text).fetchall()}
    finally:
        con.close()


GEMEENTE = "(SELECT code FROM region WHERE level = 'gemeente' AND id = region_gemeente)"


def test_the_stock_over_all_years_is_person_years_as_sql_counts_them(open_engine, release):
    query = Query("drug_suspects", RATE, ("residence@gemeente", "period@year"), (), "margins")
    cells = _by_cell(open_engine.answer(query))
    # hand-written: a person on 1 January of two years is two rows, so person-years = rows
    by_gemeente = _sql(release, f"SELECT {GEMEENTE}, count(*) FROM fact_population GROUP BY 1")
    (everyone,) = _sql(release, "SELECT 1, count(*) FROM fact_population").values()
    distinct = _sql(
        release, f"SELECT {GEMEENTE}, count(DISTINCT holding) FROM fact_population GROUP BY 1"
    )
    assert len(by_gemeente) == 3
    for (code,), person_years in by_gemeente.items():
        suspects, inhabitants, rate = cells[(code, None)]
        assert inhabitants == person_years
        assert rate == pytest.approx(suspects / person_years * 10_000, abs=0.05)
    assert cells[(None, None)][1] == everyone
    # the old denominator (distinct persons over the years) is another number here
    assert any(distinct[k] != v for k, v in by_gemeente.items())


def test_a_range_of_years_without_the_year_is_the_sum_of_its_years(open_engine, release):
    years = Cut("period", "year", from_="2022", to="2023")
    query = Query("drug_suspects", RATE, ("residence@provincie",), (years,), "margins")
    cells = _by_cell(open_engine.answer(query))
    expected = _sql(
        release, "SELECT 1, count(*) FROM fact_population WHERE year BETWEEN 2022 AND 2023"
    )
    assert cells[(None,)][1] == expected[(1,)]


def test_every_total_is_the_sum_of_the_published_years(engine):
    """With disclosure control on: the sum of the protected yearly cells, never a population
    of its own (which would get noise of its own and add an equation on the years)."""
    query = Query("drug_suspects", RATE, ("residence@gemeente", "period@year"), (), "margins")
    answer = engine.answer(query)
    years: dict[object, list] = {}
    totals = {}
    for r in answer.rows:
        inhabitants = r.values[1]
        if r.members[1] is None:
            totals[r.members[0]] = inhabitants
        else:
            years.setdefault(r.members[0], []).append(inhabitants)
    for where, total in totals.items():
        parts = years[where]
        if any(p.status == "suppressed" for p in parts):
            assert total.status == "suppressed" and total.value is None
        else:
            assert total.value == sum(p.value for p in parts)


def test_only_stock_parts_spanning_several_years_are_summed(engine):
    def plan_of(query):
        return make_plan(query, engine.catalog, engine.axes_for, engine.store, engine.max_cells)

    over = plan_of(
        Query("drug_suspects", RATE, ("residence@gemeente", "period@year"), (), "margins")
    )
    one = plan_of(
        Query("drug_suspects", RATE, ("residence@gemeente",), (Cut("period", "year", ("2023",)),))
    )
    stock = [p for p in over.parts if p.cube.id == "population"]
    assert [is_over_years(over, p) for p in over.parts] == [p in stock for p in over.parts]
    assert not any(is_over_years(one, p) for p in one.parts)
    # the yearly cells: every gemeente × year, the total over years expanded into its years
    grid = cell_grid(list(over.items), over.grouping_sets, engine.axes_for(over.cube), over.masks)
    ys = yearly(over, stock[0], grid, engine.axes_for(over.cube))
    assert (ys.grid[:, 1] >= 0).all()
    n_years = len(np.unique(engine.axes_for(over.cube)["period"].levels["year"].base_index))
    rows_per_cell = np.bincount(ys.cell_of, minlength=ys.n_cells)
    assert set(rows_per_cell.tolist()) == {1, n_years} and n_years > 1
    spanning = int((rows_per_cell == n_years).sum())
    assert spanning == 4  # each gemeente and the country, over all years
    assert len(np.unique(ys.grid, axis=0)) == len(ys.grid) == 12  # the yearly cells, once


def test_summing_hides_a_total_with_a_hidden_year():
    class _Ys:
        cell_of = np.array([0, 0, 0, 1, 1, 2])
        row_of = np.arange(6)
        n_cells = 3
        inverse = np.array([2, 1, 0, 0])

    pm = ProtectedMeasure(
        np.array([10.0, 12.0, 14.0, 20.0, np.nan, 7.0]),
        np.array([SAFE, PERTURBED, SAFE, SAFE, SUPPRESSED, SAFE], dtype=np.int8),
        np.array([0, 0, 0, 0, THRESHOLD, 0], dtype=np.int8),
    )
    out = summed(_Ys(), pm)  # type: ignore[arg-type]
    assert out.published[3] == 36.0 and out.status[3] == PERTURBED
    assert math.isnan(out.published[1]) and out.status[1] == SUPPRESSED
    assert out.reason[1] == DERIVED
    assert out.published[0] == 7.0 and out.status[0] == SAFE  # one year: that year itself
