"""The built-in signal is there: each test fails if its mechanism is removed from the generator."""

from __future__ import annotations

import numpy as np
import pytest

from dimensions import regions
from tests.loaders.synthetic_fixtures import SEED, connect, generated, scalar

HOTSPOTS = ("0917", "0794", "0995", "1669")  # Heerlen, Helmond, Lelystad, Roerdalen


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    c = connect(generated(tmp_path_factory)[0])
    yield c
    c.close()


def _hot_share(con, geo_flags, sql: str) -> tuple[float, float]:
    """(share of the events, share of the base) that falls in wijken marked hot."""
    geo = _geography()
    hot_wijken = {geo.w_code[w][2:] for w in np.unique(geo.b_wijk[geo_flags(geo) > 1])}
    rows = con.execute(sql).fetchall()  # wijk digits, events, base
    events = sum(e for _, e, _ in rows)
    base = sum(b for _, _, b in rows)
    hot_events = sum(e for w, e, _ in rows if w in hot_wijken)
    hot_base = sum(b for w, _, b in rows if w in hot_wijken)
    assert events > 0
    return hot_events / events, hot_base / base


def _geography():
    # The generator's first stream builds the geography: rebuild it to see the hot spots.
    from loaders.synthetic import _generators, geography

    return geography.build(_generators(SEED)[0])


def test_income_follows_the_real_wijk_figures(con):
    found = dict(
        con.execute(
            "SELECT 'WK' || substr(buurt_code, 3, 6), avg((income_decile <= 4)::INT) "
            "FROM population WHERE year = 2020 GROUP BY 1 HAVING count(*) >= 100"
        ).fetchall()
    )
    real = {w.code: w.pct_low40 for w in regions.wijken() if w.pct_low40 is not None}
    common = sorted(set(found) & set(real))
    assert len(common) > 100
    r = np.corrcoef([found[c] for c in common], [real[c] for c in common])[0, 1]
    assert r > 0.6


def test_social_rent_concentrates_in_low_incomes(con):
    low, high = con.execute(
        "SELECT avg((tenure = 'social_rent')::INT) FILTER (income_decile <= 3), "
        "avg((tenure = 'social_rent')::INT) FILTER (income_decile >= 8) "
        "FROM population WHERE year = 2020"
    ).fetchone()
    assert low > 3 * high


def test_plantation_residents_are_poorer_and_earlier_suspects(con):
    resident = con.execute(
        "SELECT avg((p.income_decile <= 3)::INT), avg((p.tenure = 'social_rent')::INT), "
        "avg((EXISTS (SELECT 1 FROM suspects s WHERE s.person_id = p.person_id "
        "AND s.registration_date < make_date(p.year, 1, 1)))::INT) "
        "FROM plantations x JOIN population p "
        "ON p.person_id = x.resident_person_id AND p.year = year(x.cleared_date)"
    ).fetchone()
    everyone = con.execute(
        "SELECT avg((income_decile <= 3)::INT), avg((tenure = 'social_rent')::INT), "
        "avg((person_id IN (SELECT person_id FROM suspects "
        "WHERE year(registration_date) < 2020))::INT) "
        "FROM population WHERE year = 2020 AND age >= 18"
    ).fetchone()
    assert resident[0] > 1.4 * everyone[0]
    assert resident[1] > 1.3 * everyone[1]
    assert resident[2] > 5 * everyone[2]


def test_plantations_cluster_in_hot_spots_and_fall_over_time(con):
    per_capita = dict(
        con.execute(
            "WITH x AS (SELECT substr(buurt_code, 3, 4) AS gm, count(*) AS n FROM plantations "
            "GROUP BY 1), p AS (SELECT substr(buurt_code, 3, 4) AS gm, count(*) AS n "
            "FROM population WHERE year = 2020 GROUP BY 1) "
            "SELECT gm IN ('0917', '0794', '0995', '1669'), sum(x.n) / sum(p.n) "
            "FROM p LEFT JOIN x USING (gm) GROUP BY 1"
        ).fetchall()
    )
    assert per_capita[True] > 3 * per_capita[False]
    first, last = con.execute(
        "SELECT count(*) FILTER (year(cleared_date) = 2016), "
        "count(*) FILTER (year(cleared_date) = 2024) FROM plantations"
    ).fetchone()
    assert last < first / 2


