"""The release built from the tiny fixture has exactly the layout of docs/release-schema.md."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from loaders.contracts import CONTRACT_VERSION
from loaders.load import load_directory
from loaders.releases import Release, current_release
from tests.loaders.load_fixtures import SECRET, valid_tables, write_tables

LEVELS = ("buurt", "wijk", "gemeente", "provincie", "politie_eenheid", "veiligheidsregio")
FACTS = {
    # table: (roles, event fact, magnitudes)
    "fact_population": (("region",), False, ()),
    "fact_dwellings": (("region",), False, ("woz_value",)),
    "fact_plantations": (("region",), True, ("plants",)),
    "fact_suspects": (("residence", "offence"), True, ()),
    "fact_transactions": (("region",), True, ("amount_eur",)),
    "fact_companies": (("region",), False, ("employees",)),
}


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Release:
    root = tmp_path_factory.mktemp("build")
    src = write_tables(root / "in", valid_tables())
    return load_directory(src, root / "home", secret=SECRET, extra_meta={"seed": 7})


@pytest.fixture(scope="module")
def con(release: Release) -> Iterator[duckdb.DuckDBPyConnection]:
    c = duckdb.connect(str(release.db_path), read_only=True)
    yield c
    c.close()


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]]:
    return con.execute(sql).fetchall()


def test_release_is_current_with_manifest(release: Release) -> None:
    m = release.manifest
    assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{8}", release.id)
    assert current_release(release.path.parent.parent) == release
    assert m["id"] == release.id and m["contract_version"] == CONTRACT_VERSION
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", m["created"])
    assert m["meta"] == {"seed": "7"}
    assert "HMAC-SHA256" in m["record_key"]
    assert sorted(s["dataset"] for s in m["sources"]) == sorted(valid_tables())
    src_dir = release.path.parent.parent.parent / "in"
    for s in m["sources"]:
        assert s["sha256"] == hashlib.sha256((src_dir / s["file"]).read_bytes()).hexdigest()
    assert sorted(p.name for p in release.path.iterdir()) == ["manifest.json", "release.duckdb"]


def test_row_counts_match_tables(release: Release, con: duckdb.DuckDBPyConnection) -> None:
    counts = release.manifest["row_counts"]
    assert set(counts) == {
        "meta",
        "region",
        "region_boundary",
        "region_neighbour",
        "sector",
        *FACTS,
    }
    for table, n in counts.items():
        assert _rows(con, f"SELECT count(*) FROM {table}") == [(n,)]
    assert counts["fact_population"] == 16 and counts["fact_dwellings"] == 12


def test_meta(con: duckdb.DuckDBPyConnection, release: Release) -> None:
    meta = dict(_rows(con, "SELECT key, value FROM meta"))
    assert meta == {
        "release_id": release.id,
        "contract_version": CONTRACT_VERSION,
        "created": release.created,
        "seed": "7",
    }


def test_region_levels_and_ids(con: duckdb.DuckDBPyConnection) -> None:
    counts = dict(_rows(con, "SELECT level, count(*) FROM region GROUP BY level"))
    assert counts == {
        "land": 1,
        "provincie": 12,
        "politie_eenheid": 10,
        "veiligheidsregio": 25,
        "gemeente": 342,
        "wijk": 3352,
        "buurt": 4,
    }
    # Ids are dense per level and follow code order.
    bad = _rows(
        con,
        """SELECT level FROM region GROUP BY level
        HAVING list(id ORDER BY code) <> range(1, count(*) + 1)::INTEGER[]""",
    )
    assert bad == []
    assert _rows(con, "SELECT code, name FROM region WHERE level = 'land'") == [
        ("NL01", "Nederland")
    ]


def test_region_parents_and_figures(con: duckdb.DuckDBPyConnection) -> None:
    buurt = _rows(
        con,
        """SELECT name, wijk, gemeente, provincie, politie_eenheid, veiligheidsregio
        FROM region WHERE code = 'BU0363AA01'""",
    )
    assert buurt == [("Haarlemmerbuurt-Oost", "WK0363AA", "GM0363", "PV27", "RE05", "VR13")]
    gm = _rows(
        con,
        """SELECT name, wijk, gemeente, provincie, population, area_km2
        FROM region WHERE code = 'GM0014'""",
    )
    assert gm == [("Groningen", None, None, "PV20", 243768, 185.53)]
    assert _rows(con, "SELECT name FROM region WHERE code = 'WK001400'") == [("Centrum",)]
    assert _rows(
        con, "SELECT count(*) FROM region WHERE level = 'gemeente' AND population IS NULL"
    ) == [(0,)]


def test_neighbours_symmetric(con: duckdb.DuckDBPyConnection) -> None:
    asym = _rows(
        con,
        """SELECT * FROM region_neighbour a ANTI JOIN region_neighbour b
        ON a.gemeente = b.neighbour AND a.neighbour = b.gemeente""",
    )
    assert asym == []
    assert ("GM0363", "GM0362") in _rows(con, "SELECT * FROM region_neighbour")


def test_sector(con: duckdb.DuckDBPyConnection) -> None:
    sections = [
        r[0] for r in _rows(con, "SELECT code FROM sector WHERE level = 'section' ORDER BY code")
    ]
    assert sections == [chr(c) for c in range(ord("A"), ord("U") + 1)]
    added = _rows(con, "SELECT code, section FROM sector WHERE code IN ('05', '07') ORDER BY code")
    assert added == [("05", "B"), ("07", "B")]
    assert _rows(
        con, "SELECT count(*) FROM sector WHERE level = 'division' AND section IS NULL"
    ) == [(0,)]


@pytest.mark.parametrize("table", FACTS)
def test_fact_columns_and_types(con: duckdb.DuckDBPyConnection, table: str) -> None:
    roles, event, magnitudes = FACTS[table]
    types = dict(
        _rows(
            con,
            "SELECT column_name, data_type FROM information_schema.columns "
            f"WHERE table_name = '{table}'",
        )
    )
    for role in roles:
        for level in LEVELS:
            assert types.pop(f"{role}_{level}") == "INTEGER"
    assert types.pop("year") == "SMALLINT"
    if event:
        assert types.pop("quarter") == "TINYINT" and types.pop("month") == "TINYINT"
    assert types.pop("record_key") == "BIGINT" and types.pop("holding") == "BIGINT"
    assert types.pop("holding_rows_year") == "INTEGER"
    for m in magnitudes:
        assert types.pop(f"holding_year_{m}") == "DOUBLE"
    assert not any(name.endswith("buurt_code") for name in types)  # replaced by region ids
    assert _rows(
        con, f"SELECT count(*) FROM {table} WHERE record_key NOT BETWEEN 0 AND 4294967295"
    ) == [(0,)]


@pytest.mark.parametrize("table", FACTS)
def test_facts_sorted_by_region_then_year(con: duckdb.DuckDBPyConnection, table: str) -> None:
    role = FACTS[table][0][0]
    keys = _rows(con, f"SELECT {role}_gemeente, {role}_wijk, {role}_buurt, year FROM {table}")
    assert keys == sorted(keys)


def test_region_ids_resolve_to_the_input_buurt(con: duckdb.DuckDBPyConnection) -> None:
    rows = _rows(
        con,
        """SELECT b.code, g.code FROM fact_population f
        JOIN region b ON b.level = 'buurt' AND b.id = f.region_buurt
        JOIN region g ON g.level = 'gemeente' AND g.id = f.region_gemeente
        WHERE f.person_id = 3 AND f.year = 2022""",
    )
    assert rows == [("BU0363AB01", "GM0363")]
    flows = _rows(
        con,
        """SELECT r.code, o.code FROM fact_suspects f
        JOIN region r ON r.level = 'buurt' AND r.id = f.residence_buurt
        JOIN region o ON o.level = 'buurt' AND o.id = f.offence_buurt WHERE registration_id = 3""",
    )
    assert flows == [("BU00140002", "BU0363AB01")]


def test_population_suspect_before(con: duckdb.DuckDBPyConnection) -> None:
    got = dict(
        _rows(
            con,
            "SELECT (person_id, year), suspect_before FROM fact_population "
            "WHERE person_id IN (2, 5)",
        )
    )
    # Person 2 registered 2021-07-01; person 5 on 2023-02-03 (not before 1 January 2023).
    assert got == {(2, 2022): True, (2, 2023): True, (5, 2022): False, (5, 2023): False}


def test_dwellings_transfers_and_holdings(con: duckdb.DuckDBPyConnection) -> None:
    got = _rows(
        con,
        """SELECT dwelling_id, year, transfers_20y, doorsluis, holding,
        holding_rows_year, holding_year_woz_value FROM fact_dwellings
        WHERE dwelling_id IN (1, 2, 4) ORDER BY dwelling_id, year""",
    )
    assert got == [
        (1, 2022, 6, True, 7, 3, 660000.0),  # sold 2004..2019: six times within 20 years
        (1, 2023, 6, True, 7, 3, 660000.0),
        (2, 2022, 0, False, 7, 3, 660000.0),  # sold June 2022: counts from the 2023 stock
        (2, 2023, 1, False, 7, 3, 660000.0),
        (4, 2022, 0, False, 104, 1, 240000.0),
        (4, 2023, 0, False, 104, 1, 240000.0),
    ]


def test_plantation_residents(con: duckdb.DuckDBPyConnection) -> None:
    got = _rows(
        con,
        """SELECT plantation_id, year, quarter, month, has_resident, resident_age,
        resident_sex, resident_household_type, resident_income_decile, resident_tenure,
        resident_suspect_before, holding, holding_rows_year, holding_year_plants
        FROM fact_plantations ORDER BY plantation_id""",
    )
    assert got == [
        (1, 2022, 1, 3, True, 22, "M", "single", 3, "social_rent", True, 1, 1, 300.0),
        (2, 2023, 4, 11, False, None, None, None, None, None, None, 2, 1, 80.0),
    ]


def test_transactions_and_companies_holdings(con: duckdb.DuckDBPyConnection) -> None:
    tx = _rows(
        con,
        """SELECT DISTINCT holding, year, holding_rows_year, holding_year_amount_eur
        FROM fact_transactions ORDER BY holding, year""",
    )
    assert tx == [(5, 2023, 3, 6000.0), (8, 2023, 2, 9000.0)]
    co = _rows(
        con,
        """SELECT establishment_id, sbi_section, holding, holding_rows_year,
        holding_year_employees FROM fact_companies ORDER BY establishment_id""",
    )
    assert co == [
        (1, "B", 50, 2, 30.0),
        (2, "G", 50, 2, 30.0),
        (3, "G", 53, 1, 30.0),
        (4, "G", 54, 1, 40.0),
    ]


def test_release_opens_read_only_from_another_process_path(
    release: Release, tmp_path: Path
) -> None:
    """The published file is self-contained: it can be copied and opened elsewhere."""
    copy = tmp_path / "copy.duckdb"
    copy.write_bytes(release.db_path.read_bytes())
    with duckdb.connect(str(copy), read_only=True) as c:
        assert c.execute("SELECT count(*) FROM fact_population").fetchone() == (16,)
