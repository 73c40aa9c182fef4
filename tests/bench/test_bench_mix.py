"""The benchmark's query mix: its GET forms mean the same queries, its floors run, and every
query is answered by the engine (on the small cube-test release)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import duckdb
import pytest
from werkzeug.datastructures import MultiDict

from bench.http_load import get_path, uncached_pool
from bench.queries import MIX
from bench.run import geomean, scaling
from service.query_params import parse_args
from service.schemas import load_query


@pytest.mark.parametrize("bq", MIX, ids=lambda b: b.name)
def test_get_form_is_the_same_query(bq):
    url = urlsplit(get_path(bq.query))
    body, problems = parse_args(MultiDict(parse_qsl(url.query)))
    assert not problems
    assert load_query(bq.query.cube, body) == bq.query


def test_mix_is_at_least_twelve_distinct_queries():
    assert len(MIX) >= 12
    assert len({b.name for b in MIX}) == len({b.query for b in MIX}) == len(MIX)


def test_uncached_pool_never_repeats():
    pool = uncached_pool(["GM0014", "GM0363"])
    assert len(pool) == len(set(pool)) == 2 * 9 * 3


def test_geomean_and_scaling():
    assert geomean([2.0, 8.0]) == pytest.approx(4.0)
    runs = [
        {"scale": 0.1, "fact_rows": {"a": 10}, "geomean_floor_ms": 2.0, "geomean_cold_ms": 4.0},
        {"scale": 1.0, "fact_rows": {"a": 100}, "geomean_floor_ms": 10.0, "geomean_cold_ms": 8.0},
    ]
    assert scaling(runs)[1] == {
        "scale": 1.0,
        "data_growth": 10.0,
        "floor_growth": 5.0,
        "cold_growth": 2.0,
    }


@pytest.fixture(scope="module")
def cube_release(tmp_path_factory):
    from tests.cube.cube_fixtures import build_release

    return build_release(tmp_path_factory.mktemp("bench"))


@pytest.mark.parametrize("bq", MIX, ids=lambda b: b.name)
def test_floor_runs_on_a_release(cube_release, bq):
    con = duckdb.connect(str(cube_release.db_path), read_only=True)
    try:
        con.execute(bq.floor).fetchall()
    finally:
        con.close()
