"""The partner client (``service/client.py``) against a live server over real HTTP: tables with
value, status and reason; paging; ETags; 429 with Retry-After; the error shape; and its query
types equal to ``openapi.yaml``'s ``Query``."""

from __future__ import annotations

import dataclasses
import doctest
import json
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from service import client as client_module
from service.client import Client, Cut, Derived, Order, Query, Ranking, ZichtError
from tests.service.live_app import serving
from tests.service.test_service_openapi import SPEC


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    with serving(tmp_path_factory.mktemp("client")) as url:
        yield url


def test_the_query_types_are_the_documented_ones():
    schemas = SPEC["components"]["schemas"]
    for cls, name in ((Query, "Query"), (Cut, "Cut"), (Order, "Order"), (Derived, "Derived")):
        fields = {f.name.rstrip("_") for f in dataclasses.fields(cls)}
        assert fields == set(schemas[name]["properties"]) | ({"cube"} if cls is Query else set())
    assert {f.name for f in dataclasses.fields(Ranking)} == set(schemas["Ranking"]["properties"])


def test_pandas_answer_with_value_status_and_reason(base):
    c = Client(base)
    q = Query(
        "drug_suspects",
        ("suspects", "young_suspects"),
        ("residence@gemeente", "period@year"),
        totals="grand",
        order=(Order("suspects", desc=True),),
    )
    frame = c.pandas(q)
    answer = json.loads(
        urllib.request.urlopen(
            f"{base}/api/v1/cubes/drug_suspects/aggregate?"
            + "&".join(f"{k}={v}" for k, v in q.params())
        ).read()
    )
    assert len(frame) == len(answer["rows"]) > 0
    assert str(frame["suspects"].dtype) == "Int64"
    assert set(frame["suspects_status"].astype(str)) <= {"safe", "perturbed", "suppressed"}
    for (_, row), expected in zip(frame.iterrows(), answer["rows"], strict=True):
        cell = expected["cells"]["suspects"]
        value = row["suspects"]
        assert (None if pd.isna(value) else int(value)) == cell["value"]
        assert row["suspects_status"] == cell["status"]
        assert (None if pd.isna(row["suspects_reason"]) else row["suspects_reason"]) == cell[
            "reason"
        ]
    assert frame.attrs["zicht.cube"] == "drug_suspects"
    table = c.arrow(q)
    assert table.num_rows == len(frame) and "young_suspects_reason" in table.column_names


def test_paging_collects_every_row(base):
    c = Client(base)
    q = Query("drug_suspects", ("suspects",), ("residence@gemeente", "period@year"))
    whole = c.pandas(q)
    paged = c.pandas(q, all_rows=True, page_size=2)
    assert len(whole) >= 3 and paged.reset_index(drop=True).equals(whole)
    members = c.members("drug_suspects", "residence", "gemeente", page_size=100)
    assert len(members) == 342 and members[0]["code"].startswith("GM")
    assert c.stats.requests >= 2 + 4  # pages of members and of the answer


def test_etag_revalidation_reuses_the_copy(base):
    c = Client(base)
    q = Query(
        "drug_suspects",
        ("registrations",),
        ("period@year",),
        cuts=(Cut("period", "year", from_="2022"),),
    )
    first = c.arrow(q)
    again = c.arrow(q)
    assert c.stats.not_modified == 1 and again.equals(first)
    c.cube("drug_suspects"), c.cube("drug_suspects")
    assert c.stats.not_modified == 2


def test_errors_carry_the_api_error_shape(base):
    c = Client(base)
    with pytest.raises(ZichtError) as caught:
        c.pandas(Query("drug_suspects", ("suspect",)))
    err = caught.value
    assert err.status == 400 and err.error_type == "invalid_query"
    assert "did you mean 'suspects'" in err.errors[0]["message"]
    with pytest.raises(ZichtError) as caught:
        c.cube("nope")
    assert caught.value.status == 404 and caught.value.error_type == "not_found"


def test_429_waits_retry_after_and_succeeds(tmp_path):
    waits: list[float] = []
    with serving(tmp_path, rate_limit_per_minute=60, rate_limit_burst=2) as url:
        c = Client(url, sleep=lambda s: (waits.append(s), __import__("time").sleep(s)))
        for _ in range(4):
            assert c.cubes()
        assert c.stats.retried >= 1 and waits and all(w >= 1 for w in waits)
        impatient = Client(url, max_retries=0)
        with pytest.raises(ZichtError) as caught:
            for _ in range(5):
                impatient.json("/api/v1/releases")
        assert caught.value.status == 429 and caught.value.error_type == "rate_limited"


@pytest.mark.parametrize(
    "module",
    [
        "service.client",
        "service.sdmx",
        "service.tidy",
        "service.errors",
        "service.query_params",
        "service.formats",
        "cube.suggest",
    ],
)
def test_doctests(module):
    import importlib

    failures, _ = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert failures == 0


def test_client_module_needs_nothing_of_the_server():
    source = Path(client_module.__file__).read_text(encoding="utf-8")
    assert (
        "from service" not in source and "from cube" not in source and "import flask" not in source
    )


def test_readme_client_example_runs(base):
    import re

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```python\n(from service.client import .*?)```", readme, re.S)
    assert block, "the README shows the client"
    scope: dict = {}
    exec(block.group(1).replace("http://127.0.0.1:8000", base), scope)
    assert {"suspects", "suspects_status", "suspects_reason"} <= set(scope["df"].columns)
