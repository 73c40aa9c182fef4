"""Cross-backend conformance (STYLE 9, ibis ``backends/tests/``): every backend gives the same
protected answer as the embedded DuckDB engine — same cells, statuses, reasons and perturbed
values, bit for bit. Cell-key perturbation makes this possible (the noise depends only on the
set of contributors), so any difference is a bug in a backend, never tolerance.

The ``duckdb`` run goes through the plain ``rows()`` interface (see conftest); ``spark`` runs
the translated SQL on a local Spark session over the release's Parquet export.
"""

from __future__ import annotations

from collections import Counter

import pytest

from bench.compare import comparable  # everything an answer publishes, floats by their bits
from bench.random_mix import Draw
from cube.errors import InvalidQuery, TooManyCells
from cube.query import Cut, Derived, Order, Query, Ranking
from tests.conformance.conftest import open_engine

# Spark's in-process client (py4j) opens a connection per thread that calls it and can leave
# one for the garbage collector to close, in whichever later test it runs: not this project's.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning"
)

Y22 = Cut("period", "year", ("2022",))
Y23 = Cut("period", "year", ("2023",))
YEARS = Cut("period", "year", from_="2022", to="2023")

QUERIES: dict[str, Query] = {
    # drill-down, margins and grand totals
    "population-gemeente-year-margins": Query(
        "population",
        ("inhabitants", "inhabitants_low_income"),
        ("region@gemeente", "period@year"),
        totals="margins",
    ),
    "population-hierarchy-age-margins": Query(
        "population",
        ("inhabitants",),
        ("region@provincie", "region@gemeente", "age@broad"),
        cuts=(Y23,),
        totals="margins",
    ),
    "population-band5-sex-grand": Query(
        "population",
        ("inhabitants", "inhabitants_young_men"),
        ("age@band5", "sex"),
        (Y23,),
        totals="grand",
    ),
    "population-wijk-shares": Query(
        "population", ("share_low_income", "share_social_rent"), ("region@wijk",), (Y22,)
    ),
    # every cut kind
    "population-neighbours": Query(
        "population",
        ("inhabitants",),
        ("region@buurt",),
        cuts=(
            Cut("region", "gemeente", (), relation="neighbours", of="GM0363", include_self=True),
            Y22,
        ),
    ),
    "population-peers": Query(
        "population",
        ("inhabitants", "inhabitants_social_rent"),
        ("region@gemeente",),
        cuts=(Cut("region", "gemeente", (), relation="peers", of="GM0363"), Y23),
    ),
    "suspects-descendants": Query(
        "drug_suspects",
        ("suspects",),
        ("residence@wijk",),
        cuts=(Cut("residence", "wijk", (), relation="descendants", of="GM0014"),),
    ),
    "suspects-quarter-range": Query(
        "drug_suspects", ("suspects",), ("period@quarter", "sex"), (YEARS,), totals="grand"
    ),
    "suspects-members-exclusion": Query(
        "drug_suspects",
        ("suspects", "registrations"),
        ("residence@gemeente", "drug_type"),
        cuts=(
            Cut("offence", "gemeente", ("GM0363",), exclude=True),
            Cut("drug_type", "drug_type", ("cannabis", "cocaine")),
        ),
        totals="margins",
    ),
    "suspects-two-roles-margins": Query(
        "drug_suspects",
        ("suspects", "registrations", "suspects_with_family"),
        ("residence@gemeente", "offence@gemeente"),
        totals="margins",
    ),
    # combinations across cubes and derived measures
    "suspects-rate-share": Query(
        "drug_suspects",
        ("suspects_per_10k_inhabitants", "share_with_family", "suspects"),
        ("residence@gemeente", "period@year"),
        cuts=(YEARS,),
        totals="margins",
    ),
    "suspects-change": Query(
        "drug_suspects", ("change_suspects", "suspects"), ("residence@gemeente", "period@year")
    ),
    "transactions-rate-month": Query(
        "transactions",
        ("transactions_per_10k_inhabitants", "transactions"),
        ("region@gemeente", "period@year"),
        totals="margins",
    ),
    "transactions-months": Query(
        "transactions", ("transactions", "subjects"), ("period@month",), (Y23,), totals="grand"
    ),
    "plantations-index-rate": Query(
        "plantations",
        ("index_low_income", "index_social_rent", "plantations_per_1000_dwellings"),
        ("region@gemeente",),
        cuts=(Y23,),
        totals="grand",
    ),
    "plantations-change": Query(
        "plantations",
        ("change_plantations", "plantations_per_100k_inhabitants"),
        ("region@gemeente", "period@year"),
    ),
    "companies-rate-share": Query(
        "companies",
        ("establishments_per_1000_inhabitants", "share_convicted_director"),
        ("region@gemeente",),
        cuts=(Y22,),
        totals="grand",
    ),
    # magnitudes: dominance and p % on holdings, means
    "transactions-amount-margins": Query(
        "transactions",
        ("amount", "transactions", "cash_amount"),
        ("region@gemeente", "reporting_sector"),
        totals="margins",
    ),
    "transactions-mean-type": Query(
        "transactions", ("amount_mean", "amount"), ("transaction_type", "cash"), totals="grand"
    ),
    "dwellings-woz-wijk": Query(
        "dwellings",
        ("woz_total", "dwellings", "doorsluis_dwellings"),
        ("region@wijk",),
        (Y22,),
        totals="grand",
    ),
    "dwellings-owner-type-margins": Query(
        "dwellings",
        ("woz_mean", "owners", "share_foundation_dwellings", "doorsluis_per_1000_dwellings"),
        ("owner_type", "period@year"),
        totals="margins",
    ),
    "plantations-plants-income": Query(
        "plantations",
        ("plants", "plantations", "plants_mean"),
        ("resident_income@quintile", "period@year"),
    ),
    "companies-sector-exclusion": Query(
        "companies",
        ("employees", "establishments", "companies"),
        ("sector@section", "region@gemeente"),
        cuts=(Y23, Cut("region", "gemeente", ("GM0362",), exclude=True)),
        totals="margins",
    ),
    # ad-hoc derived, composite ranking, order, paging, rounding
    "dwellings-derived-ranking": Query(
        "dwellings",
        ("dwellings", "woz_mean", "doorsluis_dwellings"),
        ("region@buurt",),
        (Y23,),
        order=(Order("dwellings", desc=True),),
        limit=4,
        derived=(Derived("doorsluis_per_dwelling", "doorsluis_dwellings", "dwellings", 1.0),),
        ranking=Ranking(("dwellings", "woz_mean"), "zscore"),
    ),
    "population-rounded": Query(
        "population",
        ("inhabitants",),
        ("region@wijk", "tenure"),
        (Y23,),
        totals="margins",
        options=(("rounding", "5"),),
    ),
}


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_same_protected_answer(reference, backend_engine, name):
    want = comparable(reference.answer(QUERIES[name]))
    got = comparable(backend_engine.answer(QUERIES[name]))
    assert got[0] == want[0]
    for got_row, want_row in zip(got[1], want[1], strict=True):
        assert got_row == want_row
    assert got[2] == want[2]


