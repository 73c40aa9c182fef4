"""The generator honours its own contract for every seed and scale, and fails fast when not.

Whole runs are cheap at small scales (about a second at 0.0005), so Hypothesis draws seeds and
scales for them. The tails that only show at national scale (millions of draws) are tested on
the population functions directly, with as many households as scale 1 has.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loaders import contracts
from loaders.stage import find_sources, stage_source
from loaders.synthetic import GeneratedDataError, generate, geography, population
from loaders.synthetic.conform import check_batch
from loaders.synthetic.writer import Coded, TableWriter
from loaders.validate import validate
from service.cli import main

SEEDS = st.integers(min_value=0, max_value=2**32 - 1)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=SEEDS, scale=st.sampled_from([0.0005, 0.001, 0.002]))
def test_every_seed_and_scale_writes_files_the_contract_accepts(tmp_path_factory, seed, scale):
    # generate() raises GeneratedDataError on any batch the contract refuses; the batch check
    # is itself tested below. Here: it never raises, every file has rows, and the loader's
    # full validation (also keys and references between files, which no batch can check)
    # finds nothing, not even a warning.
    out = tmp_path_factory.mktemp("prop")
    counts = generate(out, scale=scale, seed=seed)
    assert all(n > 0 for n in counts.values()), counts
    ages = pq.read_table(out / "population.parquet", columns=["age"])["age"].to_numpy()
    assert ages.min() >= 0 and ages.max() <= population.MAX_AGE
    assert _load_problems(out) == []


def _load_problems(directory: Path) -> list[str]:
    """Every problem ``zicht load`` would report for the files, without building a release."""
    sources, problems = find_sources(directory)
    with duckdb.connect() as con:
        for src in sources:
            problem = stage_source(con, src)
            problems += [problem] if problem else []
        problems += validate(con, sources)
    return [str(p) for p in problems]


def test_the_loader_check_used_above_sees_a_broken_key_and_reference(tmp_path):
    generate(tmp_path, scale=0.0005, seed=1)
    suspects = pq.read_table(tmp_path / "suspects.parquet")
    ids = suspects["person_id"].to_numpy().copy()
    ids[0] = 10**15  # nobody in the population
    suspects = suspects.set_column(
        suspects.schema.get_field_index("person_id"), "person_id", pa.array(ids)
    )
    pq.write_table(
        pa.concat_tables([suspects, suspects.slice(1, 1)]), tmp_path / "suspects.parquet"
    )
    problems = _load_problems(tmp_path)
    assert any("dangling reference" in p for p in problems), problems
    assert any("duplicate key registration_id" in p for p in problems), problems


@settings(max_examples=8, deadline=None)
@given(seed=SEEDS)
def test_household_heads_stay_below_the_maximum_age_at_national_size(seed):
    # Scale 1 has ~8 million households; the age tail that once gave 121-year-olds lives there.
    rng = np.random.default_rng(seed)
    types = rng.integers(0, len(population.HOUSEHOLD_TYPES), 8_000_000).astype(np.int8)
    heads = population._head_age(types, rng)
    assert heads.max() <= population.MAX_HEAD_AGE
    ageing = len(range(2015, 2025))
    assert population.MAX_HEAD_AGE + ageing <= population.MAX_AGE <= 120


def test_nobody_outlives_the_maximum_age():
    geo = geography.build(np.random.default_rng(1))
    pop = population.initial(geo, 0.0005, np.random.default_rng(2))
    pop.p_birth[:50] = pop.year - population.MAX_AGE  # turn MAX_AGE + 1 after one step
    ids = set(pop.p_id[:50].tolist())
    population.step(pop, geo, 0.0005, np.random.default_rng(3))
    assert not ids & set(pop.p_id.tolist())
    assert pop.age.max() <= population.MAX_AGE


def _population_batch(age: np.ndarray) -> dict[str, object]:
    n = len(age)
    return {
        "year": np.full(n, 2024, np.int16),
        "person_id": np.arange(1, n + 1, dtype=np.int64),
        "household_id": np.arange(1, n + 1, dtype=np.int64),
        "buurt_code": Coded(np.zeros(n, np.int64), ["BU03630001"]),
        "age": age,
        "sex": Coded(np.zeros(n, np.int64), ["M", "V"]),
        "household_type": Coded(np.zeros(n, np.int64), ["single"]),
        "income_decile": np.full(n, 3, np.int8),
        "tenure": Coded(np.zeros(n, np.int64), ["owner"]),
    }


def test_a_bad_batch_lists_every_problem_and_writes_nothing(tmp_path):
    batch = _population_batch(np.array([30, 121, 122, -1], np.int64))
    batch["sex"] = Coded(np.array([0, 1, -1, 1]), ["M", "X"])
    batch["income_decile"] = np.array([0, 11, 3, 3], np.int8)
    problems = [str(p) for p in check_batch(contracts.POPULATION, batch)]
    assert problems == [
        "population.age: 1 values below the minimum 0 (lowest -1)",
        "population.age: 2 values above the maximum 120 (highest 122)",
        "population.sex: 1 empty values in a required column",
        "population.sex: values ['X'] not in the code list sex",
        "population.income_decile: 1 values above the maximum 10 (highest 11)",
    ]
    writer = TableWriter(tmp_path, contracts.POPULATION)
    with pytest.raises(GeneratedDataError) as err:
        writer.write(batch)
    assert len(err.value.problems) == 5
    assert pq.read_metadata(tmp_path / "population.parquet").num_rows == 0


def test_dates_outside_the_contract_years_are_refused():
    day_2031 = (np.datetime64("2031-01-02") - np.datetime64("1970-01-01")).astype(np.int64)
    batch = {c.name: np.ones(1, np.int64) for c in contracts.PLANTATIONS.columns}
    batch["cleared_date"] = np.array([day_2031])
    batch["buurt_code"] = Coded(np.zeros(1, np.int64), ["BU03630001"])
    batch["premises_type"] = Coded(np.zeros(1, np.int64), ["dwelling"])
    problems = [str(p) for p in check_batch(contracts.PLANTATIONS, batch)]
    assert problems == [
        "plantations.cleared_date: dates from 2031 to 2031, outside the contract years 2000-2030"
    ]


def test_demo_stops_at_a_bad_batch_with_a_readable_error(tmp_path, monkeypatch):
    real = population._head_age

    def too_old(h_types, rng):
        return real(h_types, rng) + 200

    monkeypatch.setattr(population, "_head_age", too_old)
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(["--home", str(tmp_path), "demo", "--scale", "0.0005", "--seed", "3"])
    text = err.getvalue()
    assert code == 2
    assert "population.age" in text and "above the maximum 120" in text
    assert "contract refuses" in text and "Traceback" not in text
    assert not (tmp_path / "releases").exists()
