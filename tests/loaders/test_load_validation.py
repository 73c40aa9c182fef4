"""Every kind of load problem is found, located (file, row, column) and explained."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from loaders import validate
from loaders.contracts import DATASETS
from loaders.load import LoadError, load_directory
from loaders.problems import LoadProblem
from loaders.validate import MAX_EXAMPLES
from tests.loaders.load_fixtures import SECRET, valid_tables, write_tables

Tables = dict[str, list[dict[str, Any]]]


def _problems(
    tmp_path: Path, tables: Tables, csv: set[str] | None = None, raw: bool = False
) -> list[LoadProblem]:
    src = write_tables(tmp_path / "in", tables, csv=csv or {"buurten"}, raw=raw)
    home = tmp_path / "home"
    with pytest.raises(LoadError) as info:
        load_directory(src, home, secret=SECRET)
    # A refused load publishes nothing and leaves no staging behind.
    assert not (home / "current").exists()
    assert not (home / "releases").exists() or not any((home / "releases").iterdir())
    assert not any((home / "staging").iterdir())
    return info.value.problems


def _has(
    problems: list[LoadProblem], file: str, row: int | None, column: str | None, text: str
) -> None:
    hits = [
        p
        for p in problems
        if p.file == file and p.row == row and p.column == column and text in p.message
    ]
    assert hits, f"no problem {file}:{row}:{column} containing {text!r} in:\n" + "\n".join(
        map(str, problems)
    )


def test_missing_file(tmp_path: Path) -> None:
    tables = valid_tables()
    del tables["companies"]
    _has(
        _problems(tmp_path, tables),
        "companies.parquet",
        None,
        None,
        "missing file (expected companies.parquet or companies.csv)",
    )


def test_parquet_and_csv_for_the_same_dataset(tmp_path: Path) -> None:
    write_tables(tmp_path / "in", {"companies": valid_tables()["companies"]}, csv={"companies"})
    _has(
        _problems(tmp_path, valid_tables()),
        "companies.*",
        None,
        None,
        "both a .parquet and a .csv file",
    )


def test_unreadable_file(tmp_path: Path) -> None:
    src = write_tables(tmp_path / "in", valid_tables())
    (src / "suspects.parquet").write_bytes(b"this is not parquet at all")
    with pytest.raises(LoadError) as info:
        load_directory(src, tmp_path / "home", secret=SECRET)
    _has(info.value.problems, "suspects.parquet", None, None, "cannot be read as a Parquet file")


def test_damaged_file_reported_once(tmp_path: Path) -> None:
    src = write_tables(tmp_path / "in", valid_tables())
    path = src / "population.parquet"
    data = bytearray(path.read_bytes())
    data[8:400] = b"\xab" * 392  # garble the first data pages, keep the footer readable
    path.write_bytes(bytes(data))
    with pytest.raises(LoadError) as info:
        load_directory(src, tmp_path / "home", secret=SECRET)
    assert [str(p) for p in info.value.problems] == [
        "population.parquet: could not be read completely (damaged file?)"
    ]


def test_missing_column(tmp_path: Path) -> None:
    tables = valid_tables()
    for row in tables["population"]:
        del row["tenure"]
    _has(_problems(tmp_path, tables), "population.parquet", None, "tenure", "missing column")


def test_extra_column_is_a_warning_and_ignored(tmp_path: Path) -> None:
    tables = valid_tables()
    for row in tables["companies"]:
        row["remark"] = "x"
    src = write_tables(tmp_path / "in", tables, raw=True)
    release = load_directory(src, tmp_path / "home", secret=SECRET)
    assert release.manifest["warnings"] == [
        "companies.parquet column remark: warning: unexpected column (ignored)"
    ]


def test_wrong_type_in_csv(tmp_path: Path) -> None:
    tables = valid_tables()
    tables["population"][2]["age"] = "abc"
    tables["population"][4]["age"] = 70000  # does not fit int16
    tables["population"][5]["household_id"] = "3.5"  # a cast would round it
    problems = _problems(tmp_path, tables, csv={"buurten", "population"}, raw=True)
    _has(problems, "population.csv", 6, "household_id", "value '3.5' is not of type int64")
    _has(problems, "population.csv", 3, "age", "value 'abc' is not of type int16")
    _has(problems, "population.csv", 5, "age", "value '70000' is not of type int16")


def test_fraction_in_an_integer_column_of_a_parquet_file(tmp_path: Path) -> None:
    tables = valid_tables()
    for i, row in enumerate(tables["companies"]):
        row["employees"] = 7.25 if i == 1 else float(row["employees"])
    problems = _problems(tmp_path, tables, raw=True)
    _has(problems, "companies.parquet", 2, "employees", "value '7.25' is not of type int32")
    assert len(problems) == 1  # whole numbers stored as floats are fine


def test_incompatible_column_type(tmp_path: Path) -> None:
    tables = valid_tables()
    for row in tables["companies"]:
        row["employees"] = [1, 2]
    _has(
        _problems(tmp_path, tables, raw=True),
        "companies.parquet",
        None,
        "employees",
        "column has type BIGINT[], expected int32",
    )


def test_empty_required_value(tmp_path: Path) -> None:
    tables = valid_tables()
    tables["suspects"][1]["sex"] = None
    _has(
        _problems(tmp_path, tables),
        "suspects.parquet",
        2,
        "sex",
        "empty value in a required column",
    )


def test_code_not_in_code_list(tmp_path: Path) -> None:
    tables = valid_tables()
    tables["population"][0]["sex"] = "X"
    tables["companies"][3]["sbi_division"] = "00"
    problems = _problems(tmp_path, tables)
    _has(problems, "population.parquet", 1, "sex", "value 'X' is not in the code list sex")
    _has(
        problems,
        "companies.parquet",
        4,
        "sbi_division",
        "value '00' is not in the code list sbi_division",
    )


def test_unknown_region_code(tmp_path: Path) -> None:
    tables = valid_tables()
    tables["dwellings"][5]["buurt_code"] = "BU99990101"
    _has(
        _problems(tmp_path, tables),
        "dwellings.parquet",
        6,
        "buurt_code",
        "unknown region code 'BU99990101' (not in buurten)",
    )


def test_buurt_in_unknown_wijk_or_wrong_wijk_or_malformed(tmp_path: Path) -> None:
    tables = valid_tables()
    tables["buurten"] += [
        {"buurt_code": "BU99999901", "buurt_name": "Nergens", "wijk_code": "WK999999"},
        {"buurt_code": "BU00140003", "buurt_name": "Verdwaald", "wijk_code": "WK0363AA"},
        {"buurt_code": "BU123", "buurt_name": "Kort", "wijk_code": "WK001400"},
    ]
    problems = _problems(tmp_path, tables)
    _has(
        problems,
        "buurten.csv",
        5,
        "wijk_code",
        "unknown wijk code 'WK999999' (not a 2023 CBS wijk)",
    )
    _has(
        problems,
        "buurten.csv",
        6,
        "buurt_code",
        "buurt code 'BU00140003' does not lie in its wijk_code",
    )
    _has(problems, "buurten.csv", 7, "buurt_code", "buurt code 'BU123' is not BU + 8 characters")


def test_impossible_dates(tmp_path: Path) -> None:
    tables = valid_tables()
    tables["transfers"][0]["transfer_date"] = "2023-02-30"
    tables["transfers"][1]["transfer_date"] = "1979-12-31"
    problems = _problems(tmp_path, tables, csv={"buurten", "transfers"}, raw=True)
    _has(
        problems,
        "transfers.csv",
        1,
        "transfer_date",
        "value '2023-02-30' is not a valid date (YYYY-MM-DD)",
    )
    _has(
        problems,
        "transfers.csv",
        2,
        "transfer_date",
        "impossible date '1979-12-31': outside the years 1980-2030",
    )


def test_date_out_of_range_in_parquet(tmp_path: Path) -> None:
    tables = valid_tables()
    tables["plantations"][1]["cleared_date"] = dt.date(2031, 1, 1)
    _has(
        _problems(tmp_path, tables),
        "plantations.parquet",
        2,
        "cleared_date",
        "outside the years 2000-2030",
    )


def test_negative_amount_and_out_of_range(tmp_path: Path) -> None:
    tables = valid_tables()
    tables["transactions"][2]["amount_eur"] = -5.0
    tables["population"][7]["age"] = 130
    tables["population"][8]["year"] = 1990
    problems = _problems(tmp_path, tables)
    _has(problems, "transactions.parquet", 3, "amount_eur", "value '-5.0' is below the minimum 0")
    _has(problems, "population.parquet", 8, "age", "value '130' is above the maximum 120")
    _has(problems, "population.parquet", 9, "year", "value '1990' is below the minimum 2000")


def test_duplicate_key(tmp_path: Path) -> None:
    tables = valid_tables()
    tables["population"][5]["person_id"] = 1  # row 6 repeats (1, 2022) of row 1
    tables["transactions"][4]["transaction_id"] = 2
    problems = _problems(tmp_path, tables)
    _has(
        problems,
        "population.parquet",
        6,
        "person_id,year",
        "duplicate key (person_id, year): 2 rows share it, first at row 1",
    )
    _has(
        problems,
        "transactions.parquet",
        5,
        "transaction_id",
        "duplicate key transaction_id: 2 rows share it, first at row 2",
    )


def test_dangling_reference(tmp_path: Path) -> None:
    tables = valid_tables()
    tables["suspects"][2]["person_id"] = 999
    tables["transfers"][3]["dwelling_id"] = 77
    tables["plantations"][0]["resident_person_id"] = 4242
    problems = _problems(tmp_path, tables)
    _has(
        problems,
        "suspects.parquet",
        3,
        "person_id",
        "value '999' not found in population.person_id (dangling reference)",
    )
    _has(
        problems,
        "transfers.parquet",
        4,
        "dwelling_id",
        "value '77' not found in dwellings.dwelling_id",
    )
    _has(
        problems,
        "plantations.parquet",
        1,
        "resident_person_id",
        "value '4242' not found in population.person_id",
    )


def test_reference_across_csv_and_parquet(tmp_path: Path) -> None:
    """A CSV (text) column referring to a Parquet (integer) column is compared as integers."""
    tables = valid_tables()
    tables["suspects"][0]["person_id"] = 31337
    problems = _problems(tmp_path, tables, csv={"buurten", "suspects"})
    _has(
        problems, "suspects.csv", 1, "person_id", "value '31337' not found in population.person_id"
    )
    assert len(problems) == 1


def test_all_problems_collected_and_capped(tmp_path: Path) -> None:
    tables = valid_tables()
    more = [
        dict(tables["population"][0], person_id=1000 + i, sex="Q") for i in range(MAX_EXAMPLES + 5)
    ]
    tables["population"] += more
    tables["companies"][0]["legal_form"] = "pirate_ship"
    del tables["transfers"]
    problems = _problems(tmp_path, tables)
    sex = [p for p in problems if p.file == "population.parquet" and p.column == "sex"]
    assert len(sex) == MAX_EXAMPLES + 1
    assert [p.row for p in sex[:MAX_EXAMPLES]] == list(range(17, 17 + MAX_EXAMPLES))
    assert sex[-1].row is None and sex[-1].message == "and 5 more rows with the same problem"
    _has(problems, "companies.parquet", 1, "legal_form", "not in the code list legal_form")
    _has(problems, "transfers.parquet", None, None, "missing file")


def test_files_checked_side_by_side_report_as_one_after_the_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two files are checked at a time, the largest first; the report is the same as
    checking one file after the other: every problem, in the order of the files."""
    tables = valid_tables()
    tables["population"][5]["person_id"] = 1  # a duplicate key
    tables["population"][2]["sex"] = "Q"
    tables["companies"][0]["legal_form"] = "pirate_ship"
    tables["suspects"][2]["person_id"] = 999  # a dangling reference
    tables["transactions"][4]["transaction_id"] = 2
    tables["buurten"][1]["wijk_code"] = "WK999999"
    side_by_side = _problems(tmp_path / "a", tables)
    monkeypatch.setattr(validate, "WORKERS", 1)
    one_by_one = _problems(tmp_path / "b", tables)
    assert [str(p) for p in side_by_side] == [str(p) for p in one_by_one]
    files = [p.file for p in side_by_side]
    assert set(files) == {
        "buurten.csv",
        "population.parquet",
        "suspects.parquet",
        "transactions.parquet",
        "companies.parquet",
    }
    own = files[: files.index("suspects.parquet")]  # the references come last
    contract = [f"{ds.file.split('.')[0]}." for ds in DATASETS]
    assert own == sorted(own, key=lambda f: contract.index(f.split(".")[0] + "."))


def test_problem_text_names_place_and_cause() -> None:
    p = LoadProblem("population.csv", 3, "age", "value 'abc' is not of type int16")
    assert str(p) == "population.csv row 3 column age: value 'abc' is not of type int16"


def test_not_a_directory(tmp_path: Path) -> None:
    with pytest.raises(LoadError) as info:
        load_directory(tmp_path / "nope", tmp_path / "home", secret=SECRET)
    assert info.value.problems[0].message == "not a directory"


def test_running_out_of_memory_is_said_as_such_not_as_a_damaged_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZICHT_LOAD_MEMORY_LIMIT", "1MB")
    problems = _problems(tmp_path, valid_tables())
    assert [p.message for p in problems] == [
        "the database engine ran out of memory (the load's limit is 1MB, setting "
        "ZICHT_LOAD_MEMORY_LIMIT); nothing is wrong with the files"
    ]
