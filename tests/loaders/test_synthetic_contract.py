"""The generated files conform to the data contracts: columns, types, codes, ranges, keys, refs."""

from __future__ import annotations

import csv

import pyarrow.parquet as pq
import pytest

from dimensions import codelists, regions
from loaders import contracts
from loaders.synthetic import companies, writer
from tests.loaders.synthetic_fixtures import connect, generated, scalar

PARQUET = [d for d in contracts.DATASETS if d.file.endswith(".parquet")]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return generated(tmp_path_factory)


@pytest.fixture(scope="module")
def con(data):
    c = connect(data[0])
    yield c
    c.close()


@pytest.mark.parametrize("ds", PARQUET, ids=lambda d: d.name)
def test_parquet_schema_is_exactly_the_contract(data, ds):
    found = pq.read_schema(data[0] / ds.file)
    expected = writer.schema(ds)
    assert found.names == [c.name for c in ds.columns]
    assert [f.type for f in found] == [f.type for f in expected]


def test_buurten_csv_header_and_codes(data):
    with open(data[0] / "buurten.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == [c.name for c in contracts.BUURTEN.columns]
    real_wijken = {w.code for w in regions.wijken()}
    codes = [r[0] for r in rows[1:]]
    assert len(codes) == len(set(codes)) == data[1]["buurten"]
    for code, name, wijk in rows[1:]:
        # BU + the wijk's 6 characters (Amsterdam's real wijk codes hold letters) + 2 digits.
        assert code.startswith("BU") and len(code) == 10 and code[8:].isdigit()
        assert wijk in real_wijken and code[2:8] == wijk[2:]
        assert name
    assert {r[2] for r in rows[1:]} == real_wijken  # every real wijk has buurten


def _coded_columns():
    for ds in PARQUET:
        for c in ds.columns:
            if c.codelist:
                yield ds, c


@pytest.mark.parametrize("ds,col", list(_coded_columns()), ids=lambda x: getattr(x, "name", ""))
def test_codes_are_in_their_code_list(con, ds, col):
    if col.codelist == "sbi_division":
        allowed = set(companies.divisions()[0])
    else:
        allowed = set(codelists.BY_NAME[col.codelist].values)
    found = {r[0] for r in con.execute(f"SELECT DISTINCT {col.name} FROM {ds.name}").fetchall()}
    assert found <= allowed, found - allowed
    assert found  # not an empty column


@pytest.mark.parametrize("ds", PARQUET, ids=lambda d: d.name)
def test_ranges_nulls_and_keys(con, ds):
    for c in ds.columns:
        if not c.nullable:
            assert scalar(con, f"SELECT count(*) FROM {ds.name} WHERE {c.name} IS NULL") == 0
        # A date column's bounds are years.
        expr = f"year({c.name})" if c.type == "date" else c.name
        if c.min is not None:
            assert scalar(con, f"SELECT min({expr}) FROM {ds.name}") >= c.min, c.name
        if c.max is not None:
            assert scalar(con, f"SELECT max({expr}) FROM {ds.name}") <= c.max, c.name
    key = ", ".join(ds.key)
    dupes = f"SELECT count(*) FROM (SELECT {key} FROM {ds.name} GROUP BY ALL HAVING count(*) > 1)"
    assert scalar(con, dupes) == 0


def test_years_and_dates(con):
    for table in ("population", "dwellings", "companies"):
        years = con.execute(f"SELECT DISTINCT year FROM {table} ORDER BY 1").fetchall()
        assert [y for (y,) in years] == list(range(2015, 2025))
    for table, col in (
        ("plantations", "cleared_date"),
        ("suspects", "registration_date"),
        ("transactions", "transaction_date"),
    ):
        lo, hi = con.execute(f"SELECT min(year({col})), max(year({col})) FROM {table}").fetchone()
        assert (lo, hi) == (2015, 2024)
    lo, hi = con.execute("SELECT min(transfer_date), max(transfer_date) FROM transfers").fetchone()
    assert lo.year == 1995 and hi.year == 2024


REFERENCES = {
    "population buurt": "SELECT count(*) FROM population p ANTI JOIN buurten b USING (buurt_code)",
    "dwellings buurt": "SELECT count(*) FROM dwellings d ANTI JOIN buurten b USING (buurt_code)",
    "companies buurt": "SELECT count(*) FROM companies c ANTI JOIN buurten b USING (buurt_code)",
    "suspect residence": "SELECT count(*) FROM suspects s ANTI JOIN buurten b "
    "ON b.buurt_code = s.residence_buurt_code",
    "suspect offence": "SELECT count(*) FROM suspects s ANTI JOIN buurten b "
    "ON b.buurt_code = s.offence_buurt_code",
    "suspect in population that year": "SELECT count(*) FROM suspects s ANTI JOIN population p "
    "ON p.person_id = s.person_id AND p.year = year(s.registration_date)",
    "suspect lives where registered": "SELECT count(*) FROM suspects s JOIN population p "
    "ON p.person_id = s.person_id AND p.year = year(s.registration_date) "
    "WHERE p.buurt_code <> s.residence_buurt_code OR p.age <> s.age OR p.sex <> s.sex",
    "plantation resident that year": "SELECT count(*) FROM plantations x ANTI JOIN population p "
    "ON p.person_id = x.resident_person_id AND p.year = year(x.cleared_date) "
    "WHERE x.resident_person_id IS NOT NULL",
    "transfer dwelling": "SELECT count(*) FROM transfers t "
    "ANTI JOIN dwellings d USING (dwelling_id)",
    "person subject that year": "SELECT count(*) FROM transactions t ANTI JOIN population p "
    "ON p.person_id = t.subject_id AND p.year = year(t.transaction_date) "
    "WHERE t.subject_type = 'person'",
    "company subject that year": "SELECT count(*) FROM transactions t ANTI JOIN companies c "
    "ON c.company_id = t.subject_id AND c.year = year(t.transaction_date) "
    "WHERE t.subject_type = 'company'",
}


@pytest.mark.parametrize("name", REFERENCES)
def test_referential_integrity(con, name):
    assert scalar(con, REFERENCES[name]) == 0


def test_person_and_company_ids_do_not_collide(con):
    # Transactions count subject_id as the contributor: a person and a company must differ.
    overlap = (
        "SELECT count(*) FROM (SELECT DISTINCT company_id FROM companies) c "
        "JOIN (SELECT DISTINCT person_id FROM population) p ON p.person_id = c.company_id"
    )
    assert scalar(con, overlap) == 0
