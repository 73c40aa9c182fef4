"""How a load runs (memory limit, spilling, sort keys) never changes what it publishes: a
release of the synthetic data at a small scale has the same tables, values and record keys as
the one recorded in ``data/release_checksums.json``, and its facts are in region order."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from cube import rollups
from cube.model import load_catalog
from dimensions import regions
from layout.facts import FACTS, FactLayout
from loaders import build
from loaders.load import load_directory
from tests.loaders import release_checksums
from tests.loaders.load_fixtures import SECRET


@pytest.fixture(scope="module")
def db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return release_checksums.build(tmp_path_factory.mktemp("checksums"))


def test_the_release_is_the_recorded_one(db_path: Path) -> None:
    golden = json.loads(release_checksums.GOLDEN.read_text("utf-8"))
    got = release_checksums.checksums(db_path)
    assert sorted(got) == sorted(golden)
    for table, want in golden.items():
        assert got[table] == want, table


def test_a_tight_memory_limit_holds_and_publishes_the_same(
    db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every fact is built under the limit, and the release is the same as without it. Whether
    DuckDB spills at this size depends on the machine (its temporary files may also be gone by
    the time a statement returns), so the limit itself is what is checked."""
    limits: list[str] = []
    real = build.build_fact

    def build_fact(con: duckdb.DuckDBPyConnection, spec: FactLayout, key: str) -> None:
        real(con, spec, key)
        row = con.execute("SELECT current_setting('memory_limit')").fetchone()
        limits.append(str(row[0]) if row else "")

    monkeypatch.setattr(build, "build_fact", build_fact)
    monkeypatch.setenv("ZICHT_LOAD_MEMORY_LIMIT", "150MB")
    source = db_path.parents[3] / "in"  # the files the recorded release was loaded from
    tight = load_directory(source, tmp_path / "home", secret=SECRET).db_path
    assert len(limits) == len(FACTS) and set(limits) == {"143.0 MiB"}, limits  # 150 MB
    assert release_checksums.checksums(tight) == release_checksums.checksums(db_path)


