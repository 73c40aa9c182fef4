"""Cheap contract checks on each generated batch, before it is written.

The loader validates every file in full, but only after the whole generator has run (at
national scale, many minutes later). These checks use only numpy over arrays already in
memory, so a generator bug (an age above the contract's maximum, a code outside its list, an
empty required value) stops the run at the batch that has it, in seconds, with every problem
of that batch listed at once. They mirror the row-level checks of ``loaders.validate`` that
can be decided per batch; keys and references stay with the loader.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from dimensions import codelists
from loaders import contracts, reference

_EPOCH = dt.date(1970, 1, 1).toordinal()


@dataclass(frozen=True, slots=True)
class BatchProblem:
    dataset: str
    column: str
    message: str

    def __str__(self) -> str:
        return f"{self.dataset}.{self.column}: {self.message}"


class GeneratedDataError(ValueError):
    """The generator produced data its own contract refuses (a bug in the generator)."""

    def __init__(self, problems: Sequence[BatchProblem]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"generated data break the contract:\n{lines}")


def check_batch(dataset: contracts.Dataset, columns: Mapping[str, Any]) -> list[BatchProblem]:
    """Every problem of one batch of generated columns (coded or plain numpy arrays)."""
    out: list[BatchProblem] = []
    for column in dataset.columns:
        value = columns[column.name]
        if _is_coded(value):
            messages = _coded(column, value.codes, value.labels)
        else:
            messages = _plain(column, np.asarray(value))
        out += [BatchProblem(dataset.name, column.name, m) for m in messages]
    return out


def _is_coded(value: Any) -> bool:
    return hasattr(value, "codes") and hasattr(value, "labels")


def _coded(column: contracts.Column, codes: np.ndarray, labels: Sequence[str]) -> list[str]:
    out = []
    if len(codes) and int(codes.max(initial=-1)) >= len(labels):
        out.append("code index beyond its labels")
    if not column.nullable and len(codes) and int(codes.min()) < 0:
        out.append(f"{int(np.count_nonzero(codes < 0))} empty values in a required column")
    if column.codelist:
        used = np.unique(codes[(codes >= 0) & (codes < len(labels))])
        bad = sorted({labels[i] for i in used} - _allowed(column.codelist))
        if bad:
            out.append(f"values {bad[:5]} not in the code list {column.codelist}")
    return out


def _allowed(codelist: str) -> frozenset[str]:
    if codelist == "sbi_division":
        return reference.sbi_divisions()
    return codelists.BY_NAME[codelist].values


def _plain(column: contracts.Column, data: np.ndarray) -> list[str]:
    if len(data) == 0 or column.type in ("string", "bool"):
        return []
    if column.nullable and data.dtype.kind in "iu":
        data = data[data != 0]  # integer nulls travel as 0 (see writer)
        if len(data) == 0:
            return []
    if data.dtype.kind == "f" and not column.nullable and np.isnan(data).any():
        return [f"{int(np.isnan(data).sum())} empty (NaN) values in a required column"]
    low, high = data.min(), data.max()
    if column.type == "date":
        return _date_range(column, int(low), int(high))
    out = []
    if column.min is not None and low < column.min:
        n = int(np.count_nonzero(data < column.min))
        out.append(f"{n} values below the minimum {column.min:g} (lowest {low})")
    if column.max is not None and high > column.max:
        n = int(np.count_nonzero(data > column.max))
        out.append(f"{n} values above the maximum {column.max:g} (highest {high})")
    return out


def _date_range(column: contracts.Column, low_day: int, high_day: int) -> list[str]:
    first = int(column.min) if column.min is not None else contracts.YEAR_MIN
    last = int(column.max) if column.max is not None else contracts.YEAR_MAX
    low = dt.date.fromordinal(_EPOCH + low_day).year
    high = dt.date.fromordinal(_EPOCH + high_day).year
    if first <= low and high <= last:
        return []
    return [f"dates from {low} to {high}, outside the contract years {first}-{last}"]
