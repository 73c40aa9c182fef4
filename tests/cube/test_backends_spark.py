"""Spark SQL rendered from a statement's tree or from DuckDB text (``to_spark``, the Spark entry
of ``cube.dialects``): pure sqlglot, no Spark needed. That the rendered statements *answer*
alike is proved by tests/conformance."""

from __future__ import annotations

import pytest

from cube.backend import BackendError
from cube.backends import NAMES, open_backend
from cube.backends.spark import connect_url, spark_session, to_spark


def test_top_n_becomes_sorted_collect_list_with_the_filter_inside():
    got = to_spark("SELECT max(s0, 2) FILTER (WHERE n0 > 0) AS top0 FROM h")
    assert got == (
        "SELECT SLICE(SORT_ARRAY(COLLECT_LIST(s0) FILTER(WHERE n0 > 0), FALSE), 1, 2) AS top0 "
        "FROM h"
    )
    assert to_spark("SELECT max(x, 3) FROM t") == (
        "SELECT SLICE(SORT_ARRAY(COLLECT_LIST(x), FALSE), 1, 3) FROM t"
    )
    assert to_spark("SELECT max(x) FROM t") == "SELECT MAX(x) FROM t"


def test_grouping_keeps_duckdb_bit_order_when_more_columns_are_grouped():
    sql = (
        "SELECT k0, k1, GROUPING(k0, k1) AS g FROM f "
        "GROUP BY GROUPING SETS ((k0, k1, holding), (k0, holding), (holding))"
    )
    assert "SHIFTRIGHT(GROUPING_ID(k0, k1, holding), 1) AS g" in to_spark(sql)
    plain = to_spark("SELECT GROUPING(k0, k1) AS g FROM f GROUP BY GROUPING SETS ((k0, k1), ())")
    assert "GROUPING_ID(k0, k1) AS g" in plain
    assert "SHIFTRIGHT" not in plain
    one = to_spark("SELECT GROUPING(k0) AS g FROM f GROUP BY GROUPING SETS ((k0, holding))")
    assert "GROUPING(k0) AS g" in one


def test_fact_tables_are_renamed_but_ctes_are_not():
    sql = 'WITH f AS (SELECT * FROM "fact_x" AS t0) SELECT * FROM f JOIN fact_y ON TRUE'
    got = to_spark(sql, {"fact_x": "view_x", "fact_y": "view_y", "f": "never"})
    assert "FROM `view_x` AS t0" in got
    assert "JOIN `view_y`" in got
    assert "FROM f " in got


def test_dialect_differences_are_translated():
    got = to_spark('SELECT CAST(1 AS DOUBLE) / hr, a::VARCHAR, "q" FROM t')
    assert got == "SELECT CAST(1 AS DOUBLE) / hr, CAST(a AS STRING), `q` FROM t"


@pytest.mark.parametrize(
    "sql,feature",
    [
        ("SELECT my_udf(x) FROM t", "my_udf"),
        ("SELECT max(x, n) FROM t", "non-constant"),
        ("SELECT 1; SELECT 2", "one statement"),
        ("SELECT (", "parsed"),
    ],
)
def test_unsupported_features_are_named(sql, feature):
    with pytest.raises(BackendError, match=feature):
        to_spark(sql)


def test_registry_names_backends_and_refuses_unknown(tmp_path):
    assert NAMES[:2] == ("duckdb", "spark")
    assert open_backend("duckdb", tmp_path / "release.duckdb", ()) is None
    with pytest.raises(BackendError, match="unknown backend 'trino'"):
        open_backend("trino", tmp_path / "release.duckdb", ())


def test_spark_refuses_a_release_without_parquet_export_before_starting(tmp_path):
    with pytest.raises(BackendError, match="the release has no Parquet export: run `zicht export`"):
        open_backend("spark", tmp_path / "release.duckdb", ("fact_a", "fact_b"))
    local = {"parquet_dir": str(tmp_path / "parquet")}
    (tmp_path / "parquet" / "fact_a").mkdir(parents=True)
    with pytest.raises(BackendError, match="no Parquet export of fact_b: run `zicht export`"):
        open_backend("spark", tmp_path / "release.duckdb", ("fact_a", "fact_b"), local)
    # a remote export is judged by what the manifest lists: the service holds no credentials
    remote = {"parquet_dir": "s3a://bucket/zicht/r1", "exported_facts": "fact_a"}
    with pytest.raises(BackendError, match="no Parquet export of fact_b: run `zicht export`"):
        open_backend("spark", tmp_path / "release.duckdb", ("fact_a", "fact_b"), remote)


@pytest.mark.parametrize(
    ("master", "tls", "token", "url"),
    [
        ("sc://spark.example:15002", False, "", "sc://spark.example:15002"),
        ("sc://h:1/", True, "", "sc://h:1/;use_ssl=true"),
        (
            "sc://h:1/;user_id=zicht",
            True,
            "a/b=c",
            "sc://h:1/;user_id=zicht;use_ssl=true;token=a%2Fb%3Dc",
        ),
    ],
)
def test_spark_connect_url_carries_tls_and_token(master, tls, token, url):
    assert connect_url(master, tls, token) == url


def test_an_unreachable_spark_connect_server_is_a_backend_error_without_the_url():
    with pytest.raises(BackendError) as err:
        spark_session("sc://127.0.0.1:9", tls=True, token="secret-token")
    assert "Spark Connect" in str(err.value) and "secret" not in str(err.value)
