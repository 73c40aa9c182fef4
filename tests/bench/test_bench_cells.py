"""The floors' check (bench/cells.py) finds a floor that computes other cells than the engine,
and the bench's "cold" asks the same shape with other members."""

from __future__ import annotations

import duckdb
import pytest

from bench.cells import check, unprotected_engine
from bench.queries import GM, MIX, OTHER, PV, BenchQuery, _yearly_pair, sibling
from cube.query import Cut, Query


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    from tests.cube.cube_fixtures import build_release

    release = build_release(tmp_path_factory.mktemp("cells"))
    engine = unprotected_engine(release)
    con = duckdb.connect(str(release.db_path), read_only=True)
    yield engine, con
    con.close()
    engine.close()


YEAR = Cut("period", "year", ("2023",))
BANDS = Query("population", ("inhabitants",), ("region@wijk", "age@band5"), (YEAR,), "margins")
BANDS_SQL = (
    "SELECT region_wijk, least(age // {width}, {top}), count(*) FROM fact_population "
    "WHERE year = 2023 GROUP BY CUBE (1, 2)"
)


def test_a_floor_of_the_same_cells_passes(checked):
    result = check(*checked, BenchQuery("bands", "", BANDS, BANDS_SQL.format(width=5, top=19)))
    assert result["equal"] and result["cells"] > 20


@pytest.mark.parametrize(
    "wrong",
    [
        BANDS_SQL.format(width=10, top=19),  # ten-year bands
        BANDS_SQL.format(width=5, top=19).replace("year = 2023", "year >= 2022"),  # a filter lost
        BANDS_SQL.format(width=5, top=19).replace("count(*)", "count(DISTINCT household_id)"),
    ],
)
def test_a_floor_of_other_cells_fails(checked, wrong):
    assert not check(*checked, BenchQuery("bands", "", BANDS, wrong))["equal"]


def test_person_years_over_a_range_match_the_engine(checked):
    """The README-style rate over years: suspects summed over the years, inhabitants as
    person-years; distinct persons over the years would be other cells."""
    query = Query(
        "drug_suspects",
        ("suspects", "population.inhabitants"),
        ("residence@provincie", "period@year"),
        (Cut("period", "year", from_="2022", to="2023"),),
        totals="margins",
    )
    right = _yearly_pair(2022, 2023, pooled=False)
    assert check(*checked, BenchQuery("rate", "", query, right))["equal"]
    distinct = _yearly_pair(2022, 2023, pooled=False, distinct_stock=True)
    assert not check(*checked, BenchQuery("rate", "", query, distinct))["equal"]


def test_the_mix_has_the_readme_query_and_25_queries():
    assert len(MIX) >= 25
    assert any(b.name == "readme_rate" for b in MIX)


def test_cold_asks_other_members_of_the_same_shape():
    changed = [b for b in MIX if sibling(b.query) != b.query]
    assert len(changed) >= 20
    for b in changed:
        other = sibling(b.query)
        assert [c.role for c in other.cuts] == [c.role for c in b.query.cuts]
        assert other.drilldown == b.query.drilldown and other.measures == b.query.measures
    q = Query("x", ("m",), (), (Cut("region", "gemeente", (GM,)), Cut("r", "provincie", (PV,))))
    assert [c.members[0] for c in sibling(q).cuts] == [OTHER[GM], OTHER[PV]]
