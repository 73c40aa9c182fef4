"""Building the release tables of ``docs/release-schema.md`` from validated staging tables.

All heavy lifting is DuckDB SQL run on the staging connection, writing into the attached
release database ``rel``. Each fact table is one ``CREATE TABLE ... AS SELECT ... ORDER BY``:
a per-dataset *base* query (own columns, period, derived columns) wrapped by a generic one
adding region ids per role, the record key and the holding statistics.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import duckdb

from dimensions import regions
from layout.facts import FACTS as FACTS  # what a load builds, re-exported for loaders/load.py
from layout.facts import LAYOUT_VERSION as LAYOUT_VERSION
from layout.facts import REGION_LEVELS, FactLayout
from loaders import reference
from loaders.boundaries import Boundary
from loaders.contracts import BY_NAME, Dataset
from loaders.geometry import gemeente_neighbours
from loaders.keys import record_key_sql
from loaders.stage import SQL_TYPES, insert_rows


def _population_base() -> str:
    return """SELECT p.*, coalesce(s.first_date < make_date(p.year, 1, 1), false) AS suspect_before
        FROM t_population p LEFT JOIN first_suspect s USING (person_id)"""


def _dwellings_base() -> str:
    # Stock on 1 January of `year`: count the sales in the 20 calendar years before it.
    return """SELECT d.*, CAST(coalesce(len(list_filter(tr.years,
            lambda y: y >= d.year - 20 AND y < d.year)), 0) AS INTEGER) AS transfers_20y,
            transfers_20y >= 5 AS doorsluis
        FROM t_dwellings d LEFT JOIN transfer_years tr USING (dwelling_id)"""


def _plantations_base() -> str:
    return """SELECT x.*, x.resident_person_id IS NOT NULL AS has_resident,
            p.age AS resident_age, p.sex AS resident_sex,
            p.household_type AS resident_household_type,
            p.income_decile AS resident_income_decile, p.tenure AS resident_tenure,
            CASE WHEN x.resident_person_id IS NOT NULL
                 THEN coalesce(s.first_date < x.cleared_date, false) END AS resident_suspect_before
        FROM t_plantations x
        LEFT JOIN t_population p
            ON p.person_id = x.resident_person_id AND p.year = year(x.cleared_date)
        LEFT JOIN first_suspect s ON s.person_id = x.resident_person_id"""


def _companies_base() -> str:
    return """SELECT c.*, s.section AS sbi_section
        FROM t_companies c
        LEFT JOIN rel.sector s ON s.level = 'division' AND s.code = c.sbi_division"""


# The per-dataset SELECT with own and derived columns (default: all contract columns).
BASES: dict[str, Callable[[], str]] = {
    "population": _population_base,
    "dwellings": _dwellings_base,
    "plantations": _plantations_base,
    "companies": _companies_base,
}


def create_typed_views(con: duckdb.DuckDBPyConnection, datasets: list[Dataset]) -> None:
    """``t_<dataset>``: the staged columns in their contract types (validated, so casts succeed)."""
    for ds in datasets:
        cols = ", ".join(
            f'CAST("{c.name}" AS {SQL_TYPES[c.type]}) AS "{c.name}"' for c in ds.columns
        )
        con.execute(f"CREATE OR REPLACE TEMP VIEW t_{ds.name} AS SELECT {cols} FROM src_{ds.name}")


def create_helpers(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("""CREATE OR REPLACE TEMP TABLE first_suspect AS
        SELECT person_id, min(registration_date) AS first_date
        FROM t_suspects GROUP BY person_id""")
    con.execute("""CREATE OR REPLACE TEMP TABLE transfer_years AS
        SELECT dwelling_id, list(CAST(year(transfer_date) AS INTEGER)) AS years
        FROM t_transfers GROUP BY dwelling_id""")


def build_meta(con: duckdb.DuckDBPyConnection, meta: dict[str, str]) -> None:
    con.execute("CREATE TABLE rel.meta (key VARCHAR, value VARCHAR)")
    insert_rows(con, "rel.meta", sorted(meta.items()))


def build_sector(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "CREATE TABLE rel.sector (level VARCHAR, code VARCHAR, name VARCHAR, section VARCHAR)"
    )
    insert_rows(
        con, "rel.sector", [(s.level, s.code, s.name, s.section) for s in reference.sectors()]
    )


def build_neighbours(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE TABLE rel.region_neighbour (gemeente VARCHAR, neighbour VARCHAR)")
    insert_rows(con, "rel.region_neighbour", gemeente_neighbours())


def build_boundaries(con: duckdb.DuckDBPyConnection, boundaries: list[Boundary]) -> None:
    """``rel.region_boundary``: the delivered wijk and buurt boundaries (empty without)."""
    con.execute("""CREATE TABLE rel.region_boundary (level VARCHAR, code VARCHAR,
        gemeente VARCHAR, name VARCHAR, geometry VARCHAR)""")
    rows = [(b.level, b.code, b.gemeente, b.name, b.geometry) for b in boundaries]
    insert_rows(con, "rel.region_boundary", sorted(rows, key=lambda r: (r[2], r[0], r[1])))


def build_region(con: duckdb.DuckDBPyConnection) -> None:
    """``rel.region`` for all levels, then ``buurt_ids``: each buurt code with its ids per level."""
    con.execute("""CREATE OR REPLACE TEMP TABLE region_src (level VARCHAR, code VARCHAR,
        name VARCHAR, wijk VARCHAR, gemeente VARCHAR, provincie VARCHAR, politie_eenheid VARCHAR,
        veiligheidsregio VARCHAR, population BIGINT, area_km2 DOUBLE)""")
    rows: set[tuple[object, ...]] = {("land", "NL01", "Nederland", *[None] * 7)}
    parents: dict[str, tuple[str, str, str]] = {}
    for g in regions.gemeenten():
        pv, re, vr = g.provincie_code, g.politie_eenheid_code, g.veiligheidsregio_code
        parents[g.code] = (pv, re, vr)
        rows.add(("provincie", pv, g.provincie_name, *[None] * 7))
        rows.add(("politie_eenheid", re, g.politie_eenheid_name, *[None] * 7))
        rows.add(("veiligheidsregio", vr, g.veiligheidsregio_name, *[None] * 7))
        rows.add(
            ("gemeente", g.code, g.name, None, None, pv, re, vr, g.population_2024, g.land_area_km2)
        )
    for w in regions.wijken():
        pv, re, vr = parents[w.gemeente_code]
        rows.add(("wijk", w.code, w.name, None, w.gemeente_code, pv, re, vr, None, None))
    insert_rows(con, "region_src", sorted(rows, key=str))
    con.execute("""INSERT INTO region_src
        SELECT 'buurt', b.buurt_code, b.buurt_name, b.wijk_code, w.gemeente, w.provincie,
               w.politie_eenheid, w.veiligheidsregio, NULL, NULL
        FROM t_buurten b JOIN region_src w ON w.level = 'wijk' AND w.code = b.wijk_code""")
    con.execute("""CREATE TABLE rel.region AS
        SELECT level, CAST(row_number() OVER (PARTITION BY level ORDER BY code) AS INTEGER) AS id,
               code, name, wijk, gemeente, provincie, politie_eenheid, veiligheidsregio,
               population, area_km2
        FROM region_src ORDER BY level, code""")
    joins = "\n".join(
        f"JOIN rel.region {lv[:2]}_ ON {lv[:2]}_.level = '{lv}' AND {lv[:2]}_.code = b.{lv}"
        for lv in REGION_LEVELS[1:]
    )
    ids = ", ".join(f"{lv[:2]}_.id AS {lv}" for lv in REGION_LEVELS[1:])
    con.execute(f"""CREATE OR REPLACE TEMP TABLE buurt_ids AS
        SELECT b.code, b.id AS buurt, {ids}
        FROM rel.region b {joins} WHERE b.level = 'buurt'""")


# A fact of more rows is built in parts, by ranges of its first region's buurt codes: each
# part sorted on its own and appended in order gives the same table in the same order, while
# a part's sort fits the load's memory. One sort of a national population (88 M rows) spilled
# gigabytes to disk under the 2 GB limit and waited on it for a third of its time.
PART_ROWS = 16_000_000


def build_fact(con: duckdb.DuckDBPyConnection, spec: FactLayout, derived_key: str) -> None:
    """One fact table: base columns, region ids, record key, holding statistics, sorted."""
    ds = BY_NAME[spec.dataset]
    make_base = BASES.get(spec.dataset)
    base = make_base() if make_base else f"SELECT * FROM t_{spec.dataset}"
    role_cols = {r.buurt_code for r in spec.regions}
    period = _period(spec)
    region_sel, region_join = _regions(spec)
    own = ", ".join(
        f"base.{c.name}" for c in ds.columns if c.name not in role_cols and c.name != "year"
    )
    derived = _derived_columns(con, base, ds)
    parts = _parts(con, spec)
    hold_sel, hold_cte, hold_join = _holding(ds, spec)
    if len(parts) > 1 and hold_cte:
        # a holding's rows may lie in several parts: its statistics come from all of them
        con.execute(f"""CREATE OR REPLACE TEMP TABLE hold AS
            WITH base AS (SELECT *{period} FROM ({base})) {_hold_query(ds, spec)}""")
        hold_cte = ""
    # Sorted by gemeente, wijk, buurt, year: buurt ids follow the buurt codes, and a buurt code
    # holds its wijk's code (validated), which holds its gemeente's (true of every CBS wijk,
    # tested), so sorting on the buurt id alone gives that order with a third of the sort keys.
    first = spec.regions[0]
    key = record_key_sql(derived_key, ds.name, ds.record_id)
    with _streamed(con, len(parts) > 1):
        for i, where in enumerate(parts):
            select = f"""WITH base AS (SELECT *{period}, {key} AS record_key
                    FROM ({base}){where}){hold_cte}
                SELECT {region_sel}, base.year, {"base.quarter, base.month, " if spec.date else ""}
                    base.record_key,
                    CAST(base.{spec.holding} AS BIGINT) AS holding, {hold_sel},
                    {own}{"".join(", base." + d for d in derived)}
                FROM base {region_join} {hold_join}
                ORDER BY {first.name}_buurt, base.year"""
            if i == 0:
                con.execute(f"CREATE TABLE rel.{spec.table} AS {select}")
            else:
                con.execute(f"INSERT INTO rel.{spec.table} {select}")
    if len(parts) > 1 and hold_join:
        con.execute("DROP TABLE hold")


@contextmanager
def _streamed(con: duckdb.DuckDBPyConnection, parts: bool) -> Iterator[None]:
    """A large fact's parts stream through their joins into the sort, in the order written.

    Each join of a part (the base's lookups, the region ids, the holding statistics) has the
    part on its left, so the hash tables are built on the lookups, never on the part. DuckDB's
    optimizer estimates a part (a range of buurt codes) at a fraction of its rows and may
    build the hash table on it instead: a national input of two years ran out of the load's
    2 GB that way while five years loaded, by which side each estimate happened to favour.
    """
    if not parts:
        yield
        return
    con.execute("SET disabled_optimizers = 'join_order,build_side_probe_side'")
    try:
        yield
    finally:
        con.execute("RESET disabled_optimizers")


def _parts(con: duckdb.DuckDBPyConnection, spec: FactLayout) -> list[str]:
    """WHERE clauses (on the first region's buurt code) of the parts a fact is built in, in
    buurt order; one empty clause for a fact of at most ``PART_ROWS`` rows."""
    row = con.execute(f"SELECT count(*) FROM t_{spec.dataset}").fetchone()
    n = -(-int(row[0] if row else 0) // PART_ROWS)
    if n <= 1:
        return [""]
    codes = [r[0] for r in con.execute("SELECT code FROM buurt_ids ORDER BY buurt").fetchall()]
    cuts = [codes[len(codes) * i // n].replace("'", "''") for i in range(1, n)]
    col = f'"{spec.regions[0].buurt_code}"'
    lows, highs = [None, *cuts], [*cuts, None]
    return [
        " WHERE "
        + " AND ".join(([f"{col} >= '{lo}'"] if lo else []) + ([f"{col} < '{hi}'"] if hi else []))
        for lo, hi in zip(lows, highs, strict=True)
    ]


def _regions(spec: FactLayout) -> tuple[str, str]:
    """Region id columns ``<role>_<level>`` and the joins (on the buurt code) providing them."""
    select = ", ".join(
        f"r{i}.{lv} AS {r.column(lv)}" for i, r in enumerate(spec.regions) for lv in REGION_LEVELS
    )
    joins = "\n".join(
        f"JOIN buurt_ids r{i} ON r{i}.code = base.{r.buurt_code}"
        for i, r in enumerate(spec.regions)
    )
    return select, joins


def _period(spec: FactLayout) -> str:
    if spec.date is None:
        return ""  # stock facts carry their own year column
    d = spec.date
    return (
        f", CAST(year({d}) AS SMALLINT) AS year, CAST(quarter({d}) AS TINYINT) AS quarter, "
        f"CAST(month({d}) AS TINYINT) AS month"
    )


def _holding(ds: Dataset, spec: FactLayout) -> tuple[str, str, str]:
    """Holding statistics; a key within (holding, year) means one row per holding-year."""
    if set(ds.key) <= {spec.holding, "year"}:
        sel = ["CAST(1 AS INTEGER) AS holding_rows_year"]
        sel += [f"CAST(base.{m} AS DOUBLE) AS holding_year_{m}" for m in spec.magnitudes]
        return ", ".join(sel), "", ""
    cte = f""",
        hold AS ({_hold_query(ds, spec)})"""
    join = f"JOIN hold ON hold.h = base.{spec.holding} AND hold.y = base.year"
    sel = ["hold.n AS holding_rows_year"] + [f"hold.holding_year_{m}" for m in spec.magnitudes]
    return ", ".join(sel), cte, join


def _hold_query(ds: Dataset, spec: FactLayout) -> str:
    """Rows and magnitude sums per holding and year, over the rows named ``base``."""
    sums = "".join(f", {_exact_sum(ds, m)} AS holding_year_{m}" for m in spec.magnitudes)
    return f"""SELECT {spec.holding} AS h, year AS y, CAST(count(*) AS INTEGER) AS n{sums}
                 FROM base GROUP BY ALL"""


def _exact_sum(ds: Dataset, magnitude: str) -> str:
    """The sum of a holding's values in a year, the same on every run: integers sum exactly as
    doubles, but a sum of fractions depends on the order in which threads add them (its last
    bits differed between two loads of the same files), so those are added in value order."""
    if ds.column(magnitude).type == "float64":
        return f"sum(CAST({magnitude} AS DOUBLE) ORDER BY {magnitude})"
    return f"sum(CAST({magnitude} AS DOUBLE))"


def _derived_columns(con: duckdb.DuckDBPyConnection, base: str, ds: Dataset) -> list[str]:
    """Columns the base query adds beyond the contract (found by describing it, no scan)."""
    names = [r[0] for r in con.execute(f"DESCRIBE {base}").fetchall()]
    own = {c.name for c in ds.columns}
    return [n for n in names if n not in own]
