"""``loaders.export`` and ``zicht export``: every row and column as Parquet, locally or on object
storage, committed by the manifest, with record keys and holdings encrypted or, when asked,
in clear."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import duckdb
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from layout.facts import ROLLUP_FORMAT
from loaders.export import (
    VERSION_PREFIX,
    export_entry,
    export_release,
    resolve_target,
)
from loaders.export_crypto import ENV, decryption_properties, parse_keys
from loaders.releases import ReleaseError, get_release
from service.cli import main
from tests.cube.cube_fixtures import build_release

FACTS = {
    "fact_population", "fact_dwellings", "fact_plantations",
    "fact_suspects", "fact_transactions", "fact_companies",
}  # fmt: skip
KEYS = "footer:" + base64.b64encode(bytes(range(32))).decode()
KEYS += ",columns:" + base64.b64encode(bytes(range(16, 32))).decode()


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    return build_release(tmp_path_factory.mktemp("export"))


@pytest.fixture(scope="module")
def exported(release):
    return release, export_release(release, clear_keys=True)


def location(release) -> str:
    manifest = get_release(release.path.parents[1], release.id).manifest
    entry = export_entry(release.path, manifest)
    assert entry is not None
    return entry.location


def same_rows(con, fact: str, read: str) -> bool:
    diff = con.execute(
        f'(SELECT * FROM "{fact}" EXCEPT ALL SELECT * FROM {read}) UNION ALL '
        f'(SELECT * FROM {read} EXCEPT ALL SELECT * FROM "{fact}")'
    ).fetchall()
    return diff == []


def test_every_fact_row_and_column_is_exported_with_its_type(exported):
    release, done = exported
    con = duckdb.connect(str(release.db_path), read_only=True)
    out = Path(location(release))
    assert out.parent == release.path / "parquet" and out.name.startswith(VERSION_PREFIX)
    assert {d.fact for d in done} == FACTS
    for d in done:
        read = f"read_parquet('{out / d.fact / '*.parquet'}')"
        assert con.execute(f"DESCRIBE SELECT * FROM {read}").fetchall() == (
            con.execute(f'DESCRIBE SELECT * FROM "{d.fact}"').fetchall()
        )
        assert same_rows(con, d.fact, read) and d.rows > 0


def test_files_are_sized_by_rows_and_keep_the_release_order(exported):
    release, done = exported
    suspects = next(d for d in done if d.fact == "fact_suspects")
    assert suspects.sorted_by == ("residence_gemeente", "year")
    assert suspects.files == 1  # 260 rows: one file, not one per gemeente and year
    path = Path(location(release)) / "fact_suspects" / "part-0.parquet"
    con = duckdb.connect(str(release.db_path), read_only=True)
    in_release = con.execute('SELECT residence_gemeente, year FROM "fact_suspects"').fetchall()
    table = pq.read_table(path, columns=["residence_gemeente", "year"])
    assert list(zip(*(table.column(c).to_pylist() for c in table.column_names), strict=True)) == (
        in_release
    )
    manifest = json.loads((release.path / "manifest.json").read_text())
    entry = manifest["parquet"]
    assert entry["facts"]["fact_suspects"] == {
        "rows": 260,
        "files": 1,
        "sorted_by": ["residence_gemeente", "year"],
    }
    assert entry["encrypted_columns"] == []
    assert manifest["row_counts"]["fact_suspects"] == 260  # the loader's entries stay


def test_without_keys_the_export_is_refused_unless_clear_keys_are_asked_for(
    release, tmp_path, capsys, monkeypatch
):
    monkeypatch.delenv(ENV, raising=False)
    with pytest.raises(ReleaseError, match="record keys and holdings in clear"):
        export_release(release, tmp_path / "out")
    assert not (tmp_path / "out").exists()  # refused before any work
    home = release.path.parents[1]
    assert main(["--home", str(home), "export", release.id, "--to", str(tmp_path / "o")]) == 2
    assert "ZICHT_EXPORT_KEYS" in capsys.readouterr().err


def test_record_keys_and_holdings_leave_encrypted(release, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv(ENV, KEYS)
    home = release.path.parents[1]
    target = tmp_path / "secret"
    assert main(["--home", str(home), "export", release.id, "--to", str(target)]) == 0
    out = capsys.readouterr().out
    assert "encrypted columns: holding, record_key" in out
    assert KEYS.split(":")[1][:10] not in out  # no key material printed
    entry = export_entry(release.path, get_release(home, release.id).manifest)
    assert entry is not None and entry.encrypted_columns == ("holding", "record_key")
    part = Path(entry.location) / "fact_transactions" / "part-0.parquet"
    with pytest.raises(OSError, match="encrypted"):
        pq.read_table(part)  # footer and secret columns: nothing readable without the keys
    other = parse_keys(KEYS.replace("AAECAwQF", "BQQDAgEA"))
    with pytest.raises(KeyError, match="does not open this file"):
        pq.read_table(part, decryption_properties=decryption_properties(other))
    table = pq.read_table(part, decryption_properties=decryption_properties(parse_keys(KEYS)))
    con = duckdb.connect(str(release.db_path), read_only=True)
    con.register("exported", table)
    assert same_rows(con, "fact_transactions", "exported")


def test_bad_keys_are_all_reported_and_never_echoed():
    bad = "nocolon,a:!!!,b:" + base64.b64encode(b"short").decode()
    with pytest.raises(ReleaseError) as err:
        parse_keys(bad)
    message = str(err.value)
    assert "key 1: expected id:base64" in message
    assert "'a': not base64" in message and "'b': 5 bytes" in message
    assert "!!!" not in message


def test_cli_exports_elsewhere_prunes_old_versions_and_comes_back(exported, tmp_path, capsys):
    release, _ = exported
    home = release.path.parents[1]
    target = tmp_path / "shared" / "zicht"
    for _ in range(2):
        args = ["--home", str(home), "export", release.id, "--to", str(target), "--clear-keys"]
        assert main(args) == 0
    assert "fact_population" in capsys.readouterr().out
    versions = [p.name for p in target.iterdir()]
    assert len(versions) == 1 and versions[0].startswith(VERSION_PREFIX)  # the older one pruned
    assert location(release) == str(target / versions[0])
    assert (target / versions[0] / "fact_population").is_dir()
    assert main(["--home", str(home), "export", "no-such-release", "--clear-keys"]) == 2
    assert "no release with id" in capsys.readouterr().err
    export_release(release, clear_keys=True)  # back to the default place, replacing nothing else
    stored = get_release(home, release.id).manifest["parquet"]["path"]
    assert stored.startswith(f"parquet/{VERSION_PREFIX}")  # relative: the release can move


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("ftp://host/zicht", "unsupported export location scheme 'ftp'"),
        ("s3://key:secret@bucket/zicht", "credentials do not belong in the export URI"),
        ("s3://bucket/zicht?secret_key=x", "credentials do not belong in the export URI"),
        ("s3://bucket", "needs a bucket or host and a path"),
    ],
)
def test_bad_locations_are_refused_before_any_work(release, where, message, capsys):
    with pytest.raises(ReleaseError, match=message):
        resolve_target(where)
    home = release.path.parents[1]
    assert main(["--home", str(home), "export", release.id, "--to", where, "--clear-keys"]) == 2
    err = capsys.readouterr().err
    assert message.split("'")[0] in err and "secret" not in err.replace("secret_key", "")


def test_local_paths_and_file_uris_resolve_to_the_same_place(tmp_path):
    by_path, by_uri = resolve_target(tmp_path / "x"), resolve_target(f"file://{tmp_path}/x")
    assert by_path.path == by_uri.path == str(tmp_path / "x") and by_path.local


def test_s3a_is_written_through_s3_and_recorded_as_s3a():
    target = resolve_target("s3a://bucket/zicht/r1?region=eu-west-1")
    assert target.uri == "s3a://bucket/zicht/r1"  # as Spark's Hadoop connector names it
    assert isinstance(target.filesystem, pafs.S3FileSystem) and target.path == "bucket/zicht/r1"


@pytest.fixture
def s3(monkeypatch):
    """A local S3-compatible server (moto), a bucket, and credentials in the environment."""
    server_mod = pytest.importorskip("moto.server")
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }.items():
            monkeypatch.setenv(name, value)
        endpoint = f"endpoint_override={host}:{port}&scheme=http&region=us-east-1"
        fs = pafs.S3FileSystem(
            endpoint_override=f"{host}:{port}", scheme="http", allow_bucket_creation=True
        )
        fs.create_dir("zicht-bucket")
        yield fs, endpoint
    finally:
        server.stop()


def test_export_to_object_storage_is_committed_by_the_manifest(release, s3, monkeypatch):
    fs, endpoint = s3
    monkeypatch.setenv(ENV, KEYS)
    home = release.path.parents[1]
    uri = f"s3a://zicht-bucket/exports/r1?{endpoint}"
    assert main(["--home", str(home), "export", release.id, "--to", uri]) == 0
    assert main(["--home", str(home), "export", release.id, "--to", uri]) == 0
    entry = export_entry(release.path, get_release(home, release.id).manifest)
    assert entry is not None and entry.location.startswith("s3a://zicht-bucket/exports/r1/")
    assert "endpoint" not in entry.location and set(entry.facts) == FACTS
    versions = fs.get_file_info(pafs.FileSelector("zicht-bucket/exports/r1"))
    assert len(versions) == 1  # the first version is gone
    key = entry.location.removeprefix("s3a://") + "/fact_population/part-0.parquet"
    with fs.open_input_file(key) as f:
        table = pq.read_table(f, decryption_properties=decryption_properties(parse_keys(KEYS)))
    con = duckdb.connect(str(release.db_path), read_only=True)
    con.register("exported", table)
    assert same_rows(con, "fact_population", "exported")
    assert not any(p.name.startswith("s3") for p in Path(os.getcwd()).iterdir())  # no local copy
    export_release(release, clear_keys=True)


def test_rollups_are_exported_beside_the_facts_empty_ones_as_one_file_with_their_schema(
    tmp_path, monkeypatch
):
    from cube.model import load_catalog
    from cube.rollups import build as build_rollups
    from cube.rollups import usable_tables
    from loaders.export import RollupSource
    from loaders.load import load_directory
    from tests.cube.cube_fixtures import SECRET, tables, write_tables

    src = write_tables(tmp_path / "in", tables())
    release = load_directory(
        src, tmp_path / "home", secret=SECRET,
        finalize=lambda db, rid: build_rollups(db, rid, load_catalog()),
    )  # fmt: skip
    found = usable_tables(release.db_path, release.id)
    assert found is not None
    export_release(release, tmp_path / "out", keys=parse_keys(KEYS), rollups=RollupSource(*found))
    manifest = get_release(release.path.parents[1], release.id).manifest
    entry = export_entry(release.path, manifest)
    assert entry is not None and set(entry.rollups) == set(found[1])
    assert entry.encrypted_columns == ("holding", "record_key", "rk")
    assert manifest["parquet"]["rollup_format"] == ROLLUP_FORMAT
    con = duckdb.connect()
    con.execute(f"ATTACH '{found[0]}' AS r (READ_ONLY)")
    decrypt = decryption_properties(parse_keys(KEYS))
    for table, info in manifest["parquet"]["rollups"].items():
        files = sorted((Path(entry.location) / "rollups" / table).glob("*.parquet"))
        assert len(files) == info["files"] >= 1
        read = pq.ParquetDataset(files, decryption_properties=decrypt).read()
        assert read.num_rows == info["rows"]
        assert read.schema.names == [d[0] for d in con.execute(f'DESCRIBE r."{table}"').fetchall()]
        con.register("exported", read)
        assert same_rows(con, f'r"."{table}', "exported")
        with pytest.raises(OSError, match="encrypted"):
            pq.read_table(files[0])  # footer, rk and holding: not without the keys


@pytest.mark.parametrize("recorded", [None, ROLLUP_FORMAT - 1, ROLLUP_FORMAT])
def test_rollups_exported_in_another_layout_are_not_offered(recorded, tmp_path, caplog):
    """An export made before the rollup tables changed layout (no ``rollup_format``, or an
    older one) lacks columns the engine reads: its rollups are left out of the entry, so
    Spark and DataFusion answer from the exported facts (the same cells) instead of failing
    on a missing column; its facts stay."""
    entry = {
        "path": "parquet/v1",
        "facts": {"fact_dwellings": {"rows": 3, "files": 1}},
        "rollups": {"ru_dwellings_gemeente_b": {"rows": 2, "files": 1}},
        "encrypted_columns": [],
    }
    if recorded is not None:
        entry["rollup_format"] = recorded
    got = export_entry(tmp_path, {"parquet": entry})
    assert got is not None and got.facts == ("fact_dwellings",)
    current = recorded == ROLLUP_FORMAT
    assert got.rollups == (("ru_dwellings_gemeente_b",) if current else ())
    assert ("another layout" in caplog.text) is not current


def test_a_table_without_rows_is_one_file_with_its_schema(tmp_path):
    from loaders.export import _export_table

    con = duckdb.connect()
    con.execute("CREATE TABLE t (region_gemeente INTEGER, rk HUGEINT, n BIGINT, holding VARCHAR)")
    out = resolve_target(tmp_path)
    done = _export_table(con, '"t"', "t", (), out, parse_keys(KEYS))
    assert (done.rows, done.files, done.encrypted) == (0, 1, ("rk", "holding"))
    [part] = (tmp_path / "t").glob("*.parquet")
    read = pq.read_table(part, decryption_properties=decryption_properties(parse_keys(KEYS)))
    assert read.num_rows == 0 and read.schema.names == ["region_gemeente", "rk", "n", "holding"]
    with pytest.raises(OSError, match="encrypted"):
        pq.read_table(part)
