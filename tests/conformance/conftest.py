"""One small release (tests/cube/cube_fixtures.py, through the real loader) with rollups,
exported as Parquet, and one engine per backend: DuckDB (reading rollups where they cover a
query), Spark driven in-process (``local[2]``, told of no exported rollups: it scans the facts)
and Spark through a real Spark Connect server over a standalone cluster on loopback
(``tests/conformance/spark_cluster.py``, or the one ``ZICHT_TEST_SPARK_CONNECT`` names),
reading the exported rollups as DuckDB reads its own."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from cube.backend import DuckDbBackend
from cube.engine import Engine
from cube.model import MODEL_DIR, load_catalog
from cube.rollups import build as build_rollups
from cube.rollups import usable_tables
from loaders.export import RollupSource, export_entry, export_release
from loaders.load import load_directory
from loaders.releases import get_release
from tests.conformance.spark_cluster import spark_connect_cluster, spark_home
from tests.cube import cube_fixtures
from tests.cube.cube_fixtures import SECRET, write_tables  # the loader tests' writer

# Spark's first statements compile code for seconds on a busy 2-core machine: no time limit.
TIMEOUT_S = 600.0
SPARK = {"master": "local[2]", "spark.sql.shuffle.partitions": "4", "spark.ui.enabled": "false"}
BACKENDS = ("duckdb", "datafusion", "spark", "spark-connect")


def with_cents(tables):
    """Amounts with cents: a floating-point sum of them depends on the order rows are added in,
    which differs between engines (and between DuckDB runs): the answers must not."""
    for i, row in enumerate(tables["transactions"]):
        row["amount_eur"] = round(row["amount_eur"] + (i * 37 % 100) / 100 + 0.07, 2)
    return tables


def exported_release(tmp: Path, keys=None):
    """The conformance tables loaded as a release with rollups and exported with them: with
    ``keys`` (``ExportKeys``) encrypted, else with the keys in clear."""
    src = write_tables(tmp / "input", with_cents(cube_fixtures.tables()))
    release = load_directory(
        src,
        tmp / "home",
        secret=SECRET,
        finalize=lambda db, rid: build_rollups(db, rid, load_catalog()),
    )
    found = usable_tables(release.db_path, release.id)
    assert found is not None
    export_release(release, keys=keys, clear_keys=keys is None, rollups=RollupSource(*found))
    return release


@pytest.fixture(scope="session")
def conformance_release(tmp_path_factory):
    return exported_release(tmp_path_factory.mktemp("conformance"))


# Master keys of the encrypted export's tests (test_conformance_encrypted), in the form of
# ZICHT_EXPORT_KEYS, and the Spark settings of a driver holding them through the test's KMS client.
EXPORT_KEYS = ",".join(
    f"{ident}:{base64.b64encode(bytes(range(seed, seed + 32))).decode()}"
    for ident, seed in (("footer1", 1), ("cols1", 101))
)
KMS_SOURCE = Path(__file__).parent / "kms" / "KeyListKms.java"


def kms_conf(classes: Path) -> dict[str, str]:
    return {
        "spark.driver.extraClassPath": str(classes),
        "spark.executor.extraClassPath": str(classes),
        "spark.hadoop.parquet.crypto.factory.class": (
            "org.apache.parquet.crypto.keytools.PropertiesDrivenCryptoFactory"
        ),
        "spark.hadoop.parquet.encryption.kms.client.class": "KeyListKms",
        "spark.hadoop.parquet.encryption.key.list": EXPORT_KEYS,
    }


@pytest.fixture(scope="session")
def kms_classes(tmp_path_factory) -> Path | None:
    """The test KMS client compiled against pyspark's own Parquet and Hadoop jars; None where
    this machine has no javac (a failure under CI, whose .ci/run installs a JDK)."""
    if shutil.which("javac") is None:
        if os.environ.get("CI"):
            raise AssertionError("CI must install a JDK (javac): .ci/run")
        return None
    if not os.environ.get("CI"):
        pytest.importorskip("pyspark", reason="the spark extra is not installed")
    jars = spark_home() / "jars"
    classpath = [
        next(jars.glob(f"{prefix}-[0-9]*.jar"))
        for prefix in ("parquet-hadoop", "parquet-common", "hadoop-client-api")
    ]
    out = tmp_path_factory.mktemp("kms")
    subprocess.run(
        ["javac", "-d", str(out), "-cp", os.pathsep.join(map(str, classpath)), str(KMS_SOURCE)],
        check=True,
        timeout=300,
    )
    return out


@pytest.fixture(scope="session")
def spark_connect_url(tmp_path_factory, kms_classes):
    """A Spark Connect server: the one the environment names, else one started here (holding
    the test KMS client and keys where javac could build it: it reads clear and encrypted
    exports alike)."""
    if os.environ.get("ZICHT_TEST_SPARK_CONNECT"):
        yield os.environ["ZICHT_TEST_SPARK_CONNECT"]
        return
    if not os.environ.get("CI"):
        pytest.importorskip("pyspark", reason="the spark extra is not installed")
    conf = kms_conf(kms_classes) if kms_classes else {}
    with spark_connect_cluster(tmp_path_factory.mktemp("spark-cluster"), conf) as url:
        yield url


def stop_classic_spark() -> None:
    """pyspark refuses a Spark Connect session while an in-process driver runs in the same
    process (a service uses one or the other): the tests of both stop the driver in between."""
    from pyspark.sql import SparkSession

    active = SparkSession._instantiatedSession  # the classic session, if one was started
    if active is not None:
        active.stop()


def export_location(release, rollups: bool = True) -> dict[str, str]:
    manifest = get_release(release.path.parents[1], release.id).manifest
    entry = export_entry(release.path, manifest)
    assert entry is not None and entry.rollups
    return {
        "parquet_dir": entry.location,
        "exported_facts": ",".join(entry.facts),
        "exported_rollups": ",".join(entry.rollups) if rollups else "",
    }


@pytest.fixture(scope="session")
def reference(conformance_release):
    """The embedded DuckDB engine with its default per-thread cursor: the answers to match."""
    eng = Engine.open(conformance_release, query_timeout_s=TIMEOUT_S)
    yield eng
    eng.close()


class RowsOnly:
    """DuckDB through the plain ``Backend`` interface (``rows()`` only, no columnar fetch):
    the executor's generic path, the one every other backend takes."""

    name = "duckdb-rows"

    def __init__(self, inner: DuckDbBackend):
        self.inner = inner

    def rows(self, sql):
        return self.inner.rows(sql)

    def interrupt(self):
        self.inner.interrupt()


