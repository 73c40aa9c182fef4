"""Order-independent checksums of a release's tables, to show that a change of how a load is
run leaves what it publishes exactly as it was.

Per table: its columns with their types, its row count and the sum over rows of the first 60
bits of MD5 of the row as DuckDB prints it (a sum, so the order of rows does not matter).
``python -m tests.loaders.release_checksums`` prints them for the synthetic data at
``SCALE``/``SEED`` as loaded by the current code: run it to record a deliberate change of the
release (a generator or layout change) in ``data/release_checksums.json``. With ``--rollups``
it prints those of the release's rollups (``cube/rollups.py``) instead, for
``data/rollup_checksums.json`` (a change of the rollups declared in ``cube/models``).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import duckdb

from cube import rollups
from cube.model import load_catalog
from loaders.load import load_directory
from loaders.synthetic import generate
from tests.loaders.load_fixtures import SECRET

SCALE = 0.005
SEED = 7
GOLDEN = Path(__file__).parent / "data" / "release_checksums.json"
ROLLUP_GOLDEN = Path(__file__).parent / "data" / "rollup_checksums.json"
SKIPPED = frozenset({"meta"})  # release id and creation time: different on every load
# Columns naming the release a table was built for: a new id on every load.
UNSTABLE = {"rollup_catalog": "release"}


def checksums(
    db_path: Path, skipped: frozenset[str] = SKIPPED, digits: int | None = None
) -> dict[str, dict[str, Any]]:
    """Columns, row count and row-hash sum of every table but ``skipped``; with ``digits``,
    DOUBLE values are rounded to that many decimals first."""
    out: dict[str, dict[str, Any]] = {}
    with duckdb.connect(str(db_path), read_only=True) as con:
        tables = [r[0] for r in con.execute("SHOW TABLES").fetchall()]
        for table in sorted(set(tables) - skipped):
            columns = con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = $t ORDER BY ordinal_position",
                {"t": table},
            ).fetchall()
            values = [
                f'round("{name}", {digits}) AS "{name}"'
                if digits is not None and dtype == "DOUBLE"
                else f'"{name}"'
                for name, dtype in columns
                if name != UNSTABLE.get(table)
            ]
            rows = f'(SELECT {", ".join(values)} FROM "{table}")'
            row = con.execute(
                f"SELECT count(*), CAST(coalesce(sum(CAST(('0x' || substr(md5(CAST(t AS VARCHAR)), "
                f"1, 15)) AS BIGINT)), 0) AS VARCHAR) FROM {rows} t"
            ).fetchone()
            assert row is not None
            out[table] = {
                "columns": [f"{name} {dtype}" for name, dtype in columns],
                "rows": int(row[0]),
                "row_hash_sum": row[1],
            }
    return out


def build(root: Path) -> Path:
    """Generate the synthetic data at ``SCALE``/``SEED`` into ``root/in`` and load them into
    ``root/home``; the release database."""
    generate(root / "in", scale=SCALE, seed=SEED)
    return load_directory(root / "in", root / "home", secret=SECRET).db_path


def rollup_checksums(db_path: Path, out_dir: Path) -> dict[str, dict[str, Any]]:
    """The checksums of the rollups built for the release at ``db_path`` into ``out_dir``.
    Their only fractions, the bounds' ``lb`` (a sum of 1/rows-of-holding), are compared to 9
    decimals: built with threads adding in any order, their last bits differed between two
    builds of the same release."""
    release_id = db_path.parent.name
    path, _, _ = rollups.build(db_path, release_id, load_catalog(), out_dir)
    return checksums(path, frozenset(), digits=9)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        db = build(Path(tmp))
        if "--rollups" in sys.argv[1:]:
            (Path(tmp) / "rollups").mkdir()
            got = rollup_checksums(db, Path(tmp) / "rollups")
        else:
            got = checksums(db)
        json.dump(got, sys.stdout, indent=1, sort_keys=True)
        sys.stdout.write("\n")
