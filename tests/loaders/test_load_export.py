"""``loaders.export`` and ``zicht export``: partitioned Parquet with every column and row."""

from __future__ import annotations

import json

import duckdb
import pytest

from loaders.export import export_release, parquet_dir
from loaders.releases import get_release
from service.cli import main
from tests.cube.cube_fixtures import build_release


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    release = build_release(tmp_path_factory.mktemp("export"))
    return release, export_release(release)


def test_every_fact_row_and_column_is_exported_with_its_type(exported):
    release, done = exported
    con = duckdb.connect(str(release.db_path), read_only=True)
    out = parquet_dir(release.path, get_release(release.path.parents[1], release.id).manifest)
    assert out == release.path / "parquet"
    assert {d.fact for d in done} == {
        "fact_population", "fact_dwellings", "fact_plantations",
        "fact_suspects", "fact_transactions", "fact_companies",
    }  # fmt: skip
    for d in done:
        files = str(out / d.fact / "**" / "*.parquet")
        # the files alone (no directory names) carry every column with the release's types
        read = f"read_parquet('{files}', hive_partitioning = false)"
        assert con.execute(f"DESCRIBE SELECT * FROM {read}").fetchall() == (
            con.execute(f'DESCRIBE SELECT * FROM "{d.fact}"').fetchall()
        )
        diff = con.execute(
            f'(SELECT * FROM "{d.fact}" EXCEPT ALL SELECT * FROM {read}) UNION ALL '
            f'(SELECT * FROM {read} EXCEPT ALL SELECT * FROM "{d.fact}")'
        ).fetchall()
        assert diff == [] and d.rows > 0


def test_partitions_are_first_role_gemeente_and_year(exported):
    release, done = exported
    suspects = next(d for d in done if d.fact == "fact_suspects")
    assert suspects.partition_by == ("residence_gemeente", "year")
    root = release.path / "parquet" / "fact_suspects"
    dirs = sorted(p.relative_to(root).parent.as_posix() for p in root.rglob("*.parquet"))
    assert len(dirs) == suspects.files == len(set(dirs)) > 3
    assert all(d.startswith("residence_gemeente=") and "/year=20" in d for d in dirs)
    manifest = json.loads((release.path / "manifest.json").read_text())
    entry = manifest["parquet"]["facts"]["fact_suspects"]
    assert entry == {
        "rows": 260,
        "files": suspects.files,
        "partition_by": list(suspects.partition_by),
    }
    assert manifest["row_counts"]["fact_suspects"] == 260  # the loader's entries stay


def test_cli_exports_elsewhere_and_records_the_absolute_path(exported, tmp_path, capsys):
    release, _ = exported
    home = release.path.parents[1]
    target = tmp_path / "shared" / "zicht"
    assert main(["--home", str(home), "export", release.id, "--to", str(target)]) == 0
    assert "fact_population" in capsys.readouterr().out
    manifest = get_release(home, release.id).manifest
    assert manifest["parquet"]["path"] == str(target)
    assert parquet_dir(release.path, manifest) == target
    assert (target / "fact_population").is_dir()
    assert main(["--home", str(home), "export", "no-such-release"]) == 2
    assert "no release with id" in capsys.readouterr().err
    export_release(release)  # back to the default place, replacing nothing else
    assert get_release(home, release.id).manifest["parquet"]["path"] == "parquet"
