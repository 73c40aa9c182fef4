"""Transactions declared suspicious by FIU-NL: yearly counts and totals as published, heavy-tailed
per subject (a few subjects with very many transactions and huge amounts: dominance matters).

Subjects are persons (earlier drug suspects strongly over-represented) or companies
(cash-intensive sectors and directors with a conviction over-represented).
"""

from __future__ import annotations

import numpy as np

from loaders.synthetic import params
from loaders.synthetic.companies import Establishments
from loaders.synthetic.geography import Geography
from loaders.synthetic.population import Population
from loaders.synthetic.sampling import (
    allocate,
    day_numbers,
    pareto_weights,
    sample_without_replacement,
)
from loaders.synthetic.writer import Coded

SECTORS = (
    "bank", "money_transfer_office", "crypto_provider", "trust_office", "notary",
    "car_dealer", "real_estate_agent", "casino", "other",
)  # fmt: skip
TYPES = (
    "cash_deposit",
    "cash_purchase",
    "money_transfer",
    "bank_transfer",
    "crypto",
    "currency_exchange",
)
# Transaction type given the reporting sector (rows follow SECTORS, columns TYPES).
_TYPE_GIVEN_SECTOR = np.array([
    [0.45, 0.00, 0.00, 0.50, 0.02, 0.03],
    [0.05, 0.00, 0.90, 0.00, 0.00, 0.05],
    [0.00, 0.00, 0.00, 0.05, 0.95, 0.00],
    [0.00, 0.00, 0.00, 1.00, 0.00, 0.00],
    [0.00, 0.20, 0.00, 0.80, 0.00, 0.00],
    [0.00, 1.00, 0.00, 0.00, 0.00, 0.00],
    [0.00, 0.40, 0.00, 0.60, 0.00, 0.00],
    [0.30, 0.00, 0.00, 0.00, 0.00, 0.70],
    [0.20, 0.30, 0.10, 0.30, 0.05, 0.05],
])  # fmt: skip
PERSON_SHARE = 0.7
_FIELDS = ("day", "subject", "stype", "buurt", "sector", "ttype", "amount", "cash")


class TransactionRegister:
    def __init__(self) -> None:
        self._parts: dict[str, list[np.ndarray]] = {f: [] for f in _FIELDS}

    def add_year(
        self,
        pop: Population,
        est: Establishments,
        scale: float,
        rng: np.random.Generator,
    ) -> None:
        count, total = params.FIU_PER_YEAR[pop.year]
        n = round(count * scale)
        if n == 0:
            return
        subj, stype, buurt, size = _subjects(pop, est, n, rng)
        per_subject = 1 + allocate(n - len(subj), pareto_weights(len(subj), 1.1, rng) * size, rng)
        s = np.repeat(np.arange(len(subj)), per_subject)
        sector = _sectors(pop.year, len(s), rng)
        ttype = _types(sector, rng)
        amount = rng.lognormal(9.6, 1.5, len(s)) * np.repeat(size, per_subject)
        amount = np.round(amount / amount.sum() * total * scale, 2)
        values = {
            "day": day_numbers(pop.year, rng, len(s)),
            "subject": subj[s],
            "stype": stype[s],
            "buurt": buurt[s],
            "sector": sector,
            "ttype": ttype,
            "amount": amount,
            "cash": np.isin(ttype, (0, 1, 5)) | ((ttype == 2) & (rng.random(len(s)) < 0.7)),
        }
        for f in _FIELDS:
            self._parts[f].append(values[f])

    def columns(self, geo: Geography) -> dict[str, object]:
        v = {f: np.concatenate(p) for f, p in self._parts.items()}
        return {
            "transaction_id": np.arange(1, len(v["day"]) + 1, dtype=np.int64),
            "transaction_date": v["day"],
            "subject_id": v["subject"],
            "subject_type": Coded(v["stype"], ("person", "company")),
            "subject_buurt_code": Coded(v["buurt"], geo.b_code),
            "reporting_sector": Coded(v["sector"], SECTORS),
            "transaction_type": Coded(v["ttype"], TYPES),
            "amount_eur": v["amount"],
            "cash": v["cash"],
        }


def _subjects(
    pop: Population, est: Establishments, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Subject ids, types (0 person, 1 company), buurten and a size multiplier for amounts."""
    n_subj = max(1, round(n / params.FIU_TRANSACTIONS_PER_SUBJECT))
    n_pers = round(n_subj * PERSON_SHARE)
    age = pop.age
    decile = pop.h_decile[pop.p_hh]
    w = ((age >= 18) & (age < 80)).astype(np.float64)
    w *= np.where(pop.p_suspect > 0, 40.0, 1.0) * np.where((decile == 10) | (decile <= 2), 2.0, 1.0)
    persons = sample_without_replacement(w, n_pers, rng)
    m = np.flatnonzero(est.in_stock(pop.year))
    wc = np.where(est.cash_intensive[m], 5.0, 1.0) * np.where(est.convicted[m], 20.0, 1.0)
    wc *= np.where(est.professional[m], 4.0, 1.0)
    picked = m[sample_without_replacement(wc, 2 * (n_subj - n_pers), rng)]
    _, first = np.unique(est.company_id[picked], return_index=True)
    companies = picked[np.sort(first)][: n_subj - len(persons)]
    ids = np.concatenate((pop.p_id[persons], est.company_id[companies]))
    stype = np.concatenate((np.zeros(len(persons), np.int64), np.ones(len(companies), np.int64)))
    buurt = np.concatenate((pop.buurt[persons], est.buurt[companies]))
    size = np.concatenate((np.ones(len(persons)), 1.0 + np.log1p(est.employees[companies])))
    return ids, stype, buurt, size


def _sectors(year: int, n: int, rng: np.random.Generator) -> np.ndarray:
    # Crypto providers report more and more after they came under supervision (2020).
    crypto = 0.01 if year < 2020 else 0.01 + 0.03 * (year - 2019)
    p = np.array([0.45, 0.25, crypto, 0.03, 0.03, 0.05, 0.03, 0.04, 0.12 - crypto / 2])
    return rng.choice(len(SECTORS), size=n, p=p / p.sum()).astype(np.int64)


def _types(sector: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    cum = np.cumsum(_TYPE_GIVEN_SECTOR, axis=1)[sector]
    u = rng.random(len(sector))[:, None]
    return np.minimum((u > cum).sum(axis=1), len(TYPES) - 1).astype(np.int64)
