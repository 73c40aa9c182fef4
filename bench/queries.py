"""The benchmark's fixed query mix: realistic dashboard and analyst queries, each with
hand-written DuckDB SQL of the same aggregate *without* disclosure control (the floor).

The floors compute what the engine must compute at least: the same cells from the same fact
table, with distinct counts where the measure counts distinct contributors and the join of
two cubes where a measure combines them. They read the same release file, so ratios compare
engine overhead (planning, disclosure statistics, protection, assembly) with plain SQL.
Member codes are resolved through the release's ``region`` table inside the SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from cube.query import Cut, Order, Query, Ranking

GM = "GM0363"  # Amsterdam: the largest gemeente, the heaviest single-gemeente queries
PV = "PV27"  # Noord-Holland: 44 gemeenten, the flow matrix stays within max_cells
YEAR = 2024  # the last complete year of every fact


@dataclass(frozen=True, slots=True)
class BenchQuery:
    """``check``: the base measures whose unprotected values the floor's cells must equal
    (``bench/cells.py``) and the SQL giving them, one row per non-empty cell with those values
    as its last columns; by default the query's own measures and the floor itself."""

    name: str
    what: str
    query: Query
    floor: str  # DuckDB SQL of the same aggregate, no disclosure control
    check: tuple[tuple[str, ...], str] | None = None

    @property
    def checked(self) -> tuple[tuple[str, ...], str]:
        return self.check or (self.query.measures, self.floor)


def _rid(level: str, code: str) -> str:
    """The integer key of a region member, as the fact tables store it."""
    return f"(SELECT id FROM region WHERE level = '{level}' AND code = '{code}')"


_NEIGHBOURS = (
    f"(SELECT id FROM region WHERE level = 'gemeente' AND (code = '{GM}' OR code IN "
    f"(SELECT neighbour FROM region_neighbour WHERE gemeente = '{GM}')))"
)

_PERIOD = Cut("period", "year", (str(YEAR),))
_AMS = Cut("region", "gemeente", (GM,))


_SUSPECTS_G = "SELECT residence_gemeente AS g, count(DISTINCT holding) AS n FROM fact_suspects"
_POPULATION_G = "SELECT region_gemeente AS g, count(*) AS d FROM fact_population"


def _pair(num: str, den: str, keys: str, where_num: str, where_den: str) -> str:
    """Numerator and denominator of every cell either has (the check: empty cells are 0)."""
    return (
        f"WITH a AS ({num} WHERE {where_num} GROUP BY ALL), "
        f"b AS ({den} WHERE {where_den} GROUP BY ALL) "
        f"SELECT {keys}, coalesce(a.n, 0), coalesce(b.d, 0) FROM a FULL JOIN b USING ({keys})"
    )


def _rate_floor(num: str, den: str, keys: str, where_num: str, where_den: str) -> str:
    """Numerator and denominator aggregated at the same grain on their own facts, joined."""
    return (
        f"WITH a AS ({num} WHERE {where_num} GROUP BY ALL), "
        f"b AS ({den} WHERE {where_den} GROUP BY ALL) "
        f"SELECT a.*, b.d, a.n / b.d * 10000 AS rate FROM a JOIN b USING ({keys})"
    )


# The README's first query (README.md, "A first query"): a rate with a population denominator
# over three years with every margin.
README_QUERY = Query(
    "drug_suspects",
    ("suspects", "suspects_per_10k_inhabitants"),
    ("residence@provincie", "period@year"),
    (Cut("period", "year", from_=str(YEAR - 3), to=str(YEAR - 1)),),
    totals="margins",
)


def _yearly_counts(sql: str, key: str, lo: int, hi: int, window: bool) -> str:
    """Per provincie and year and nationally per year (``sql`` counts with ``n``), and over
    the years: the distinct count over the window when it is pooled (a population of its
    own), else the sum of the years (docs/cube-engine.md)."""
    where = f"year BETWEEN {lo} AND {hi}"
    yearly = f"{sql} WHERE {where} GROUP BY GROUPING SETS (({key}, year), (year))"
    if not window:
        return (
            f"SELECT p, year, sum(n) AS n FROM ({yearly}) GROUP BY GROUPING SETS ((p, year), (p))"
        )
    over = sql.replace(", year,", ", NULL AS year,")
    pooled = f"{over} WHERE {where} GROUP BY GROUPING SETS (({key}), ())"
    return f"{yearly} UNION ALL {pooled}"


