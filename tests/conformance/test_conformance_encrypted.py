"""Spark reads an encrypted export: the record keys, holdings and rollup key sums leave the
service encrypted (Parquet modular encryption, ``ZICHT_EXPORT_KEYS``), and Spark with a KMS
client for those master keys answers from them exactly as the embedded engine does — a driver
of its own (``local[1]``) and the Spark Connect server over the test cluster alike.

The KMS client is a test's (``kms/KeyListKms.java``, compiled by the ``kms_classes`` fixture
against pyspark's own Parquet and Hadoop jars): master keys from a Hadoop setting, data keys
unwrapped locally. A cluster names a client of its real KMS in the same setting (docs/spark.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from loaders.export import export_entry
from loaders.export_crypto import parse_keys
from loaders.releases import get_release
from tests.conformance.conftest import EXPORT_KEYS, exported_release, kms_conf

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def encrypted_release(tmp_path_factory):
    """The conformance tables as a release of their own (the session's release keeps its
    clear export), exported with keys."""
    return exported_release(tmp_path_factory.mktemp("encrypted"), parse_keys(EXPORT_KEYS))


def run_spark(release, options: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Answers by a Spark session of its own (``spark_encrypted``), opened with ``options``."""
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


def assert_equal_answers(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["different"] == [], result
    assert len(result["equal"]) == 6 and result["rollups"] > 0, result


def test_a_driver_with_the_keys_answers_from_the_encrypted_export(encrypted_release, kms_classes):
    if kms_classes is None:
        pytest.skip("no javac here to build the test KMS client")
    assert_equal_answers(run_spark(encrypted_release, kms_conf(kms_classes)))


def test_spark_connect_with_the_keys_answers_from_the_encrypted_export(
    encrypted_release, kms_classes, spark_connect_url
):
    """The KMS client and keys are the server's settings; the service sends none."""
    if kms_classes is None or os.environ.get("ZICHT_TEST_SPARK_CONNECT"):
        pytest.skip("the Connect server was not started here with the test KMS client")
    assert_equal_answers(run_spark(encrypted_release, {"master": spark_connect_url}))


def test_spark_without_the_keys_cannot_read_it(encrypted_release):
    """The footer is encrypted too: without a KMS client Spark cannot even read the schema."""
    done = run_spark(encrypted_release, {})
    assert done.returncode != 0
    assert "Spark cannot read the Parquet export" in done.stderr, done.stderr[-2000:]


def test_datafusion_refuses_an_encrypted_export_by_name(encrypted_release):
    """DataFusion is given no keys: the service's settings open it on an encrypted export with
    a reason, before any query, instead of failing on the first scan."""
    from cube.backend import BackendError
    from service.settings import load_settings
    from service.state import backend_options, open_engine

    release = get_release(encrypted_release.path.parents[1], encrypted_release.id)
    settings = load_settings(environ={"ZICHT_BACKEND": "datafusion"})
    assert backend_options(release, settings)["encrypted_columns"] == "holding,record_key,rk"
    with pytest.raises(BackendError, match="clear keys only: export with --clear-keys"):
        open_engine(release, settings)
