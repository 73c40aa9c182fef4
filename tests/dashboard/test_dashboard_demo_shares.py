"""On the release `make run` builds (`zicht demo` with its defaults: national magnitudes), the
first visit's map has a figure for nearly every gemeente, its wijk table for the largest gemeente
mostly too, and so do the risk maps the page draws by default (three years pooled).

The shares are computed from the API's answers for the page's own first view (read from
``app.js``), not recorded numbers. The default demo takes about six minutes to build, so
`make test` builds it at a tenth of the magnitudes (``ZICHT_DEMO_SHARES_SCALE``, default 0.1)
and only its last year (the first view's, written as the full run writes it), where the first
view holds too but the risk maps do not; `make demo-check` builds exactly what `make run`
builds (``ZICHT_DEMO_SHARES_SCALE=default``) and checks all of it.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from loaders.synthetic import params
from service.app import create_app
from service.cli import main
from service.settings import Settings

APP = Path(__file__).resolve().parents[2] / "service" / "dashboard" / "static" / "js" / "app.js"
ENOUGH_GEMEENTEN = 0.9
ENOUGH_WIJKEN = 0.5
SCALE = os.environ.get("ZICHT_DEMO_SHARES_SCALE", "0.1")  # "default": what `make run` builds

pytestmark = pytest.mark.slow


def first_view() -> tuple[str, str]:
    """Cube and measure of the page's first visit."""
    found = re.search(r'const FIRST_VIEW = \{[^}]*ind: "([a-z_]+)\.([a-z_0-9]+)"', APP.read_text())
    assert found, "FIRST_VIEW not found in app.js"
    return found.group(1), found.group(2)


@pytest.fixture(scope="module")
def client(tmp_path_factory) -> Iterator[Any]:
    home = tmp_path_factory.mktemp("demo-default")
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        last = ["--first-year", str(params.LAST_YEAR)]
        smaller = [] if SCALE == "default" else ["--scale", SCALE, *last]
        assert main(["--home", str(home), "demo", *smaller]) == 0
    app = create_app(Settings(home=str(home), rate_limit_per_minute=0))
    yield app.test_client()
    app.extensions["zicht"].close()


def aggregate(client, cube: str, params: list[tuple[str, str]]) -> dict[str, Any]:
    response = client.get(f"/api/v1/cubes/{cube}/aggregate", query_string=params)
    assert response.status_code == 200, response.get_data()[:300]
    return response.get_json()


def published(answer: dict[str, Any], item: str, measure: str) -> tuple[int, int]:
    """(cells with a published figure, cells) over the rows of ``item``."""
    cells = [r["cells"][measure] for r in answer["rows"] if r["members"].get(item)]
    shown = [c for c in cells if c["status"] != "suppressed" and c["value"] is not None]
    return len(shown), len(cells)


def the_view(client) -> tuple[str, str, str, str, str]:
    cube, measure = first_view()
    meta = client.get(f"/api/v1/cubes/{cube}").get_json()
    region = next(d["id"] for d in meta["dimensions"] if d["dimension"] == "region")
    period = next(d["id"] for d in meta["dimensions"] if d["dimension"] == "period")
    year = [p for p in meta["periods"] if re.fullmatch(r"\d{4}", p)][-1]  # the page's default
    return cube, measure, region, period, year


def test_the_first_visit_map_has_a_figure_for_nearly_every_gemeente(client):
    cube, measure, region, period, year = the_view(client)
    params = [
        ("measures", measure),
        ("drilldown", f"{region}@gemeente"),
        ("cut", f"{period}@year:{year}"),
    ]
    shown, total = published(aggregate(client, cube, params), f"{region}@gemeente", measure)
    assert total == 342
    assert shown / total >= ENOUGH_GEMEENTEN, f"{shown} of {total}"


def test_the_largest_gemeente_s_wijk_table_is_mostly_published(client):
    cube, measure, region, period, year = the_view(client)
    population = aggregate(
        client,
        "population",
        [
            ("measures", "inhabitants"),
            ("drilldown", "region@gemeente"),
            ("cut", f"period@year:{year}"),
        ],
    )
    largest = max(population["rows"], key=lambda r: r["cells"]["inhabitants"]["value"] or 0)[
        "members"
    ]["region@gemeente"]
    params = [
        ("measures", measure),
        ("drilldown", f"{region}@wijk"),
        ("cut", f"{region}@wijk:descendants({largest})"),
        ("cut", f"{period}@year:{year}"),
    ]
    shown, total = published(aggregate(client, cube, params), f"{region}@wijk", measure)
    assert total > 50  # Amsterdam has 110 wijken
    assert shown / total >= ENOUGH_WIJKEN, f"{largest}: {shown} of {total}"


@pytest.mark.skipif(SCALE != "default", reason="national magnitudes only: `make demo-check`")
@pytest.mark.parametrize(
    "cube,measure,role",
    [("drug_suspects", "suspects", "residence"), ("transactions", "transactions", "region")],
)
def test_the_default_risk_maps_have_a_figure_for_nearly_every_gemeente(client, cube, measure, role):
    """The drugs and transactions themes' first maps, as the page draws them by default: the
    three years up to the last one pooled."""
    meta = client.get(f"/api/v1/cubes/{cube}").get_json()
    years = sorted(p for p in meta["periods"] if re.fullmatch(r"\d{4}", p))
    params = [
        ("measures", measure),
        ("drilldown", f"{role}@gemeente"),
        ("cut", f"period@year:{years[-3]}..{years[-1]}"),
    ]
    answer = aggregate(client, cube, params)
    shown = [
        c
        for r in answer["rows"]
        if r["members"].get(f"{role}@gemeente")
        for c in [r["cells"][measure]]
        if c["status"] != "suppressed" and c["value"]
    ]
    assert len(shown) / 342 >= ENOUGH_GEMEENTEN, f"{cube}: {len(shown)} of 342"