def _yearly_pair(lo: int, hi: int, pooled: bool, distinct_stock: bool = False) -> str:
    """Suspects and inhabitants (person-years over several years) of every cell of the
    README-style query: provincie x year with every margin. ``distinct_stock``: inhabitants
    over the years as distinct persons (what the engine did before person-years)."""
    num = _yearly_counts(
        "SELECT residence_provincie AS p, year, count(DISTINCT holding) AS n FROM fact_suspects",
        "residence_provincie",
        lo,
        hi,
        pooled,
    )
    den = _yearly_counts(
        "SELECT region_provincie AS p, year, count(DISTINCT holding) AS n FROM fact_population"
        if distinct_stock
        else "SELECT region_provincie AS p, year, count(*) AS n FROM fact_population",
        "region_provincie",
        lo,
        hi,
        distinct_stock,
    )
    return (
        f"WITH a AS ({num}), b AS ({den}) SELECT coalesce(a.p, b.p), coalesce(a.year, b.year), "
        "coalesce(a.n, 0), coalesce(b.n, 0) FROM a FULL JOIN b "
        "ON a.p IS NOT DISTINCT FROM b.p AND a.year IS NOT DISTINCT FROM b.year"
    )


def _yearly_rate_floor(lo: int, hi: int, pooled: bool) -> str:
    return f"SELECT *, n / d * 10000 AS rate FROM ({_yearly_pair(lo, hi, pooled)}) AS c(p, y, n, d)"


