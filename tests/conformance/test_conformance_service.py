"""The service's settings choose the backend: ``backend = spark`` or ``datafusion`` opens the
engine on the release's Parquet export (named in its manifest) and answers as the embedded
engine does."""

from __future__ import annotations

import os

import pytest

from loaders.export import export_entry
from loaders.releases import get_release
from service.settings import SettingsError, load_settings
from service.state import backend_options, open_engine
from tests.conformance.conftest import stop_classic_spark
from tests.conformance.test_conformance_answers import QUERIES, comparable


def test_settings_refuse_an_unknown_backend():
    with pytest.raises(SettingsError, match="backend: must be `duckdb`, `datafusion` or `spark`"):
        load_settings(environ={"ZICHT_BACKEND": "trino"})


def test_datafusion_setting_opens_the_engine_on_the_manifest_export(conformance_release, reference):
    release = get_release(conformance_release.path.parents[1], conformance_release.id)
    settings = load_settings(
        environ={"ZICHT_BACKEND": "datafusion", "ZICHT_DATAFUSION_MEMORY_LIMIT_MB": "512"}
    )
    options = backend_options(release, settings)
    entry = export_entry(release.path, release.manifest)
    assert entry is not None and entry.rollups
    assert options == {
        "parquet_dir": entry.location,
        "exported_facts": ",".join(entry.facts),
        "exported_rollups": ",".join(entry.rollups),
        "encrypted_columns": "",
        "target_partitions": "2",
        "memory_limit_mb": "512",
    }
    engine = open_engine(release, settings)
    try:
        assert engine.backend().name == "datafusion"
        assert engine.rollups  # the exported rollup tables, read where they cover a query
        for name in ("transactions-amount-margins", "dwellings-woz-wijk", "suspects-rate-share"):
            query = QUERIES[name]
            assert comparable(engine.answer(query)) == comparable(reference.answer(query)), name
    finally:
        engine.close()


def test_spark_setting_opens_the_engine_on_the_manifest_export(conformance_release, reference):
    if not os.environ.get("CI"):
        pytest.importorskip("pyspark", reason="the spark extra is not installed")
    release = get_release(conformance_release.path.parents[1], conformance_release.id)
    settings = load_settings(
        environ={"ZICHT_BACKEND": "spark", "ZICHT_QUERY_TIMEOUT_S": "600"},
        overrides={"spark_master": "local[2]"},
    )
    options = backend_options(release, settings)
    entry = export_entry(release.path, release.manifest)
    assert entry is not None and entry.location.startswith(str(release.path / "parquet"))
    assert options == {
        "master": "local[2]",
        "parquet_dir": entry.location,
        "exported_facts": ",".join(entry.facts),
        "exported_rollups": ",".join(entry.rollups),
    }
    assert backend_options(release, load_settings(environ={})) == {}
    engine = open_engine(release, settings)
    try:
        query = QUERIES["transactions-amount-margins"]
        assert engine.backend().name == "spark"
        assert comparable(engine.answer(query)) == comparable(reference.answer(query))
    finally:
        engine.close()


def test_spark_connect_settings_open_the_engine_without_a_jvm_of_its_own(
    conformance_release, reference, spark_connect_url
):
    stop_classic_spark()
    release = get_release(conformance_release.path.parents[1], conformance_release.id)
    settings = load_settings(
        environ={
            "ZICHT_BACKEND": "spark",
            "ZICHT_QUERY_TIMEOUT_S": "600",
            "ZICHT_SPARK_MASTER": spark_connect_url,
            "ZICHT_SPARK_CONF": "spark.sql.shuffle.partitions=3",
        }
    )
    options = backend_options(release, settings)
    assert options["master"] == spark_connect_url
    assert options["spark.sql.shuffle.partitions"] == "3"
    engine = open_engine(release, settings)
    try:
        session = engine.backend().session
        assert type(session).__module__.startswith("pyspark.sql.connect")  # a gRPC client
        assert session.conf.get("spark.sql.shuffle.partitions") == "3"
        query = QUERIES["suspects-rate-share"]
        assert comparable(engine.answer(query)) == comparable(reference.answer(query))
    finally:
        engine.close()


@pytest.mark.parametrize(
    ("environ", "problem"),
    [
        ({"ZICHT_DATAFUSION_THREADS": "0"}, "datafusion_threads: must be at least 1"),
        ({"ZICHT_DATAFUSION_MEMORY_LIMIT_MB": "-1"}, "datafusion_memory_limit_mb: must not be"),
        ({"ZICHT_SPARK_CONF": "executor.memory=4g"}, "spark_conf: item 1: expected"),
        (
            {"ZICHT_SPARK_MASTER": "sc://h:1", "ZICHT_SPARK_CONNECT_TOKEN": "t"},
            "spark_connect_token: needs spark_connect_tls",
        ),
        ({"ZICHT_SPARK_CONNECT_TLS": "true"}, "only for a Spark Connect master"),
    ],
)
def test_spark_settings_are_checked(environ, problem):
    with pytest.raises(SettingsError, match=problem) as err:
        load_settings(environ=environ)
    assert "4g" not in str(err.value)


def test_spark_connect_tls_and_token_reach_the_backend_options(conformance_release):
    release = get_release(conformance_release.path.parents[1], conformance_release.id)
    settings = load_settings(
        environ={
            "ZICHT_BACKEND": "spark",
            "ZICHT_SPARK_MASTER": "sc://spark.internal:15002",
            "ZICHT_SPARK_CONNECT_TLS": "1",
            "ZICHT_SPARK_CONNECT_TOKEN": "s3cr3t",
        }
    )
    options = backend_options(release, settings)
    assert options["connect_tls"] == "true" and options["connect_token"] == "s3cr3t"


def test_an_unreachable_connect_server_stops_serve_with_the_reason_and_no_token(
    conformance_release,
):
    import socket
    import subprocess
    import sys
    from pathlib import Path

    def free_port() -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])

    port = free_port()  # nothing listens there
    root = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "PYTHONPATH": str(root),
        "ZICHT_BACKEND": "spark",
        "ZICHT_SPARK_MASTER": f"sc://127.0.0.1:{port}",
        "ZICHT_SPARK_CONNECT_TLS": "true",
        "ZICHT_SPARK_CONNECT_TOKEN": "s3cr3t-token",
    }
    home = conformance_release.path.parents[1]
    main = "import sys; from service.cli import main; sys.exit(main())"
    args = ["--home", str(home), "serve", "--port", str(free_port()), "--workers", "1"]
    done = subprocess.run(
        [sys.executable, "-c", main, *args],
        env=env, capture_output=True, text=True, timeout=300, cwd=root,
    )  # fmt: skip
    assert done.returncode == 2
    err = done.stderr
    assert "cannot reach the Spark Connect server" in err
    assert "s3cr3t" not in err and str(port) not in err and "Traceback" not in err
