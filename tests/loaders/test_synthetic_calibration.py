"""Counts per year match the published magnitudes x scale (docs/synthetic-data.md)."""

from __future__ import annotations

import pytest

from dimensions import regions
from loaders.synthetic import params, population
from tests.loaders.synthetic_fixtures import SCALE, connect, generated, scalar


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    c = connect(generated(tmp_path_factory)[0])
    yield c
    c.close()


def _per_year(con, sql: str) -> dict[int, float]:
    return dict(con.execute(sql).fetchall())


def test_population_total_per_year(con):
    found = _per_year(con, "SELECT year, count(*) FROM population GROUP BY 1")
    for year in params.YEARS:
        target = population.target_total(year, SCALE)
        assert abs(found[year] - target) <= 0.001 * target, year
    assert found[2024] == pytest.approx(17_942_942 * SCALE, rel=0.001)


def test_gemeente_populations_follow_the_real_2024_figures(con):
    found = dict(
        con.execute(
            "SELECT substr(buurt_code, 3, 4), count(*) FROM population WHERE year = 2024 GROUP BY 1"
        ).fetchall()
    )
    total = sum(found.values())
    national = sum(g.population_2024 for g in regions.gemeenten())
    for g in regions.gemeenten():
        expected = g.population_2024 / national * total
        if expected >= 500:  # small gemeenten are a handful of persons at this scale
            assert found[g.code[2:]] == pytest.approx(expected, rel=0.08), g.name


def test_households_and_dwellings(con):
    persons = scalar(con, "SELECT count(*) FROM population WHERE year = 2024")
    households = scalar(
        con, "SELECT count(DISTINCT household_id) FROM population WHERE year = 2024"
    )
    assert 1.9 <= persons / households <= 2.4
    dwellings = scalar(con, "SELECT count(*) FROM dwellings WHERE year = 2024")
    assert dwellings == pytest.approx(params.DWELLINGS_2024 * SCALE, rel=0.01)
    tenure = dict(
        con.execute(
            "SELECT tenure, count(*) / sum(count(*)) OVER () FROM population "
            "WHERE year = 2024 GROUP BY 1"
        ).fetchall()
    )
    assert 0.45 <= tenure["owner"] <= 0.65 and 0.2 <= tenure["social_rent"] <= 0.38


def test_establishments(con):
    found = _per_year(con, "SELECT year, count(*) FROM companies GROUP BY 1")
    assert found[2015] == pytest.approx(params.ESTABLISHMENTS_2015 * SCALE, rel=0.08)
    assert found[2024] == pytest.approx(params.ESTABLISHMENTS_2024 * SCALE, rel=0.08)


def test_plantations_per_year_and_unit(con):
    by_unit = params.plantations_by_unit()
    found = _per_year(con, "SELECT year(cleared_date), count(*) FROM plantations GROUP BY 1")
    for year in params.YEARS:
        assert found[year] == round(sum(u[year] for u in by_unit.values()) * SCALE), year
    assert found[2016] == round(5_530 * SCALE) and found[2020] == round(2_892 * SCALE)


def test_suspects_per_year_and_family_share(con):
    found = _per_year(
        con, "SELECT year(registration_date), count(DISTINCT person_id) FROM suspects GROUP BY 1"
    )
    for year, target in params.SUSPECTS_PER_YEAR.items():
        assert found[year] == pytest.approx(target * SCALE, rel=0.03), year
    share = scalar(con, "SELECT avg(family_member_suspect::INT) FROM suspects")
    assert share == pytest.approx(0.36, abs=0.04)


def test_fiu_counts_and_amounts(con):
    rows = con.execute(
        "SELECT year(transaction_date), count(*), sum(amount_eur) FROM transactions GROUP BY 1"
    ).fetchall()
    assert len(rows) == len(params.YEARS)
    for year, count, amount in rows:
        target_count, target_amount = params.FIU_PER_YEAR[year]
        assert count == round(target_count * SCALE)
        assert amount == pytest.approx(target_amount * SCALE, rel=0.001)


def test_unexplained_purchases(con):
    found = _per_year(con, "SELECT year, sum(unexplained_purchase::INT) FROM dwellings GROUP BY 1")
    for year in params.YEARS:
        assert found[year] == round(params.UNEXPLAINED_PURCHASES_PER_YEAR * SCALE)