MIX: tuple[BenchQuery, ...] = (
    BenchQuery(
        "map",
        "drug suspects per 10,000 inhabitants by woongemeente, one year (the map)",
        Query(
            "drug_suspects",
            ("suspects_per_10k_inhabitants",),
            ("residence@gemeente",),
            (_PERIOD,),
        ),
        _rate_floor(
            "SELECT residence_gemeente AS g, count(DISTINCT holding) AS n FROM fact_suspects",
            "SELECT region_gemeente AS g, count(*) AS d FROM fact_population",
            "g",
            f"year = {YEAR}",
            f"year = {YEAR}",
        ),
        (
            ("suspects", "population.inhabitants"),
            _pair(_SUSPECTS_G, _POPULATION_G, "g", f"year = {YEAR}", f"year = {YEAR}"),
        ),
    ),
    BenchQuery(
        "time_series",
        "drug suspects and registrations by year for one gemeente",
        Query(
            "drug_suspects",
            ("suspects", "registrations"),
            ("period@year",),
            (Cut("residence", "gemeente", (GM,)),),
        ),
        "SELECT year, count(DISTINCT holding), count(*) FROM fact_suspects "
        f"WHERE residence_gemeente = {_rid('gemeente', GM)} GROUP BY year",
    ),
    BenchQuery(
        "neighbours",
        "suspects per 10,000 inhabitants of a gemeente and its neighbours, one year",
        Query(
            "drug_suspects",
            ("suspects_per_10k_inhabitants",),
            ("residence@gemeente",),
            (
                Cut("residence", "gemeente", relation="neighbours", of=GM, include_self=True),
                _PERIOD,
            ),
        ),
        _rate_floor(
            "SELECT residence_gemeente AS g, count(DISTINCT holding) AS n FROM fact_suspects",
            "SELECT region_gemeente AS g, count(*) AS d FROM fact_population",
            "g",
            f"year = {YEAR} AND residence_gemeente IN {_NEIGHBOURS}",
            f"year = {YEAR} AND region_gemeente IN {_NEIGHBOURS}",
        ),
        (
            ("suspects", "population.inhabitants"),
            _pair(
                _SUSPECTS_G,
                _POPULATION_G,
                "g",
                f"year = {YEAR} AND residence_gemeente IN {_NEIGHBOURS}",
                f"year = {YEAR} AND region_gemeente IN {_NEIGHBOURS}",
            ),
        ),
    ),
    BenchQuery(
        "wijk_ranking",
        "doorsluis dwellings per 1,000 dwellings by wijk within Amsterdam, ranked",
        Query(
            "dwellings",
            ("doorsluis_per_1000_dwellings", "doorsluis_dwellings", "dwellings"),
            ("region@wijk",),
            (_AMS, _PERIOD),
            order=(Order("doorsluis_per_1000_dwellings", desc=True),),
        ),
        "SELECT region_wijk, count(*) FILTER (WHERE doorsluis) AS d, count(*) AS n, "
        "1000.0 * count(*) FILTER (WHERE doorsluis) / count(*) AS r FROM fact_dwellings "
        f"WHERE region_gemeente = {_rid('gemeente', GM)} AND year = {YEAR} "
        "GROUP BY region_wijk ORDER BY r DESC",
        (
            ("doorsluis_dwellings", "dwellings"),
            "SELECT region_wijk, count(*) FILTER (WHERE doorsluis), count(*) FROM fact_dwellings "
            f"WHERE region_gemeente = {_rid('gemeente', GM)} AND year = {YEAR} GROUP BY ALL",
        ),
    ),
    BenchQuery(
        "buurt_age_year",
        "inhabitants by buurt x 5-year age band x year within Amsterdam (3 years)",
        Query(
            "population",
            ("inhabitants",),
            ("region@buurt", "age@band5", "period@year"),
            (_AMS, Cut("period", "year", from_=str(YEAR - 2), to=str(YEAR))),
        ),
        "SELECT region_buurt, least(age // 5, 19) AS band, year, count(*) FROM fact_population "
        f"WHERE region_gemeente = {_rid('gemeente', GM)} AND year BETWEEN {YEAR - 2} AND {YEAR} "
        "GROUP BY ALL",
    ),
    BenchQuery(
        "flow_matrix",
        "woon- x pleeggemeente matrix of drug suspects within Noord-Holland, one year",
        Query(
            "drug_suspects",
            ("suspects",),
            ("residence@gemeente", "offence@gemeente"),
            (
                Cut("residence", "provincie", (PV,)),
                Cut("offence", "provincie", (PV,)),
                _PERIOD,
            ),
        ),
        "SELECT residence_gemeente, offence_gemeente, count(DISTINCT holding) FROM fact_suspects "
        f"WHERE residence_provincie = {_rid('provincie', PV)} "
        f"AND offence_provincie = {_rid('provincie', PV)} AND year = {YEAR} GROUP BY ALL",
    ),
    BenchQuery(
        "two_cubes",
        "cleared plantations per 1,000 dwellings by gemeente, one year (plantations + dwellings)",
        Query(
            "plantations",
            ("plantations_per_1000_dwellings",),
            ("region@gemeente",),
            (_PERIOD,),
        ),
        _rate_floor(
            "SELECT region_gemeente AS g, count(*) AS n FROM fact_plantations",
            "SELECT region_gemeente AS g, count(*) AS d FROM fact_dwellings",
            "g",
            f"year = {YEAR}",
            f"year = {YEAR}",
        ),
        (
            ("plantations", "dwellings.dwellings"),
            _pair(
                "SELECT region_gemeente AS g, count(*) AS n FROM fact_plantations",
                "SELECT region_gemeente AS g, count(*) AS d FROM fact_dwellings",
                "g",
                f"year = {YEAR}",
                f"year = {YEAR}",
            ),
        ),
    ),
    BenchQuery(
        "over_representation",
        "over-representation of resident characteristics of plantations by provincie",
        Query(
            "plantations",
            ("index_low_income", "index_social_rent", "index_young_men"),
            ("region@provincie",),
            (_PERIOD,),
        ),
        "WITH a AS (SELECT region_provincie AS p, count(*) FILTER (WHERE has_resident) AS n, "
        "count(*) FILTER (WHERE resident_income_decile <= 4) AS li, "
        "count(*) FILTER (WHERE resident_tenure = 'social_rent') AS sr, "
        "count(*) FILTER (WHERE resident_sex = 'M' AND resident_age BETWEEN 18 AND 34) AS ym "
        f"FROM fact_plantations WHERE year = {YEAR} GROUP BY ALL), "
        "b AS (SELECT region_provincie AS p, count(*) AS n, "
        "count(*) FILTER (WHERE income_decile <= 4) AS li, "
        "count(*) FILTER (WHERE tenure = 'social_rent') AS sr, "
        "count(*) FILTER (WHERE sex = 'M' AND age BETWEEN 18 AND 34) AS ym "
        f"FROM fact_population WHERE year = {YEAR} GROUP BY ALL) "
        "SELECT p, 100 * (a.li / a.n) / (b.li / b.n), 100 * (a.sr / a.n) / (b.sr / b.n), "
        "100 * (a.ym / a.n) / (b.ym / b.n) FROM a JOIN b USING (p)",
        (
            ("plantations_with_resident", "residents_low_income", "population.inhabitants"),
            "WITH a AS (SELECT region_provincie AS p, count(*) FILTER (WHERE has_resident) AS n, "
            "count(*) FILTER (WHERE resident_income_decile <= 4) AS li FROM fact_plantations "
            f"WHERE year = {YEAR} GROUP BY ALL), b AS (SELECT region_provincie AS p, count(*) AS d "
            f"FROM fact_population WHERE year = {YEAR} GROUP BY ALL) "
            "SELECT p, coalesce(n, 0), coalesce(li, 0), coalesce(d, 0) "
            "FROM a FULL JOIN b USING (p)",
        ),
    ),
    BenchQuery(
        "composite_ranking",
        "kansrijke zoekgebieden: wijken of Amsterdam ranked on three real-estate indicators",
        Query(
            "dwellings",
            (
                "doorsluis_per_1000_dwellings",
                "unexplained_purchase_per_1000_dwellings",
                "share_foundation_dwellings",
            ),
            ("region@wijk",),
            (_AMS, _PERIOD),
            ranking=Ranking(
                (
                    "doorsluis_per_1000_dwellings",
                    "unexplained_purchase_per_1000_dwellings",
                    "share_foundation_dwellings",
                ),
                "rank",
            ),
            order=(Order("composite"),),
        ),
        "WITH c AS (SELECT region_wijk, count(*) AS n, "
        "1000.0 * count(*) FILTER (WHERE doorsluis) / count(*) AS a, "
        "1000.0 * count(*) FILTER (WHERE unexplained_purchase) / count(*) AS b, "
        "100.0 * count(*) FILTER (WHERE owner_type = 'foundation') / count(*) AS f "
        f"FROM fact_dwellings WHERE region_gemeente = {_rid('gemeente', GM)} AND year = {YEAR} "
        "GROUP BY ALL) SELECT region_wijk, (rank() OVER (ORDER BY a DESC) + rank() OVER "
        "(ORDER BY b DESC) + rank() OVER (ORDER BY f DESC)) / 3.0 AS composite FROM c "
        "ORDER BY composite",
        (
            ("doorsluis_dwellings", "unexplained_purchase_dwellings", "dwellings"),
            "SELECT region_wijk, count(*) FILTER (WHERE doorsluis), "
            "count(*) FILTER (WHERE unexplained_purchase), count(*) FROM fact_dwellings "
            f"WHERE region_gemeente = {_rid('gemeente', GM)} AND year = {YEAR} GROUP BY ALL",
        ),
    ),
    BenchQuery(
        "magnitude_sector_region",
        "employees (dominance and p% rules) by SBI section x provincie, one year",
        Query(
            "companies",
            ("employees", "establishments"),
            ("sector@section", "region@provincie"),
            (_PERIOD,),
        ),
        "SELECT sbi_section, region_provincie, sum(employees), count(*) "
        "FROM fact_companies "
        f"WHERE year = {YEAR} GROUP BY ALL",
    ),
    BenchQuery(
        "margins_suspects",
        "drug suspects by provincie x broad age group x year, with every margin",
        Query(
            "drug_suspects",
            ("suspects",),
            ("residence@provincie", "age@broad", "period@year"),
            (),
            totals="margins",
        ),
        "SELECT residence_provincie, CASE WHEN age < 15 THEN 0 WHEN age < 25 THEN 1 "
        "WHEN age < 45 THEN 2 WHEN age < 65 THEN 3 ELSE 4 END AS broad, year, "
        "count(DISTINCT holding) FROM fact_suspects GROUP BY CUBE (1, 2, 3)",
    ),
    BenchQuery(
        "margins_transactions",
        "suspicious transactions (count, amount) by type x gemeente in Noord-Holland, margins",
        Query(
            "transactions",
            ("transactions", "amount"),
            ("transaction_type", "region@gemeente"),
            (Cut("region", "provincie", (PV,)), _PERIOD),
            totals="margins",
        ),
        "SELECT transaction_type, region_gemeente, count(*), sum(amount_eur) "
        f"FROM fact_transactions WHERE region_provincie = {_rid('provincie', PV)} "
        f"AND year = {YEAR} GROUP BY CUBE (1, 2)",
    ),
    BenchQuery(
        "monthly_national",
        "cleared plantations and plants by month, nationally, over all years",
        Query("plantations", ("plantations", "plants"), ("period@month",)),
        "SELECT year, month, count(*), sum(plants) FROM fact_plantations GROUP BY ALL",
    ),
    BenchQuery(
        "readme_rate",
        "the README's first query: suspects per 10,000 inhabitants by provincie x year, "
        "3 years, margins",
        README_QUERY,
        _yearly_rate_floor(YEAR - 3, YEAR - 1, pooled=False),
        (("suspects", "population.inhabitants"), _yearly_pair(YEAR - 3, YEAR - 1, pooled=False)),
    ),
    BenchQuery(
        "readme_rate_pooled",
        "the same over the last 3 years of the release (a pooled window), margins",
        Query(
            "drug_suspects",
            ("suspects", "suspects_per_10k_inhabitants"),
            ("residence@provincie", "period@year"),
            (Cut("period", "year", from_=str(YEAR - 2), to=str(YEAR)),),
            totals="margins",
        ),
        _yearly_rate_floor(YEAR - 2, YEAR, pooled=True),
        (("suspects", "population.inhabitants"), _yearly_pair(YEAR - 2, YEAR, pooled=True)),
    ),
    BenchQuery(
        "margins_wijk_band",
        "inhabitants by wijk x 5-year age band in Noord-Holland, one year, every margin",
        Query(
            "population",
            ("inhabitants",),
            ("region@wijk", "age@band5"),
            (Cut("region", "provincie", (PV,)), _PERIOD),
            totals="margins",
        ),
        "SELECT region_wijk, least(age // 5, 19), count(*) FROM fact_population "
        f"WHERE region_provincie = {_rid('provincie', PV)} AND year = {YEAR} GROUP BY CUBE (1, 2)",
    ),
    BenchQuery(
        "margins_companies",
        "establishments and employees by gemeente x SBI section in Noord-Holland, margins",
        Query(
            "companies",
            ("establishments", "employees"),
            ("region@gemeente", "sector@section"),
            (Cut("region", "provincie", (PV,)), _PERIOD),
            totals="margins",
        ),
        "SELECT region_gemeente, sbi_section, count(*), sum(employees) FROM fact_companies "
        f"WHERE region_provincie = {_rid('provincie', PV)} AND year = {YEAR} GROUP BY CUBE (1, 2)",
    ),
    BenchQuery(
        "buurten_of_gemeente",
        "drug suspects by buurt: a cut of every buurt of Amsterdam (a member list), one year",
        Query(
            "drug_suspects",
            ("suspects",),
            ("residence@buurt",),
            (Cut("residence", "buurt", relation="descendants", of=GM), _PERIOD),
        ),
        "SELECT residence_buurt, count(DISTINCT holding) FROM fact_suspects "
        f"WHERE residence_gemeente = {_rid('gemeente', GM)} AND year = {YEAR} GROUP BY ALL",
    ),
    BenchQuery(
        "gemeenten_outside_province",
        "inhabitants of every gemeente outside Noord-Holland (an exclusion), one year",
        Query(
            "population",
            ("inhabitants",),
            ("region@gemeente",),
            (Cut("region", "provincie", (PV,), exclude=True), _PERIOD),
        ),
        "SELECT region_gemeente, count(*) FROM fact_population "
        f"WHERE region_provincie <> {_rid('provincie', PV)} AND year = {YEAR} GROUP BY ALL",
    ),
    BenchQuery(
        "buurt_national",
        "inhabitants of every buurt of the country, one year",
        Query("population", ("inhabitants",), ("region@buurt",), (_PERIOD,)),
        f"SELECT region_buurt, count(*) FROM fact_population WHERE year = {YEAR} GROUP BY ALL",
    ),
    BenchQuery(
        "age_sex_gemeente",
        "inhabitants of Amsterdam by single year of age x sex, one year",
        Query("population", ("inhabitants",), ("age@single", "sex"), (_AMS, _PERIOD)),
        "SELECT least(age, 105), sex, count(*) FROM fact_population "
        f"WHERE region_gemeente = {_rid('gemeente', GM)} AND year = {YEAR} GROUP BY ALL",
    ),
    BenchQuery(
        "transactions_quarterly",
        "suspicious transactions (count, amount) by quarter in Noord-Holland, all years",
        Query(
            "transactions",
            ("transactions", "amount"),
            ("period@quarter",),
            (Cut("region", "provincie", (PV,)),),
        ),
        "SELECT year, quarter, count(*), sum(amount_eur) FROM fact_transactions "
        f"WHERE region_provincie = {_rid('provincie', PV)} GROUP BY ALL",
    ),
    BenchQuery(
        "dwellings_gemeente",
        "dwellings and doorsluis dwellings by gemeente, one year",
        Query("dwellings", ("dwellings", "doorsluis_dwellings"), ("region@gemeente",), (_PERIOD,)),
        "SELECT region_gemeente, count(*), count(*) FILTER (WHERE doorsluis) FROM fact_dwellings "
        f"WHERE year = {YEAR} GROUP BY ALL",
    ),
    BenchQuery(
        "suspects_drug_type",
        "drug suspects by drug type x provincie, one year",
        Query("drug_suspects", ("suspects",), ("drug_type", "residence@provincie"), (_PERIOD,)),
        "SELECT drug_type, residence_provincie, count(DISTINCT holding) FROM fact_suspects "
        f"WHERE year = {YEAR} GROUP BY ALL",
    ),
    BenchQuery(
        "registrations_monthly",
        "registrations of drug suspects living in Amsterdam by month, all years",
        Query(
            "drug_suspects",
            ("registrations",),
            ("period@month",),
            (Cut("residence", "gemeente", (GM,)),),
        ),
        "SELECT year, month, count(*) FROM fact_suspects "
        f"WHERE residence_gemeente = {_rid('gemeente', GM)} GROUP BY ALL",
    ),
    BenchQuery(
        "margins_sex_band",
        "drug suspects by sex x 5-year age band, national, one year, every margin",
        Query("drug_suspects", ("suspects",), ("sex", "age@band5"), (_PERIOD,), totals="margins"),
        "SELECT sex, least(age // 5, 19), count(DISTINCT holding) FROM fact_suspects "
        f"WHERE year = {YEAR} GROUP BY CUBE (1, 2)",
    ),
)


# Another member of each kind the mix cuts on: a query with these instead is the same shape
# with new members (another gemeente, provincie, year or year range).
OTHER = {GM: "GM0599", PV: "PV28", str(YEAR): str(YEAR - 1)}


def sibling(q: Query) -> Query:
    """``q`` with other members in its cuts (ranges one year earlier); ``q`` itself when
    it has no member to change (its shape is then only ever asked with these members)."""

    def other(cut: Cut) -> Cut:
        return replace(
            cut,
            members=tuple(OTHER.get(m, m) for m in cut.members),
            from_=None if cut.from_ is None else str(int(cut.from_) - 1),
            to=None if cut.to is None else str(int(cut.to) - 1),
            of=OTHER.get(cut.of, cut.of) if cut.of else cut.of,
        )

    return replace(q, cuts=tuple(other(c) for c in q.cuts))
