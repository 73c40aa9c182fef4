"""Record keys: deterministic per secret and record, computed alike in SQL and Python, and the
secret never reaches the release."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from loaders.keys import SecretError, dataset_key, derive_key, record_key, record_key_sql
from loaders.load import load_directory
from loaders.releases import Release
from tests.loaders.load_fixtures import SECRET, valid_tables, write_tables


def _keys(release: Release, table: str, ids: str) -> dict[object, int]:
    with duckdb.connect(str(release.db_path), read_only=True) as con:
        return dict(con.execute(f"SELECT {ids}, record_key FROM {table}").fetchall())


def _load(tmp_path: Path, name: str, secret: bytes) -> Release:
    src = tmp_path / "in"
    if not src.exists():
        write_tables(src, valid_tables())
    return load_directory(src, tmp_path / name, secret=secret)


def test_sql_and_python_agree() -> None:
    k = derive_key(SECRET)
    sql = record_key_sql(k, "population", ("person_id", "year"))
    got = duckdb.sql(
        f"SELECT {sql} FROM (SELECT 123456789012 AS person_id, 2023 AS year)"
    ).fetchone()
    assert got == (record_key(k, "population", (123456789012, 2023)),)


def test_key_range_and_spread() -> None:
    k = derive_key(SECRET)
    keys = {record_key(k, "suspects", (i,)) for i in range(2000)}
    assert len(keys) == 2000  # no collisions among a few thousand (p ~ 5e-4)
    assert all(0 <= x < 2**32 for x in keys)
    assert max(keys) > 2**31  # uses the full 32 bits


def test_key_depends_on_secret_dataset_and_id() -> None:
    a, b = derive_key(SECRET), derive_key(SECRET + b"!")
    assert record_key(a, "suspects", (1,)) != record_key(b, "suspects", (1,))
    assert record_key(a, "suspects", (1,)) != record_key(a, "transactions", (1,))
    assert record_key(a, "population", (1, 2022)) != record_key(a, "population", (1, 2023))


def test_weak_secret_refused() -> None:
    with pytest.raises(SecretError, match="at least 16 bytes"):
        derive_key(b"short")


def test_reload_gives_the_same_keys_and_another_secret_others(tmp_path: Path) -> None:
    first = _load(tmp_path, "home1", SECRET)
    again = _load(tmp_path, "home2", SECRET)
    other = _load(tmp_path, "home3", b"another-secret-0123456789")
    ids = "(person_id, year)"
    assert _keys(first, "fact_population", ids) == _keys(again, "fact_population", ids)
    assert _keys(first, "fact_suspects", "registration_id") == _keys(
        again, "fact_suspects", "registration_id"
    )
    differ = (
        _keys(first, "fact_population", ids).items() ^ _keys(other, "fact_population", ids).items()
    )
    assert len(differ) == 2 * 16
    expected = record_key(derive_key(SECRET), "population", (3, 2022))
    assert _keys(first, "fact_population", ids)[(3, 2022)] == expected


def test_secret_is_not_written_anywhere(tmp_path: Path) -> None:
    secret = b"Very-Distinctive-Secret-4711-XYZ"
    home = tmp_path / "home"
    write_tables(tmp_path / "in", valid_tables())
    load_directory(tmp_path / "in", home, secret=secret)
    master = derive_key(secret)
    needles = [secret, secret.decode("ascii").encode("utf-16-le"), master.encode()]
    needles += [dataset_key(master, name).encode() for name in valid_tables()]
    files = [p for p in home.rglob("*") if p.is_file()]
    assert any(p.name == "release.duckdb" for p in files)
    for path in files:
        data = path.read_bytes()
        assert not any(n in data for n in needles), path
