"""A small random but reproducible load (three gemeenten, two years) for cube-engine tests.

Big enough that many cells pass the threshold rule, small enough to load in a second. Written
through the real loader, so the tests exercise the real release layout.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parents[1] / "loaders"))
from load_fixtures import SECRET, write_tables

BUURTEN = [
    ("BU00140001", "Binnenstad-Noord", "WK001400"),
    ("BU00140002", "Binnenstad-Zuid", "WK001400"),
    ("BU00140101", "Oud-Zuid-Oost", "WK001401"),
    ("BU0363AA01", "Haarlemmerbuurt", "WK0363AA"),
    ("BU0363AA02", "Westelijke Eilanden", "WK0363AA"),
    ("BU0363AB01", "Jordaan-Noord", "WK0363AB"),
    ("BU03620101", "Randwijck-Noord", "WK036201"),
]
YEARS = (2022, 2023)
CODES = [b[0] for b in BUURTEN]


def _pick(rng: np.random.Generator, options: list[Any], n: int, p: list[float] | None = None):
    return [options[i] for i in rng.choice(len(options), size=n, p=p)]


def tables(seed: int = 7, persons: int = 900) -> dict[str, list[dict[str, Any]]]:
    rng = np.random.default_rng(seed)
    buurt = _pick(rng, CODES, persons, [0.2, 0.15, 0.1, 0.2, 0.1, 0.15, 0.1])
    age0 = rng.integers(0, 90, persons)
    sex = _pick(rng, ["M", "V"], persons)
    decile = rng.integers(1, 11, persons)
    population = [
        {
            "year": y,
            "person_id": p + 1,
            "household_id": p // 3 + 1,
            "buurt_code": buurt[p],
            "age": int(age0[p] + y - 2022),
            "sex": sex[p],
            "household_type": [
                "single",
                "couple",
                "couple_with_children",
                "single_parent",
                "other",
            ][p % 5],
            "income_decile": None if p % 50 == 0 else int(decile[p]),
            "tenure": ["owner", "social_rent", "private_rent"][(p + int(decile[p])) % 3],
        }
        for y in YEARS
        for p in range(persons)
    ]
    n_dw = 400
    owner = np.where(rng.random(n_dw) < 0.3, 9_000_001, rng.integers(1, persons, n_dw))
    dwellings = [
        {
            "year": y,
            "dwelling_id": d + 1,
            "buurt_code": CODES[d % len(CODES)],
            "owner_id": int(owner[d]),
            "owner_type": "housing_corporation" if owner[d] == 9_000_001 else "private_person",
            "woz_value": int(150_000 + 1_000 * (d % 300)),
            "unexplained_ownership": d % 17 == 0,
            "unexplained_purchase": d % 23 == 0,
            "owner_professional_director": d % 29 == 0,
            "owner_single_director_foundation": False,
        }
        for y in YEARS
        for d in range(n_dw)
    ]
    transfers = [
        {
            "transfer_id": i + 1,
            "dwelling_id": 1 + i % 40,
            "transfer_date": dt.date(2004 + i // 40 * 3, 5, 1),
            "price": 100_000 + i,
            "buyer_type": "private_person",
        }
        for i in range(240)
    ]
    plantations = [
        {
            "plantation_id": i + 1,
            "cleared_date": dt.date(YEARS[i % 2], 1 + i % 12, 10),
            "buurt_code": CODES[i % 3] if i % 4 else CODES[3 + i % 4],
            "premises_type": ["dwelling", "outbuilding", "business_premises"][i % 3],
            "plants": int(50 + (i * 37) % 400),
            "resident_person_id": None if i % 5 == 0 else int(1 + (i * 7) % persons),
        }
        for i in range(120)
    ]
    suspect_person = rng.integers(1, persons, 260)
    suspects = [
        {
            "registration_id": r + 1,
            "person_id": int(suspect_person[r]),
            "registration_date": dt.date(2021 + r % 3, 1 + r % 12, 1 + r % 28),
            "residence_buurt_code": buurt[int(suspect_person[r]) - 1],
            "offence_buurt_code": CODES[(r * 3) % len(CODES)]
            if r % 3
            else buurt[int(suspect_person[r]) - 1],
            "age": int(18 + r % 40),
            "sex": "M" if r % 4 else "V",
            "drug_type": ["cannabis", "cocaine", "synthetic"][r % 3],
            "offence_type": ["trade", "possession", "production"][r % 3],
            "first_registration": r % 2 == 0,
            "family_member_suspect": r % 3 == 0,
        }
        for r in range(260)
    ]
    subj = np.where(rng.random(500) < 0.1, 1, rng.integers(2, persons, 500))
    transactions = [
        {
            "transaction_id": t + 1,
            "transaction_date": dt.date(YEARS[t % 2], 1 + t % 12, 5),
            "subject_id": int(subj[t]),
            "subject_type": "person",
            "subject_buurt_code": buurt[int(subj[t]) - 1],
            "reporting_sector": ["bank", "money_transfer_office", "notary"][t % 3],
            "transaction_type": ["cash_deposit", "money_transfer", "crypto"][t % 3],
            "amount_eur": float(500 + (t * 7919) % 20_000) * (20 if subj[t] == 1 else 1),
            "cash": t % 2 == 0,
        }
        for t in range(500)
    ]
    companies = [
        {
            "year": y,
            "establishment_id": e + 1,
            "company_id": 1 + e // 2,
            "buurt_code": CODES[e % len(CODES)],
            "sbi_division": ["47", "56", "68", "01"][e % 4],
            "legal_form": ["private_limited", "sole_proprietorship"][e % 2],
            "founded_year": 2000,
            "employees": int(1 + (e * 13) % 40),
            "director_convicted": e % 19 == 0,
            "director_professional": e % 11 == 0,
        }
        for y in YEARS
        for e in range(300)
    ]
    return {
        "buurten": [{"buurt_code": c, "buurt_name": n, "wijk_code": w} for c, n, w in BUURTEN],
        "population": population,
        "dwellings": dwellings,
        "transfers": transfers,
        "plantations": plantations,
        "suspects": suspects,
        "transactions": transactions,
        "companies": companies,
    }


def build_release(tmp: Path):
    from loaders.load import load_directory

    src = write_tables(tmp / "input", tables())
    return load_directory(src, tmp / "home", secret=SECRET)