def test_facts_built_in_parts_are_the_same_and_in_order(
    db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fact of more than ``PART_ROWS`` rows is built in parts by buurt ranges (population
    here in 6 parts, dwellings, whose holdings span parts, in 3): the same tables, in order."""
    parts: dict[str, int] = {}
    built_on: dict[str, list[str]] = {}  # per fact: what its parts' hash tables hold
    real, real_build = build._parts, build.build_fact

    def counted(con: duckdb.DuckDBPyConnection, spec: FactLayout) -> list[str]:
        found = real(con, spec)
        parts[spec.dataset] = len(found)
        return found

    def explained(con: duckdb.DuckDBPyConnection, spec: FactLayout, key: str) -> None:
        real_build(Explaining(con, built_on.setdefault(spec.dataset, [])), spec, key)

    monkeypatch.setattr(build, "PART_ROWS", 150_000)
    monkeypatch.setattr(build, "_parts", counted)
    monkeypatch.setattr(build, "build_fact", explained)
    source = db_path.parents[3] / "in"
    in_parts = load_directory(source, tmp_path / "home", secret=SECRET).db_path
    assert parts["population"] >= 5 and parts["dwellings"] >= 2 and parts["suspects"] == 1
    # A part streams through its joins: no hash table is built on the part's own rows (what
    # ran out of memory on a national input), only on the lookups and holding statistics.
    for dataset in ("population", "dwellings"):
        assert built_on[dataset], dataset
        own = [t for t in built_on[dataset] if "src_" in t or t.startswith("READ_")]
        assert own == [], built_on[dataset]  # the input file or its staged table
    assert "temp.main.hold" in built_on["dwellings"]
    assert release_checksums.checksums(in_parts) == release_checksums.checksums(db_path)
    with duckdb.connect(str(in_parts), read_only=True) as con:
        for spec in FACTS:
            role = spec.regions[0].name
            keys = f"{role}_gemeente, {role}_wijk, {role}_buurt, year"
            rows = con.execute(f"SELECT {keys} FROM {spec.table}").fetchall()
            assert rows == sorted(rows), spec.table


class Explaining:
    """A connection that notes the tables each fact statement builds hash tables on."""

    def __init__(self, con: duckdb.DuckDBPyConnection, built_on: list[str]) -> None:
        self.con, self.built_on = con, built_on

    def execute(self, sql: str, *args: Any) -> Any:
        if sql.startswith(("CREATE TABLE rel.", "INSERT INTO rel.")):
            row = self.con.execute(f"EXPLAIN (FORMAT JSON) {sql}").fetchone()
            self.built_on += _build_sides(json.loads(row[1]) if row else [])
        return self.con.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.con, name)


def _build_sides(nodes: list[dict[str, Any]]) -> list[str]:
    """The tables scanned on the build side (the right child) of every hash join."""
    out: list[str] = []
    for node in nodes:
        if node["name"] == "HASH_JOIN":
            out += _tables(node["children"][1:])
        out += _build_sides(node["children"])
    return out


def _tables(nodes: list[dict[str, Any]]) -> list[str]:
    leaves = [n for n in nodes if not n["children"]]
    found = [str(n["extra_info"].get("Table", n["name"])).replace('"', "") for n in leaves]
    return found + [t for n in nodes for t in _tables(n["children"])]


@pytest.mark.parametrize("spec", FACTS, ids=lambda f: f.table)
def test_facts_are_sorted_by_region_then_year(db_path: Path, spec: FactLayout) -> None:
    table, role = spec.table, spec.regions[0].name
    keys = [f"{role}_gemeente", f"{role}_wijk", f"{role}_buurt", "year"]
    order = ", ".join(keys)
    with duckdb.connect(str(db_path), read_only=True) as con:
        rows = con.execute(f"SELECT {order} FROM {table}").fetchall()
    assert rows, table
    assert rows == sorted(rows)


def test_every_wijk_code_holds_its_gemeente_code() -> None:
    """What lets the facts be sorted on the buurt id alone (``loaders/build.py``)."""
    wrong = [w.code for w in regions.wijken() if "GM" + w.code[2:6] != w.gemeente_code]
    assert wrong == []


@pytest.fixture(scope="module")
def built_rollups(
    db_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, dict[str, Any]]]:
    """The rollups built once for the release, and their checksums."""
    out = tmp_path_factory.mktemp("rollups")
    got = release_checksums.rollup_checksums(db_path, out)  # builds them into ``out``
    return out / rollups.FILE, got


@pytest.fixture(scope="module")
def rollup_path(built_rollups: tuple[Path, dict[str, dict[str, Any]]]) -> Path:
    return built_rollups[0]


def test_the_rollups_are_the_recorded_ones(
    built_rollups: tuple[Path, dict[str, dict[str, Any]]],
) -> None:
    """How the rollups are built never changes what they hold (``cube/rollups.py``)."""
    golden = json.loads(release_checksums.ROLLUP_GOLDEN.read_text("utf-8"))
    got = built_rollups[1]
    assert sorted(got) == sorted(golden)
    for table, want in golden.items():
        assert got[table] == want, table


def test_rollups_built_twice_are_identical_to_the_last_bit(
    db_path: Path, rollup_path: Path, tmp_path: Path
) -> None:
    again, _, _ = rollups.build(db_path, db_path.parent.name, load_catalog(), tmp_path)
    first = release_checksums.checksums(rollup_path, frozenset())
    assert release_checksums.checksums(again, frozenset()) == first


def test_rollup_tables_are_stored_in_their_order(rollup_path: Path) -> None:
    """Year first, then the rollup's columns (the per-holding table: then the holding), as
    written; the engine's scans of a year or a region rely on it."""
    with duckdb.connect(str(rollup_path), read_only=True) as con:
        listed = con.execute(
            "SELECT singles, multis, bounds, columns FROM rollup_catalog"
        ).fetchall()
        assert listed
        for singles, multis, bounds, columns in listed:
            order = ['"year"'] + [f'"{c}"' for c in columns if c != "year"]
            for table, keys in ((singles, order), (multis, [*order, "holding"]), (bounds, order)):
                out_of_order = con.execute(
                    f"SELECT count(*) FROM (SELECT rowid, row_number() OVER "
                    f'(ORDER BY {", ".join(keys)}, rowid) - 1 AS pos FROM "{table}") '
                    f"WHERE pos <> rowid"
                ).fetchone()
                assert out_of_order == (0,), table