def test_suspects_young_men_in_cities(con):
    men, young = con.execute(
        "SELECT avg((sex = 'M')::INT), avg((age BETWEEN 18 AND 35)::INT) FROM suspects"
    ).fetchone()
    assert men > 0.75 and young > 0.5
    density = {g.code[2:]: g.density for g in regions.gemeenten()}
    rows = con.execute(
        "WITH s AS (SELECT substr(residence_buurt_code, 3, 4) AS gm, count(*) AS n "
        "FROM suspects GROUP BY 1), p AS (SELECT substr(buurt_code, 3, 4) AS gm, count(*) AS n "
        "FROM population WHERE year = 2020 GROUP BY 1) "
        "SELECT gm, coalesce(s.n, 0), p.n FROM p LEFT JOIN s USING (gm)"
    ).fetchall()
    city = [(s, p) for gm, s, p in rows if density[gm] > 2_000]
    rural = [(s, p) for gm, s, p in rows if density[gm] < 300]
    rate = lambda xs: sum(s for s, _ in xs) / sum(p for _, p in xs)  # noqa: E731
    assert rate(city) > 2 * rate(rural)


def test_offences_near_home(con):
    neighbours = _nearest_pairs()
    rows = con.execute(
        "SELECT substr(residence_buurt_code, 3, 4), substr(offence_buurt_code, 3, 4) FROM suspects"
    ).fetchall()
    near = sum(home == off or (home, off) in neighbours for home, off in rows)
    assert near / len(rows) >= 0.85


def _nearest_pairs() -> set[tuple[str, str]]:
    from loaders.synthetic.geography import _nearest_neighbours

    codes = [g.code for g in regions.gemeenten()]
    nb = _nearest_neighbours(codes)
    return {(codes[i][2:], codes[j][2:]) for i in range(len(codes)) for j in nb[i]}


def test_first_registration_only_on_a_persons_earliest(con):
    bad = scalar(
        con,
        "SELECT count(*) FROM (SELECT person_id, first_registration, registration_date, "
        "min(registration_date) OVER (PARTITION BY person_id) AS first_date FROM suspects) "
        "WHERE first_registration AND registration_date > first_date",
    )
    assert bad == 0
    assert 0.3 < scalar(con, "SELECT avg(first_registration::INT) FROM suspects") < 0.8


def test_family_flag_matches_the_households(con):
    mismatches = scalar(
        con,
        "WITH s AS (SELECT s.*, p.household_id FROM suspects s JOIN population p "
        "ON p.person_id = s.person_id AND p.year = year(s.registration_date)), "
        "f AS (SELECT household_id, count(DISTINCT person_id) >= 2 AS fam FROM s GROUP BY 1) "
        "SELECT count(*) FROM s JOIN f USING (household_id) WHERE s.family_member_suspect <> f.fam",
    )
    assert mismatches == 0


def test_doorsluis_and_foundation_property_concentrate_in_some_wijken(con):
    flips, base = _hot_share(
        con,
        lambda g: g.b_flip_hot,
        "WITH d AS (SELECT dwelling_id, count(*) >= 5 AS flip FROM transfers "
        "WHERE transfer_date >= DATE '2005-01-01' GROUP BY 1) "
        "SELECT substr(buurt_code, 3, 6), count(*) FILTER (flip), count(*) "
        "FROM dwellings w LEFT JOIN d USING (dwelling_id) WHERE year = 2024 GROUP BY 1",
    )
    assert flips > 5 * base
    foundations, base = _hot_share(
        con,
        lambda g: g.b_foundation_hot,
        "SELECT substr(buurt_code, 3, 6), count(*) FILTER (owner_type = 'foundation'), count(*) "
        "FROM dwellings WHERE year = 2024 GROUP BY 1",
    )
    assert foundations > 3 * base


def test_a_few_very_large_contributors(con):
    top_owner, median_legal = con.execute(
        "SELECT max(n), median(n) FROM (SELECT owner_id, count(*) AS n FROM dwellings "
        "WHERE year = 2024 AND owner_type <> 'private_person' GROUP BY 1)"
    ).fetchone()
    assert top_owner > 50 * median_legal
    landlords = scalar(
        con,
        "SELECT max(n) FROM (SELECT owner_id, count(*) AS n FROM dwellings "
        "WHERE year = 2024 AND owner_type = 'private_person' GROUP BY 1)",
    )
    assert landlords >= 5
    top_share = scalar(
        con,
        "WITH s AS (SELECT subject_id, sum(amount_eur) AS a FROM transactions GROUP BY 1) "
        "SELECT sum(a) FILTER (a >= (SELECT quantile_cont(a, 0.99) FROM s)) / sum(a) FROM s",
    )
    assert top_share > 0.15


def test_fiu_reports_rise(con):
    first, last = con.execute(
        "SELECT count(*) FILTER (year(transaction_date) = 2017), "
        "count(*) FILTER (year(transaction_date) = 2024) FROM transactions"
    ).fetchone()
    assert last > 2 * first