@pytest.fixture(scope="session", params=BACKENDS)
def backend_options(request, conformance_release):
    """The backend under test and how an engine on it is opened."""
    if request.param.startswith("spark") and not os.environ.get("CI"):
        pytest.importorskip("pyspark", reason="the spark extra is not installed")
    options: dict[str, str] = {}
    if request.param == "datafusion":  # the test extra installs it: never skipped
        options = export_location(conformance_release)
    elif request.param == "spark":
        options = {**SPARK, **export_location(conformance_release, rollups=False)}
    elif request.param == "spark-connect":
        url = request.getfixturevalue("spark_connect_url")
        stop_classic_spark()
        options = {"master": url, **export_location(conformance_release)}
    return request.param, options


def open_engine(release, kind: str, options: dict[str, str], catalog=None) -> Engine:
    eng = Engine.open(
        release,
        query_timeout_s=TIMEOUT_S,
        backend=kind if kind in ("duckdb", "datafusion") else "spark",
        backend_options=options,
        catalog=catalog,
    )
    if kind == "duckdb":
        eng.backend_factory = lambda e: RowsOnly(DuckDbBackend(e.cursor()))
    return eng


@pytest.fixture(scope="session")
def backend_engine(backend_options, conformance_release):
    eng = open_engine(conformance_release, *backend_options)
    yield eng
    eng.close()


@pytest.fixture(scope="session")
def p_percent_catalog(tmp_path_factory):
    """The model with a weaker dominance rule, (1, 95), and p = 30: under the default, (2, 85)
    and p = 10, every cell the p % rule flags is flagged by dominance first, so p % never gives
    a reason. Here it does (8 cells of the small release), and the backends must agree on it."""
    models = tmp_path_factory.mktemp("models") / "models"
    shutil.copytree(MODEL_DIR, models)
    path = models / "policies.yaml"
    policies = yaml.safe_load(path.read_text(encoding="utf-8"))
    for policy in policies.values():
        if "dominance" in policy:
            policy["dominance"] = {"n": 1, "k": 95}
            policy["p_percent"] = 30
    path.write_text(yaml.safe_dump(policies), encoding="utf-8")
    return load_catalog(models)