def test_wide_random_draws_are_answered_alike(reference, backend_engine, backend_options):
    """Queries the mix does not hold, drawn over every form of the contract (the random
    bench's ``--wide`` draws): the same answer on every backend, or the same refusal."""
    draw = Draw(reference, 23, wide=True)
    answered = 0
    for _ in range(12 if backend_options[0].startswith("spark") else 40):
        query = draw.query()
        outcomes = []
        for engine in (reference, backend_engine):
            try:
                outcomes.append(comparable(engine.answer(query)))
            except (InvalidQuery, TooManyCells) as exc:
                outcomes.append(exc.error_type)
        assert outcomes[1] == outcomes[0], query
        answered += not isinstance(outcomes[0], str)
    assert answered >= 6


def test_query_mix_exercises_every_rule(reference):
    """The mix is only a proof if it reaches every status and reason on the reference."""
    seen: Counter[tuple[str, str | None]] = Counter()
    for query in QUERIES.values():
        for row in reference.answer(query).rows:
            seen.update((v.status, v.reason) for v in row.values)
    wanted = {("safe", None), ("perturbed", None)} | {
        ("suppressed", r) for r in ("threshold", "dominance", "secondary", "derived")
    }
    assert wanted <= set(seen), sorted(seen)
    assert len(QUERIES) >= 20


def rollup_queries(e) -> int:
    from cube.plan import make_plan
    from cube.run import compiled

    used = 0
    for query in QUERIES.values():
        plan = make_plan(query, e.catalog, e.axes_for, e.store, e.max_cells)
        used += any(
            compiled(e.context, e.caches, plan, p).strategy.startswith("rollup") for p in plan.parts
        )
    return used


def test_part_of_the_mix_is_answered_from_rollups_on_duckdb_and_spark_connect(backend_engine):
    """DuckDB reads its rollups, Spark Connect the exported rollup tables, in-process Spark the
    exported facts: equal answers above are then also proof that rollups change nothing, on
    either engine."""
    used = rollup_queries(backend_engine)
    if backend_engine.backend().name == "spark" and not backend_engine.rollups:
        assert used == 0  # told of no exported rollups: every query scans the facts
    else:
        assert used >= 5, used


MAGNITUDES = (
    "transactions-amount-margins",
    "transactions-mean-type",
    "dwellings-woz-wijk",
    "dwellings-owner-type-margins",
    "plantations-plants-income",
    "companies-sector-exclusion",
)


def test_same_answer_where_the_p_percent_rule_decides(
    conformance_release, backend_options, p_percent_catalog
):
    """The magnitude queries under a policy where p % flags cells dominance passes: the mix
    reaches the reason on the reference, and every backend publishes the same answers."""
    reference = open_engine(conformance_release, "duckdb", {}, p_percent_catalog)
    engine = open_engine(conformance_release, *backend_options, catalog=p_percent_catalog)
    try:
        reasons: Counter[str | None] = Counter()
        for name in MAGNITUDES:
            want = reference.answer(QUERIES[name])
            reasons.update(v.reason for row in want.rows for v in row.values)
            assert comparable(engine.answer(QUERIES[name])) == comparable(want), name
        assert reasons["p_percent"] >= 3, reasons
    finally:
        engine.close()
        reference.close()
