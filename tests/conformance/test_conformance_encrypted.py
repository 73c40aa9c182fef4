"""Spark reads an encrypted export: the record keys, holdings and rollup key sums leave the
service encrypted (Parquet modular encryption, ``ZICHT_EXPORT_KEYS``), and a Spark driver with
a KMS client for those master keys answers from them exactly as the embedded engine does.

The KMS client is a test's (``kms/KeyListKms.java``, compiled here against pyspark's own
Parquet and Hadoop jars): master keys from a Hadoop setting, data keys unwrapped locally. A
cluster names a client of its real KMS in the same setting (docs/spark.md).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cube.model import load_catalog
from cube.rollups import build as build_rollups
from cube.rollups import usable_tables
from loaders.export import RollupSource, export_entry, export_release
from loaders.export_crypto import parse_keys
from loaders.load import load_directory
from loaders.releases import get_release
from tests.conformance.conftest import with_cents
from tests.conformance.spark_cluster import spark_home
from tests.cube import cube_fixtures
from tests.cube.cube_fixtures import SECRET, write_tables

ROOT = Path(__file__).resolve().parents[2]
KMS_SOURCE = Path(__file__).parent / "kms" / "KeyListKms.java"
KEYS = ",".join(
    f"{ident}:{base64.b64encode(bytes(range(seed, seed + 32))).decode()}"
    for ident, seed in (("footer1", 1), ("cols1", 101))
)


def compiled_kms(out: Path) -> Path:
    if shutil.which("javac") is None:
        if os.environ.get("CI"):
            raise AssertionError("CI must install a JDK (javac): .ci/run")
        pytest.skip("no javac here")
    jars = spark_home() / "jars"
    classpath = [
        next(jars.glob(f"{prefix}-[0-9]*.jar"))
        for prefix in ("parquet-hadoop", "parquet-common", "hadoop-client-api")
    ]
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["javac", "-d", str(out), "-cp", os.pathsep.join(map(str, classpath)), str(KMS_SOURCE)],
        check=True,
        timeout=300,
    )
    return out


@pytest.fixture(scope="module")
def encrypted_release(tmp_path_factory):
    """The conformance tables as a release of their own (the session's release keeps its
    clear export), exported with keys."""
    tmp = tmp_path_factory.mktemp("encrypted")
    src = write_tables(tmp / "input", with_cents(cube_fixtures.tables()))
    release = load_directory(
        src,
        tmp / "home",
        secret=SECRET,
        finalize=lambda db, rid: build_rollups(db, rid, load_catalog()),
    )
    found = usable_tables(release.db_path, release.id)
    assert found is not None
    export_release(release, keys=parse_keys(KEYS), rollups=RollupSource(*found))
    return release


def run_spark(release, options: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Answers by a Spark driver of its own (``spark_encrypted``), started with ``options``."""
    if not os.environ.get("CI"):
        pytest.importorskip("pyspark", reason="the spark extra is not installed")
    manifest = get_release(release.path.parents[1], release.id).manifest
    entry = export_entry(release.path, manifest)
    assert entry is not None and entry.rollups
    location = {
        "master": "local[1]",
        "parquet_dir": entry.location,
        "exported_facts": ",".join(entry.facts),
        "exported_rollups": ",".join(entry.rollups),
    }
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.conformance.spark_encrypted",
            str(release.path),
            json.dumps(location | options),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def test_spark_with_the_keys_answers_from_the_encrypted_export(encrypted_release, tmp_path):
    done = run_spark(
        encrypted_release,
        {
            "spark.driver.extraClassPath": str(compiled_kms(tmp_path / "kms")),
            "spark.hadoop.parquet.crypto.factory.class": (
                "org.apache.parquet.crypto.keytools.PropertiesDrivenCryptoFactory"
            ),
            "spark.hadoop.parquet.encryption.kms.client.class": "KeyListKms",
            "spark.hadoop.parquet.encryption.key.list": KEYS,
        },
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["different"] == [], result
    assert len(result["equal"]) == 6 and result["rollups"] > 0, result


def test_spark_without_the_keys_cannot_read_it(encrypted_release):
    """The footer is encrypted too: without a KMS client Spark cannot even read the schema."""
    done = run_spark(encrypted_release, {})
    assert done.returncode != 0
    assert "Spark cannot read the Parquet export" in done.stderr, done.stderr[-2000:]
