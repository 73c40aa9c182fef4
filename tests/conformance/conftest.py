"""One small release (tests/cube/cube_fixtures.py, through the real loader), exported as
Parquet, and one engine per backend; one Spark session for the whole test session."""

from __future__ import annotations

import os

import pytest

from cube.backend import DuckDbBackend
from cube.backends import NAMES
from cube.engine import Engine
from cube.model import load_catalog
from cube.rollups import build as build_rollups
from loaders.export import export_release
from loaders.load import load_directory
from tests.cube import cube_fixtures
from tests.cube.cube_fixtures import SECRET, write_tables  # the loader tests' writer

# Spark's first statements compile code for seconds on a busy 2-core machine: no time limit.
TIMEOUT_S = 600.0
SPARK = {"master": "local[2]", "spark.sql.shuffle.partitions": "4", "spark.ui.enabled": "false"}
OPTIONS = {"duckdb": {}, "spark": SPARK}


def with_cents(tables):
    """Amounts with cents: a floating-point sum of them depends on the order rows are added in,
    which differs between engines (and between DuckDB runs): the answers must not."""
    for i, row in enumerate(tables["transactions"]):
        row["amount_eur"] = round(row["amount_eur"] + (i * 37 % 100) / 100 + 0.07, 2)
    return tables


@pytest.fixture(scope="session")
def conformance_release(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("conformance")
    src = write_tables(tmp / "input", with_cents(cube_fixtures.tables()))
    # with rollups: DuckDB answers from them where they cover a query, Spark from the facts
    release = load_directory(
        src,
        tmp / "home",
        secret=SECRET,
        finalize=lambda db, rid: build_rollups(db, rid, load_catalog()),
    )
    export_release(release)
    return release


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


@pytest.fixture(scope="session", params=NAMES)
def backend_engine(request, conformance_release):
    if request.param == "spark" and not os.environ.get("CI"):
        pytest.importorskip("pyspark", reason="the spark extra is not installed")
    eng = Engine.open(
        conformance_release,
        query_timeout_s=TIMEOUT_S,
        backend=request.param,
        backend_options=OPTIONS[request.param],
    )
    if request.param == "duckdb":
        eng.backend_factory = lambda e: RowsOnly(DuckDbBackend(e.cursor()))
    yield eng
    eng.close()
