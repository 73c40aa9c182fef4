"""``generate(first_year=...)``: fewer years written, each row one of the full run's rows."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from loaders.contracts import DATASETS
from loaders.stage import find_sources, stage_source
from loaders.synthetic import generate, params
from loaders.validate import validate

SCALE = 0.002
DATES = {
    "plantations": "cleared_date",
    "suspects": "registration_date",
    "transactions": "transaction_date",
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("years")
    generate(root / "full", scale=SCALE, seed=4)
    generate(root / "late", scale=SCALE, seed=4, first_year=2021)
    return root / "full", root / "late"


def rows(directory: Path, name: str) -> set[tuple]:
    table = pq.read_table(directory / f"{name}.parquet")
    return set(zip(*(c.to_pylist() for c in table.columns), strict=True))


def year_of(row_value) -> int:
    return row_value if isinstance(row_value, int) else row_value.year


@pytest.mark.parametrize("name", [d.name for d in DATASETS if d.name != "buurten"])
def test_the_late_run_is_the_full_run_from_its_first_year(runs, name):
    full, late = runs
    schema = pq.read_schema(full / f"{name}.parquet")
    column = "year" if "year" in schema.names else DATES.get(name)
    got, all_rows = rows(late, name), rows(full, name)
    if column is None:  # transfers: every year, the doorsluiswoning indicator needs them
        assert got == all_rows
        return
    at = schema.names.index(column)
    expected = {r for r in all_rows if year_of(r[at]) >= 2021}
    assert got == expected and got
    assert min(year_of(r[at]) for r in got) == 2021
    assert max(year_of(r[at]) for r in got) == params.LAST_YEAR


def test_the_late_run_honours_the_contract(runs, tmp_path):
    # Every reference (a plantation's resident, a suspect, a sold dwelling) still resolves.
    _full, late = runs
    sources, problems = find_sources(late)
    with duckdb.connect(str(tmp_path / "v.duckdb")) as con:
        for src in sources:
            assert stage_source(con, src) is None
        problems += validate(con, sources)
    assert [str(p) for p in problems] == []


@pytest.mark.parametrize("first_year", [params.FIRST_YEAR - 1, params.LAST_YEAR + 1])
def test_a_first_year_outside_the_simulated_years_is_refused(tmp_path, first_year):
    with pytest.raises(ValueError, match="first_year must be between"):
        generate(tmp_path, scale=SCALE, seed=1, first_year=first_year)
