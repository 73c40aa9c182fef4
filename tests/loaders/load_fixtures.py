"""A tiny, valid, hand-readable load directory, and helpers to break it on purpose."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from loaders.contracts import BY_NAME

SECRET = b"test-secret-0123456789-abcdef"
ARROW = {
    "int64": pa.int64(),
    "int32": pa.int32(),
    "int16": pa.int16(),
    "string": pa.string(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "float64": pa.float64(),
}
D = dt.date

BUURTEN = [
    {"buurt_code": "BU00140001", "buurt_name": "Binnenstad-Noord", "wijk_code": "WK001400"},
    {"buurt_code": "BU00140002", "buurt_name": "Binnenstad-Zuid", "wijk_code": "WK001400"},
    {"buurt_code": "BU0363AA01", "buurt_name": "Haarlemmerbuurt-Oost", "wijk_code": "WK0363AA"},
    {"buurt_code": "BU0363AB01", "buurt_name": "Jordaan-Noord", "wijk_code": "WK0363AB"},
]
_BUURT = ["BU00140001", "BU00140002", "BU0363AA01", "BU0363AB01"]


def _person(pid: int, year: int) -> dict[str, Any]:
    return {
        "year": year,
        "person_id": pid,
        "household_id": 100 + pid // 2,
        "buurt_code": _BUURT[pid % 4],
        "age": 20 + pid,
        "sex": "MV"[pid % 2],
        "household_type": "single",
        "income_decile": None if pid == 3 else 1 + pid % 10,
        "tenure": "social_rent" if pid % 3 else "owner",
    }


def valid_tables() -> dict[str, list[dict[str, Any]]]:
    """Eight people over two years, their dwellings, sales, plantations, suspects, FIU, KvK."""
    population = [_person(pid, year) for year in (2022, 2023) for pid in range(1, 9)]
    dwellings = [
        {
            "year": year,
            "dwelling_id": d,
            "buurt_code": _BUURT[d % 4],
            "owner_id": 7 if d <= 3 else 100 + d,  # owner 7 holds three dwellings
            "owner_type": "private_person" if d <= 3 else "housing_corporation",
            "woz_value": 200_000 + 10_000 * d,
            "unexplained_ownership": d <= 3,
            "unexplained_purchase": False,
            "owner_professional_director": False,
            "owner_single_director_foundation": False,
        }
        for year in (2022, 2023)
        for d in range(1, 7)
    ]
    # Dwelling 1 sold six times between 2004 and 2021 (a doorsluiswoning), dwelling 2 once.
    sales = [(1, D(2004 + 3 * i, 5, 1)) for i in range(6)] + [(2, D(2022, 6, 1))]
    transfers = [
        {
            "transfer_id": i + 1,
            "dwelling_id": d,
            "transfer_date": when,
            "price": 150_000 + i,
            "buyer_type": "private_person",
        }
        for i, (d, when) in enumerate(sales)
    ]
    plantations = [
        {
            "plantation_id": 1,
            "cleared_date": D(2022, 3, 15),
            "buurt_code": "BU0363AA01",
            "premises_type": "dwelling",
            "plants": 300,
            "resident_person_id": 2,
        },
        {
            "plantation_id": 2,
            "cleared_date": D(2023, 11, 2),
            "buurt_code": "BU00140001",
            "premises_type": "outbuilding",
            "plants": 80,
            "resident_person_id": None,
        },
    ]
    suspects = [
        {
            "registration_id": r,
            "person_id": pid,
            "registration_date": when,
            "residence_buurt_code": _BUURT[pid % 4],
            "offence_buurt_code": "BU0363AB01",
            "age": 30,
            "sex": "M",
            "drug_type": "cannabis",
            "offence_type": "production",
            "first_registration": r == 1,
            "family_member_suspect": False,
        }
        for r, pid, when in ((1, 2, D(2021, 7, 1)), (2, 2, D(2022, 8, 9)), (3, 5, D(2023, 2, 3)))
    ]
    transactions = [
        {
            "transaction_id": t,
            "transaction_date": D(2023, 1 + t, 10),
            "subject_id": 5 if t < 4 else 8,
            "subject_type": "person",
            "subject_buurt_code": "BU00140002",
            "reporting_sector": "bank",
            "transaction_type": "cash_deposit",
            "amount_eur": 1000.0 * t,
            "cash": True,
        }
        for t in range(1, 6)
    ]
    companies = [
        {
            "year": 2023,
            "establishment_id": e,
            "company_id": 50 if e < 3 else 50 + e,
            "buurt_code": _BUURT[e % 4],
            "sbi_division": "05" if e == 1 else "47",
            "legal_form": "private_limited",
            "founded_year": 2001,
            "employees": 10 * e,
            "director_convicted": False,
            "director_professional": e == 2,
        }
        for e in range(1, 5)
    ]
    return copy.deepcopy(
        {
            "buurten": BUURTEN,
            "population": population,
            "dwellings": dwellings,
            "transfers": transfers,
            "plantations": plantations,
            "suspects": suspects,
            "transactions": transactions,
            "companies": companies,
        }
    )


def write_tables(
    directory: Path,
    tables: dict[str, list[dict[str, Any]]],
    csv: frozenset[str] | set[str] = frozenset({"buurten"}),
    raw: bool = False,
) -> Path:
    """Write each table as Parquet (contract types), or as CSV for the names in ``csv``.

    ``raw=True`` lets pyarrow infer the types (for files whose values break the contract).
    """
    directory.mkdir(parents=True, exist_ok=True)
    for name, rows in tables.items():
        ds = BY_NAME[name]
        stem = Path(ds.file).stem
        if raw and name in csv:  # CSV is text anyway: mixed values are written as they print
            text = [{k: None if v is None else _text(v) for k, v in r.items()} for r in rows]
            table = pa.Table.from_pylist(text)
        elif raw or not rows or set(rows[0]) != {c.name for c in ds.columns}:
            table = pa.Table.from_pylist(rows)
        else:
            schema = pa.schema([(c.name, ARROW[c.type]) for c in ds.columns])
            table = pa.Table.from_pylist(rows, schema=schema)
        if name in csv:
            pacsv.write_csv(table, directory / f"{stem}.csv")
        else:
            pq.write_table(table, directory / f"{stem}.parquet")
    return directory


def _text(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)
