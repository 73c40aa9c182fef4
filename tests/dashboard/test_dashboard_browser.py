"""The dashboard in headless Chromium against the real service and a small real release."""

# The fixtures are imported from dashboard_fixtures (no conftest), so their names recur as
# test arguments.
# ruff: noqa: F811

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from tests.dashboard.dashboard_fixtures import (  # noqa: F401  (pytest fixtures)
    ARTIFACTS,
    MAPPED_GEMEENTE,
    browser,
    get,
    open_dashboard,
    page,
    server,
)

HATCH = "url(#hatch)"
BROCHURE = Path(__file__).resolve().parents[2] / "service/dashboard/static/js/brochure.js"
# the measures the page ranks wijken by ("kansrijke zoekgebieden"), as brochure.js lists them
SEARCH_MEASURES = re.findall(
    r'"([a-z_.0-9]+)"',
    re.search(r"SEARCH_MEASURES = \[(.*?)\];", BROCHURE.read_text(), re.S).group(1),  # type: ignore[union-attr]
)


def map_state(pg) -> dict[str, dict[str, str]]:
    """code -> {fill, status} of every gemeente path on the map."""
    return pg.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('#map path.gm')].map(
            p => [p.dataset.code, {fill: p.getAttribute('fill'), status: p.dataset.status}]))"""
    )


def shown_indicator(pg) -> tuple[str, str, str]:
    """Cube, measure and period (one year, or pooled years as `from..to`) of the map."""
    cube, measure = pg.get_attribute("#map", "data-indicator").split(".", 1)
    return cube, measure, pg.get_attribute("#map", "data-period")


def map_answer(server, cube: str, measure: str, year: str) -> dict[str, dict]:
    """What the API says for the map's query: code -> cell."""
    model = server.json(f"/api/v1/cubes/{cube}")
    region = next(d["id"] for d in model["dimensions"] if d["dimension"] == "region")
    period = next(d["id"] for d in model["dimensions"] if d["dimension"] == "period")
    answer = server.json(
        f"/api/v1/cubes/{cube}/aggregate",
        measures=measure,
        drilldown=f"{region}@gemeente",
        cut=f"{period}@year:{year}",
    )
    return {r["members"][f"{region}@gemeente"]: r["cells"][measure] for r in answer["rows"]}


def test_page_loads_without_console_errors_and_maps_342_gemeenten(page, server):
    status, headers, _ = get(f"{server.base}/")
    assert status == 200
    csp = headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe" not in csp
    open_dashboard(page)
    page.wait_for_selector("#scatter[data-status=ready]", timeout=30_000)
    page.wait_for_selector("#index-bars[data-status=ready]", timeout=30_000)
    assert page.locator("#map path.gm").count() == 342
    assert page.get_attribute("#map", "data-rows") == "342"
    assert page.locator("#legend li").count() >= 3
    assert "Bron: CBS / PDOK" in page.inner_text("footer")
    assert " x " in f" {page.inner_text('.explain')} "
    assert page.locator("#scatter circle").count() > 0
    assert page.locator("#index-bars .bar").count() > 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    assert page.errors == []  # type: ignore[attr-defined]


def test_theme_and_indicator_lists_come_from_the_metadata(page, server):
    open_dashboard(page)
    cubes = server.json("/api/v1/cubes")["cubes"]
    themes = page.eval_on_selector_all("#theme option", "os => os.map(o => o.value)")
    assert sorted(themes) == sorted({c["theme"] for c in cubes})
    options = page.eval_on_selector_all("#indicator option", "os => os.map(o => o.value)")
    theme = page.input_value("#theme")
    in_theme = {f"{c['id']}.{m}" for c in cubes if c["theme"] == theme for m in c["measures"]}
    assert options and set(options) <= in_theme


def test_changing_the_indicator_fetches_from_the_api_and_redraws(page, server):
    open_dashboard(page)
    before = map_state(page)
    page.select_option("#theme", "population")
    page.wait_for_function(
        "() => document.querySelector('#map').dataset.indicator.startsWith('population.')"
    )
    page.wait_for_selector("#map[data-status=ready]")
    cube, measure, _year = shown_indicator(page)
    target = next(
        o
        for o in page.eval_on_selector_all("#indicator option", "os => os.map(o => o.value)")
        if o != f"{cube}.{measure}"
    )
    with page.expect_response(
        lambda r: "/aggregate?" in r.url and f"measures={target.split('.')[1]}" in r.url
    ) as response:
        page.select_option("#indicator", target)
    assert response.value.status == 200
    page.wait_for_function(f"() => document.querySelector('#map').dataset.indicator === '{target}'")
    after = map_state(page)
    assert after != before
    expected = map_answer(server, *shown_indicator(page))
    hatched = {code for code, s in after.items() if s["fill"] == HATCH}
    assert hatched == {code for code, c in expected.items() if c["status"] == "suppressed"}
    timings = page.evaluate("window.zichtTimings")
    assert timings["firstMap"] > 0 and len(timings["redraws"]) >= 2
    assert page.errors == []  # type: ignore[attr-defined]


def test_a_suppressed_gemeente_is_hatched_and_explained_as_x(page, server):
    open_dashboard(page, "#theme=drugs&ind=drug_suspects.suspects&mode=abs&year=2023")
    cells = map_answer(server, *shown_indicator(page))
    suppressed = sorted(c for c, cell in cells.items() if cell["status"] == "suppressed")
    published = sorted(c for c, cell in cells.items() if cell["status"] != "suppressed")
    assert suppressed and published, "the fixture should give both kinds of cell"
    state = map_state(page)
    assert all(state[c]["fill"] == HATCH and state[c]["status"] == "suppressed" for c in suppressed)
    assert all(state[c]["fill"] != HATCH for c in published)
    code = suppressed[0]
    # The pointer's event on the path itself: a hover at the centre of the path's box can land
    # outside a concave or many-part gemeente (a neighbour or the sea gets it, and no tooltip
    # shows): the likely cause of an occasional time-out here on a busy machine.
    page.dispatch_event(f"#map path[data-code={code}]", "mousemove")
    page.wait_for_selector("#tooltip:not([hidden])", timeout=10_000)
    label = page.get_attribute(f"#map path[data-code={code}]", "aria-label") or ""
    assert page.locator("#tooltip strong").text_content() == label.split(": ")[0]  # that one
    # The value line on its own: a hidden box's inner text runs the name into it ("Almerex").
    tooltip = page.locator("#tooltip div").text_content() or ""
    assert re.search(r"\bx\b", tooltip), tooltip
    assert ": x (" in label


def test_a_figure_that_does_not_exist_is_a_dot_not_an_x(page, server):
    # the change on the previous year over a gemeente with no plantations the year before:
    # no figure (value null, status safe), nothing hidden, so not hatched and not `x`
    open_dashboard(page, "#theme=drugs&ind=plantations.change_plantations&mode=rate&year=2023")
    shown = "document.querySelector('#map').dataset.indicator"
    page.wait_for_function(f"() => {shown} === 'plantations.change_plantations'")
    cells = map_answer(server, *shown_indicator(page))
    none = sorted(
        c for c, cell in cells.items() if cell["status"] != "suppressed" and cell["value"] is None
    )
    suppressed = {c for c, cell in cells.items() if cell["status"] == "suppressed"}
    assert none and suppressed, "the fixture should give both kinds of cell without a value"
    state = map_state(page)
    assert all(state[c]["fill"] == "#e6e6e6" and state[c]["status"] == "safe" for c in none)
    assert {c for c, s in state.items() if s["fill"] == HATCH} == suppressed
    label = page.get_attribute(f"#map path[data-code={none[0]}]", "aria-label") or ""
    assert label.endswith(": . (geen cijfer: deling door 0)"), label
    assert "geen cijfer (.)" in page.inner_text("#legend")
    assert page.errors == []  # type: ignore[attr-defined]


def test_clicking_a_gemeente_opens_its_profile(page, server):
    open_dashboard(page, "#theme=population&ind=population.inhabitants&year=2023")
    page.click("#map path[data-code=GM0363]", force=True)
    page.wait_for_selector("#profile[data-status=ready][data-gm=GM0363]", timeout=30_000)
    assert page.inner_text("#profile-name") == "Amsterdam"
    assert "gm=GM0363" in page.url
    assert page.locator("#profile-series .series.own circle").count() >= 2
    assert page.locator("#profile-neighbours .bar.highlight").count() == 1
    assert page.locator("#profile-neighbours .bar").count() >= 3  # Amsterdam has 10+ neighbours
    wijken = server.json(
        "/api/v1/cubes/population/aggregate",
        measures="inhabitants",
        drilldown="region@wijk",
        cut=["region@wijk:descendants(GM0363)", "period@year:2023"],
    )["rows"]
    rows = page.locator("#areas-table tbody tr")
    assert rows.count() == len(wijken) > 0
    # The schematic wijk map: one square per wijk, x hatched, labelled as schematic.
    tiles = page.eval_on_selector_all(
        "#areas-tiles rect[data-code]",
        "rs => rs.map(r => [r.dataset.code, r.getAttribute('fill')])",
    )
    assert len(tiles) == len(wijken)
    x_codes = {
        r["members"]["region@wijk"]
        for r in wijken
        if r["cells"]["inhabitants"]["status"] == "suppressed"
    }
    assert {c for c, fill in tiles if fill == "url(#tile-hatch)"} == x_codes
    assert "Schematisch" in page.get_attribute("#areas-tiles svg", "aria-label")
    x_rows = sum(1 for r in wijken if r["cells"]["inhabitants"]["status"] == "suppressed")
    assert page.locator("#areas-table tbody tr[data-status=suppressed]").count() == x_rows
    if x_rows:
        assert page.inner_text("#areas-table tbody tr[data-status=suppressed] td.x-mark") == "x"
    page.check("input[name=level][value=buurt]")
    page.wait_for_function("() => document.querySelector('#areas-csv').href.includes('%40buurt')")
    page.check("input[name=scatter-level][value=wijk]")
    page.wait_for_selector("#scatter[data-level=wijk][data-status=ready]", timeout=30_000)
    assert "sl=wijk" in page.url
    note = page.inner_text("#scatter-note")
    assert note.split(";")[0].split("/")[1].strip() == str(len(wijken))


def test_keyboard_enter_on_a_gemeente_opens_its_profile(page):
    open_dashboard(page)
    page.focus("#map path[data-code=GM0014]")
    assert not page.is_hidden("#tooltip")
    page.keyboard.press("Enter")
    page.wait_for_selector("#profile[data-gm=GM0014][data-status=ready]", timeout=30_000)
    # Focus stays on the chosen gemeente (its outline is drawn by a copy, not by moving it).
    assert page.evaluate("() => document.activeElement.dataset.code") == "GM0014"
    order = page.eval_on_selector_all("#map path.gm", "ps => ps.map(p => p.dataset.code)")
    assert order.index("GM0014") < len(order) - 1
    page.keyboard.press("Tab")  # focus moves on; nothing traps it
    assert page.evaluate("() => document.activeElement.dataset.code") != "GM0014"


def test_the_csv_download_has_the_rows_on_the_map(page, tmp_path: Path):
    open_dashboard(page, "#theme=drugs&ind=drug_suspects.suspects&mode=abs&year=2023")
    state = map_state(page)
    with page.expect_download() as download:
        page.click("#download-map")
    path = tmp_path / "map.csv"
    download.value.save_as(path)
    rows = list(csv.reader(io.StringIO(path.read_text("utf-8"))))
    header, body = rows[0], rows[1:]
    code_col = next(i for i, h in enumerate(header) if body and body[0][i] in state)
    value_col = header.index(shown_indicator(page)[1])
    status_col = header.index(f"{shown_indicator(page)[1]}_status")
    assert {r[code_col] for r in body} == set(state) and len(body) == 342
    hidden = {r[code_col] for r in body if r[status_col] == "suppressed"}
    assert hidden == {c for c, s in state.items() if s["status"] == "suppressed"}
    assert all(r[value_col] == "" for r in body if r[code_col] in hidden)


def test_a_copied_link_restores_the_view_in_english(page):
    view = "#lang=en&theme=real_estate&ind=dwellings.dwellings&mode=abs&year=2020&gm=GM0599"
    open_dashboard(page, view)
    page.wait_for_selector("#profile[data-gm=GM0599][data-status=ready]", timeout=30_000)
    assert page.get_attribute("html", "lang") == "en"
    assert page.input_value("#theme") == "real_estate"
    assert page.input_value("#indicator") == "dwellings.dwellings"
    assert page.input_value("#year") == "2020"
    assert page.inner_text("#map-heading").startswith("Map")
    assert page.inner_text("#profile-name") == "Rotterdam"
    for key in ("lang=en", "ind=dwellings.dwellings", "year=2020", "gm=GM0599"):
        assert key in page.url
    page.click("#lang-switch")
    page.wait_for_function("() => document.documentElement.lang === 'nl'")
    assert "lang=nl" in page.url


def test_copy_link_copies_the_view_and_a_pasted_link_redraws_it(page):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    open_dashboard(page, "#theme=drugs&ind=drug_suspects.suspects&mode=abs&year=2022")
    # the whole view drawn: the scatter plot adds its axes to the URL when it is ready
    page.wait_for_selector("#scatter[data-status=ready]", timeout=30_000)
    page.click("#copy-link")
    page.wait_for_function("() => document.querySelector('#status').textContent.length > 0")
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied == page.url and "year=2022" in copied
    pasted = "theme=population&ind=population.inhabitants&year=2021&gm=GM0014"
    page.evaluate("(h) => { location.hash = h; }", pasted)
    page.wait_for_selector("#profile[data-gm=GM0014][data-status=ready]", timeout=30_000)
    assert page.get_attribute("#map", "data-indicator") == "population.inhabitants"
    assert page.get_attribute("#map", "data-year") == "2021"
    assert page.errors == []  # type: ignore[attr-defined]


def test_rates_switch_and_phone_layout(page):
    page.set_viewport_size({"width": 390, "height": 844})
    open_dashboard(page, "#theme=drugs&ind=drug_suspects.suspects&mode=abs&year=2023")
    page.check("input[name=mode][value=rate]")
    page.wait_for_function(
        "() => document.querySelector('#map').dataset.indicator.includes('per_')"
    )
    assert "mode=rate" in page.url
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-phone.png"), full_page=True)
    assert page.errors == []  # type: ignore[attr-defined]


def test_the_indicator_is_explained_in_the_page_language_with_the_release_date(page, server):
    open_dashboard(page)
    cube, measure, _year = shown_indicator(page)
    model = server.json(f"/api/v1/cubes/{cube}")
    m = next(x for x in model["measures"] if x["id"] == measure)
    info = page.locator("#indicator-info")
    page.wait_for_selector("#release-date:has-text('release')")
    assert info.get_attribute("data-measure") == f"{cube}.{measure}"
    assert info.locator("[data-info=definition]").inner_text() == m["definition"]["nl"]
    assert info.locator("[data-info=unit]").inner_text() == m["unit_label"]["nl"]
    assert m["unit_label"]["nl"] in page.inner_text("#map-heading")
    assert info.locator("[data-info=reference]").inner_text() == model["reference_date"]["nl"]
    assert info.locator("[data-info=source]").inner_text() == model["source"]["label"]
    assert "x" in info.locator("[data-info=protection]").inner_text()
    serving = server.json("/api/v1/releases")["serving"]
    assert f"(release {serving})" in page.inner_text("#release-date")
    page.click("#lang-switch")
    page.wait_for_selector("#release-date:has-text('Figures of')")
    page.wait_for_selector("#map[data-status=ready]")
    page.wait_for_function(
        "([want]) => document.querySelector('[data-info=definition]').textContent === want",
        arg=[m["definition"]["en"]],
    )
    assert info.locator("[data-info=unit]").inner_text() == m["unit_label"]["en"]
    assert page.errors == []  # type: ignore[attr-defined]


def test_a_mostly_suppressed_map_says_what_would_publish(page, server):
    open_dashboard(page, "#ind=drug_suspects.suspects&year=2024&pool=1")
    box = page.locator("#guidance")
    page.wait_for_selector("#guidance[data-status=ready]:not([hidden])", timeout=30_000)
    assert "van de 342 gemeenten" in box.inner_text()
    api = server.json(
        "/api/v1/cubes/drug_suspects/aggregate/guidance",
        measures="suspects",
        drilldown="residence@gemeente",
        cut="period@year:2024",
    )
    shown = box.locator("li")
    assert shown.count() == min(3, len(api["suggestions"])) > 0
    first = api["suggestions"][0]
    item = box.locator(f"li[data-kind='{first['kind']}']").first
    assert f"{first['with_value']} van {first['cells']}" in item.inner_text()
    # Every kind the map can show (pooled years, provincies) is one click on the page.
    assert item.locator("a").count() == 0
    item.locator("button").click()
    levels = [v.split("@")[1] for n, v in first["params"] if n == "drilldown"]
    page.wait_for_selector(f"#map[data-level={levels[0]}][data-status=ready]")
    if first["years"]:
        years = "–".join(first["years"])
        page.wait_for_function(
            "y => document.querySelector('#map-year').textContent === y", arg=years
        )
    assert page.errors == []  # type: ignore[attr-defined]


def test_pooled_years_are_kept_in_the_link_and_undone_in_one_click(page, server):
    open_dashboard(page, "#ind=drug_suspects.suspects&year=2024&pool=3")
    page.wait_for_function("() => document.querySelector('#map-year').textContent === '2022–2024'")
    pooled = map_answer(server, "drug_suspects", "suspects", "2022..2024")
    assert {c: s["status"] for c, s in map_state(page).items() if c in pooled} == {
        c: cell["status"] for c, cell in pooled.items()
    }
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-pooled.png"), full_page=True)
    page.locator("#guidance button", has_text="Toon één jaar").click()
    page.wait_for_function("() => document.querySelector('#map-year').textContent === '2024'")
    assert "pool=1" in page.url  # one year, chosen: not pooled again by default
    assert page.errors == []  # type: ignore[attr-defined]


def test_a_first_visit_opens_on_a_map_with_a_figure_for_nearly_every_gemeente(page, server):
    open_dashboard(page)
    cube, measure, year = shown_indicator(page)
    cells = map_answer(server, cube, measure, year)
    shown = [c for c in cells.values() if c["status"] != "suppressed" and c["value"]]
    assert len(shown) >= 0.9 * 342, (cube, measure, len(shown))
    painted = [s for s in map_state(page).values() if s["fill"] not in (HATCH, "#e6e6e6")]
    assert len(painted) >= len(shown)
    assert page.locator("#guidance").is_hidden()
    assert page.errors == []  # type: ignore[attr-defined]


def test_on_a_phone_the_wijk_table_shows_its_values_and_chart_text_is_readable(page):
    page.set_viewport_size({"width": 390, "height": 844})
    open_dashboard(page, "#theme=population&ind=population.inhabitants&year=2023&gm=GM0363")
    page.wait_for_selector("#profile[data-status=ready][data-gm=GM0363]", timeout=30_000)
    page.wait_for_selector("#index-bars[data-status=ready]", timeout=30_000)
    cell = page.locator("#areas-table tbody tr td:last-child").first
    box = cell.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 390, box
    # The scroll box is reachable by keyboard and named.
    wrap = page.locator("#profile .table-wrap")
    assert wrap.get_attribute("tabindex") == "0" and wrap.get_attribute("role") == "region"
    smallest = page.evaluate(
        """() => Math.min(...[...document.querySelectorAll('svg.chart text')]
            .filter(t => t.getBBox().width > 0)
            .map(t => t.getBoundingClientRect().height))"""
    )
    assert smallest >= 11, smallest
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-phone-profile.png"), full_page=True)
    assert page.errors == []  # type: ignore[attr-defined]


def test_the_index_chart_uses_a_log_scale_with_100_marked(page):
    open_dashboard(page)
    page.wait_for_selector("#index-bars[data-status=ready]", timeout=30_000)
    ticks = page.eval_on_selector_all(
        "#index-bars .tick text", "ts => ts.map(t => t.textContent.replace(/\\D/g, ''))"
    )
    assert "100" in ticks and "1000" in ticks, ticks
    # One chart per cube with index measures (drug suspects, plantation residents), each with
    # 100 marked.
    parts = page.eval_on_selector_all(
        "#index-bars .index-part", "ps => ps.map(p => p.dataset.cube)"
    )
    assert sorted(parts) == ["drug_suspects", "plantations"]
    assert page.locator("#index-bars .reference line").count() == len(parts)


# --- axe-core on every view ---------------------------------------------------------------
# axe-core is vendored (vendor/axe-core, from the npm registry, MPL-2.0) and injected into the
# test browser only; that context bypasses the page's CSP for the injection alone (the page
# itself allows no inline script). Results per view go to test-artifacts/axe-<view>.json.

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
BLOCKING = {"serious", "critical"}
RUN = """async () => {
  const r = await axe.run(document, {resultTypes: ["violations"]});
  return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(" "))}));
}"""

VIEWS = {
    "first-visit": ("", {"width": 1366, "height": 900}, None),
    "drugs-guidance": (
        "#ind=drug_suspects.suspects&year=2024",
        {"width": 1366, "height": 900},
        "#guidance[data-status=ready]",
    ),
    "profile": (
        "#theme=population&ind=population.inhabitants&year=2023&gm=GM0363",
        {"width": 1366, "height": 900},
        "#sectors[data-status=ready]",
    ),
    "phone-profile": (
        "#ind=drug_suspects.suspects&year=2023&gm=GM0599",
        {"width": 390, "height": 844},
        "#search-areas[data-status=ready]",
    ),
    "provincie-map": (
        "#ind=drug_suspects.suspects&year=2024&ml=provincie",
        {"width": 1366, "height": 900},
        "#national[data-status=ready]",
    ),
    "breakdown-map": (
        "#ind=drug_suspects.suspects&year=2024&bd=age@broad:25-44",
        {"width": 1366, "height": 900},
        "#guidance[data-status=ready]",
    ),
    "profile-guidance": (
        "#theme=population&ind=population.inhabitants&year=2023&gm=GM0363&level=buurt",
        {"width": 1366, "height": 900},
        "#areas-guidance[data-status=ready]",
    ),
    "wijk-boundaries": (
        "#theme=population&ind=population.inhabitants&year=2023&gm=GM0344",
        {"width": 1366, "height": 900},
        "#areas-tiles[data-kind=boundaries]",
    ),
    "english": (
        "#lang=en&theme=transactions&ind=transactions.transactions&year=2022",
        {"width": 1366, "height": 900},
        None,
    ),
}


@pytest.fixture
def axe_page(browser, server) -> Iterator[Any]:
    context = browser.new_context(bypass_csp=True)
    pg = context.new_page()
    pg.base = server.base  # type: ignore[attr-defined]
    yield pg
    context.close()


@pytest.mark.parametrize("name", list(VIEWS))
def test_no_serious_or_critical_axe_violations(axe_page, name):
    hash_, viewport, wait_for = VIEWS[name]
    axe_page.set_viewport_size(viewport)
    axe_page.goto(f"{axe_page.base}/{hash_}")
    axe_page.wait_for_selector("#map[data-status=ready]", timeout=30_000)
    axe_page.wait_for_selector("#scatter[data-status=ready]", timeout=30_000)
    if wait_for:
        axe_page.wait_for_selector(wait_for, timeout=30_000)
    axe_page.add_script_tag(path=str(AXE))
    violations = axe_page.evaluate(RUN)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"axe-{name}.json").write_text(json.dumps(violations, indent=1), "utf-8")
    axe_page.screenshot(path=str(ARTIFACTS / f"view-{name}.png"), full_page=True)
    blocking = [v for v in violations if v["impact"] in BLOCKING]
    assert blocking == [], json.dumps(blocking, indent=1)


def test_a_wijk_whose_composite_has_no_figure_is_unranked_not_x(page):
    # The fixture has no wijk with a rate over 0, so the API's answer is changed on its way to
    # the page: the first wijk's composite becomes what such a wijk gets (null, safe).
    changed = []

    def no_figure(route):
        body = route.fetch().json()
        row = next(r for r in body["rows"] if r["members"]["residence@wijk"])
        row["cells"]["composite"] = {"value": None, "status": "safe", "reason": None}
        changed.append(row["labels"]["residence@wijk"])
        route.fulfill(json=body)

    page.route(re.compile(r".*/aggregate\?.*ranking=.*"), no_figure)
    open_dashboard(page, "#theme=drugs&ind=drug_suspects.suspects&year=2023&gm=GM0363")
    page.wait_for_selector("#search-areas[data-status=ready]", timeout=30_000)
    assert len(changed) == 1
    rows = page.eval_on_selector_all(
        "#search-table tbody tr",
        "rs => rs.map(r => [r.dataset.status, ...[1, 2].map(i => r.children[i].textContent)])",
    )
    assert [s for s, name, _ in rows if name == changed[0]] == ["unranked"]
    assert [t for _, name, t in rows if name == changed[0]] == ["."]
    assert page.errors == []  # type: ignore[attr-defined]


def test_the_brochure_views_of_a_gemeente(page, server):
    open_dashboard(page, "#theme=drugs&ind=drug_suspects.suspects&year=2023&gm=GM0363")
    for part in ("flows", "breakdowns", "search-areas", "sectors"):
        page.wait_for_selector(f"#{part}[data-status=ready]", timeout=30_000)
    # Woon- x pleeggemeente: the published flows out of Amsterdam, largest first.
    out = server.json(
        "/api/v1/cubes/drug_suspects/aggregate",
        measures="suspects",
        drilldown="offence@gemeente",
        cut=["residence@gemeente:GM0363", "period@year:2023"],
    )["rows"]
    shown = [r for r in out if r["cells"]["suspects"]["status"] != "suppressed"]
    shown = [r for r in shown if r["cells"]["suspects"]["value"]]
    items = page.locator("#flows-out li")
    assert items.count() == min(8, len(shown))
    # Kansrijke zoekgebieden: every wijk of the gemeente, ranked ones first, components shown.
    wijken = server.json(
        "/api/v1/cubes/population/aggregate",
        measures="inhabitants",
        drilldown="region@wijk",
        cut=["region@wijk:descendants(GM0363)", "period@year:2023"],
    )["rows"]
    assert page.locator("#search-table tbody tr").count() == len(wijken)
    assert page.locator("#search-table thead th").count() == 3 + 4
    ranked = int(page.get_attribute("#search-areas", "data-ranked"))
    rows = page.eval_on_selector_all(
        "#search-table tbody tr",
        "rs => rs.map(r => [r.dataset.status, ...[1, 2].map(i => r.children[i].textContent)])",
    )
    assert [s for s, _, _ in rows[:ranked]] == ["ranked"] * ranked
    # the rest: `x` where the API's composite is suppressed, `.` where it has no figure
    composite = {
        r["labels"]["residence@wijk"]: r["cells"]["composite"]
        for r in server.json(
            "/api/v1/cubes/drug_suspects/aggregate",
            measures=",".join(SEARCH_MEASURES),
            drilldown="residence@wijk",
            cut=["residence@wijk:descendants(GM0363)", "period@year:2023"],
            ranking=",".join(SEARCH_MEASURES),
        )["rows"]
        if r["members"]["residence@wijk"]
    }
    for status, name, text in rows[ranked:]:
        cell = composite[name]
        hidden = cell["status"] == "suppressed"
        assert (status, text) == (("suppressed", "x") if hidden else ("unranked", ".")), name
    # Breakdowns: one bar per age group and per drug type, the cash line from the FIU cube.
    by_age = server.json(
        "/api/v1/cubes/drug_suspects/aggregate",
        measures="suspects",
        drilldown="age@broad",
        cut=["residence@gemeente:GM0363", "period@year:2023"],
    )["rows"]
    assert page.locator("#break-age .bar").count() == len(by_age) == 5
    assert page.locator("#break-drug .bar").count() >= 5
    assert "contant geld" in page.inner_text("#break-cash")
    # Branches: one row per SBI section; a section's divisions in one choice.
    assert page.locator("#sectors-table tbody tr").count() == 21
    page.select_option("#sector-pick", "G")
    page.wait_for_selector("#sectors[data-level=division][data-status=ready]")
    codes = page.eval_on_selector_all(
        "#sectors-table tbody tr td:first-child", "ts => ts.map(t => t.textContent.slice(0, 2))"
    )
    assert sorted(codes) == ["45", "46", "47"]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "view-brochure.png"), full_page=True)
    assert page.errors == []  # type: ignore[attr-defined]


# --- guidance where the x's are, one click where the page can show it --------------------


def guidance_of(server, cube: str, **params: str | list[str]) -> dict:
    return server.json(f"/api/v1/cubes/{cube}/aggregate/guidance", **params)


def test_the_map_goes_to_provincies_in_one_click_and_back(page, server):
    open_dashboard(page, "#ind=drug_suspects.suspects&year=2024&pool=1")
    page.wait_for_selector("#guidance[data-status=ready]:not([hidden])", timeout=30_000)
    api = guidance_of(
        server,
        "drug_suspects",
        measures="suspects",
        drilldown="residence@gemeente",
        cut="period@year:2024",
    )
    coarser = next(s for s in api["suggestions"] if s["kind"] == "coarser_level")
    item = page.locator("#guidance li[data-kind=coarser_level]")
    assert item.locator("button").count() == 1 and item.locator("a").count() == 0
    assert f"per provincie: {coarser['with_value']} van 12" in item.inner_text()
    item.locator("button").click()
    page.wait_for_selector("#map[data-level=provincie][data-status=ready]")
    assert "ml=provincie" in page.url
    answer = server.json(
        "/api/v1/cubes/drug_suspects/aggregate",
        measures="suspects",
        drilldown="residence@provincie",
        cut="period@year:2024",
    )
    expected = {r["members"]["residence@provincie"]: r["cells"]["suspects"] for r in answer["rows"]}
    painted = page.eval_on_selector_all(
        "#map path.pv",
        "ps => ps.map(p => [p.dataset.code, p.dataset.status, p.getAttribute('fill')])",
    )
    assert len(painted) == 12
    for code, status, fill in painted:
        assert status == expected[code]["status"], code
        assert (fill == HATCH) == (status == "suppressed"), code
    # Provincies are in the Tab order, the hidden gemeenten are not.
    assert page.eval_on_selector_all("#map path.pv[tabindex='0']", "ps => ps.length") == 12
    assert page.eval_on_selector_all("#map path.gm[tabindex='0']", "ps => ps.length") == 0
    page.locator("#guidance button", has_text="Toon gemeenten").click()
    page.wait_for_selector("#map[data-level=gemeente][data-status=ready]")
    assert "ml=" not in page.url
    assert page.errors == []  # type: ignore[attr-defined]


PROFILE = "#theme=population&ind=population.inhabitants&year=2023&gm=GM0363"


def test_the_wijk_table_says_what_would_publish_and_a_buurt_table_goes_to_wijken(page, server):
    open_dashboard(page, f"{PROFILE}&level=buurt")
    page.wait_for_selector("#profile[data-status=ready][data-gm=GM0363]", timeout=30_000)
    box = page.locator("#areas-guidance")
    page.wait_for_selector("#areas-guidance[data-status=ready]:not([hidden])", timeout=30_000)
    rows = page.locator("#areas-table tbody tr")
    values = page.eval_on_selector_all(
        "#areas-table tbody tr td:last-child", "ts => ts.map(t => t.textContent)"
    )
    with_value = sum(1 for v in values if v not in ("x", "0"))
    assert f"{with_value} van de {rows.count()} buurten" in box.inner_text()
    api = guidance_of(
        server,
        "population",
        measures="inhabitants",
        drilldown="region@buurt",
        cut=["region@buurt:descendants(GM0363)", "period@year:2023"],
        order="-inhabitants",
    )
    coarser = next(s for s in api["suggestions"] if s["kind"] == "coarser_level")
    item = box.locator("li[data-kind=coarser_level]")
    assert f"per wijk: {coarser['with_value']} van {coarser['cells']}" in item.inner_text()
    item.locator("button").click()
    page.wait_for_function(
        "() => document.querySelector('input[name=level][value=wijk]').checked"
        " && document.querySelector('#areas-count').textContent === '" + str(coarser["cells"]) + "'"
    )
    assert "level=wijk" in page.url
    # At wijk level the next step up is the gemeente as a whole, shown in the profile itself.
    page.wait_for_selector("#areas-guidance[data-status=ready]:not([hidden])", timeout=30_000)
    assert "wijken" in box.inner_text()
    box.locator("li[data-kind=coarser_level] button").click()
    page.wait_for_function("() => document.activeElement.id === 'neighbours-heading'")
    assert page.errors == []  # type: ignore[attr-defined]


def test_a_mostly_published_wijk_table_has_no_guidance(page):
    open_dashboard(page, "#theme=population&ind=population.inhabitants&year=2023&gm=GM0014")
    page.wait_for_selector("#profile[data-status=ready][data-gm=GM0014]", timeout=30_000)
    page.wait_for_selector("#areas-guidance[data-status=ready]", state="attached")
    values = page.eval_on_selector_all(
        "#areas-table tbody tr td:last-child", "ts => ts.map(t => t.textContent)"
    )
    share = sum(1 for v in values if v not in ("x", "0")) / len(values)
    assert page.locator("#areas-guidance").is_hidden() == (share >= 0.9)


# --- the brochure's breakdowns nationally and per gemeente on the map ----------------------


def test_national_breakdowns_and_one_group_per_gemeente_on_the_map(page, server):
    open_dashboard(page, "#ind=drug_suspects.suspects&year=2024&pool=1")
    page.wait_for_selector("#national[data-status=ready]", timeout=30_000)
    parts = page.eval_on_selector_all(
        "#national .national-part", "ps => ps.map(p => p.dataset.item)"
    )
    assert {"age@broad", "drug_type@drug_type"} <= set(parts)
    national = server.json(
        "/api/v1/cubes/drug_suspects/aggregate",
        measures="suspects",
        drilldown="age@broad",
        cut="period@year:2024",
    )
    ages = [r for r in national["rows"] if r["members"].get("age@broad")]
    bars = page.locator("#national .national-part[data-item='age@broad'] g.bar")
    assert bars.count() == len(ages) > 0
    group = next(r["members"]["age@broad"] for r in ages if r["cells"]["suspects"]["value"])
    # Keyboard: the picker is a plain select in the controls.
    page.focus("#breakdown")
    page.select_option("#breakdown", f"age@broad:{group}")
    page.wait_for_selector(f"#map[data-breakdown='age@broad:{group}'][data-status=ready]")
    assert "bd=age%40broad" in page.url or "bd=age@broad" in page.url
    answer = server.json(
        "/api/v1/cubes/drug_suspects/aggregate",
        measures="suspects",
        drilldown="residence@gemeente,age@broad",
        cut="period@year:2024",
    )
    expected = {
        r["members"]["residence@gemeente"]: r["cells"]["suspects"]["status"]
        for r in answer["rows"]
        if r["members"].get("age@broad") == group and r["members"].get("residence@gemeente")
    }
    state = map_state(page)
    assert {c: s["status"] for c, s in state.items() if c in expected} == expected
    assert group in page.inner_text("#map-heading")
    # Mostly x per gemeente and age group: "without the breakdown" is one click.
    page.wait_for_selector("#guidance[data-status=ready]:not([hidden])", timeout=30_000)
    page.locator("#guidance button", has_text="Geen uitsplitsing").click()
    page.wait_for_selector("#map[data-breakdown=''][data-status=ready]")
    assert "bd=" not in page.url and page.input_value("#breakdown") == ""
    assert page.errors == []  # type: ignore[attr-defined]


def test_the_cash_breakdown_of_suspicious_transactions(page, server):
    open_dashboard(page, "#theme=transactions&ind=transactions.transactions&year=2024")
    page.wait_for_selector("#national[data-status=ready]", timeout=30_000)
    parts = page.eval_on_selector_all(
        "#national .national-part", "ps => ps.map(p => p.dataset.item)"
    )
    assert "cash@value" in parts
    options = page.eval_on_selector_all("#breakdown option", "os => os.map(o => o.value)")
    assert any(o.startswith("cash@value:") for o in options)
    page.select_option("#breakdown", next(o for o in options if o.startswith("cash@value:")))
    page.wait_for_selector("#map[data-breakdown^='cash@value:'][data-status=ready]")
    assert page.errors == []  # type: ignore[attr-defined]


def test_on_a_phone_the_breakdowns_fit_and_work(page):
    page.set_viewport_size({"width": 390, "height": 844})
    open_dashboard(page, "#ind=drug_suspects.suspects&year=2024&bd=drug_type@drug_type:cannabis")
    page.wait_for_selector("#national[data-status=ready]", timeout=30_000)
    page.wait_for_selector("#map[data-breakdown='drug_type@drug_type:cannabis']")
    assert page.input_value("#breakdown") == "drug_type@drug_type:cannabis"
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    smallest = page.evaluate(
        """() => Math.min(...[...document.querySelectorAll('#national svg.chart text')]
            .filter(t => t.getBBox().width > 0)
            .map(t => t.getBoundingClientRect().height))"""
    )
    assert smallest >= 11, smallest
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "view-phone-breakdown.png"), full_page=True)
    assert page.errors == []  # type: ignore[attr-defined]


# --- a first map of each theme that shows what it can -------------------------------------


def with_value(cells: dict[str, dict]) -> int:
    return sum(1 for c in cells.values() if c["status"] != "suppressed" and c["value"])


def test_events_mostly_x_per_year_are_pooled_by_default_and_say_why(page, server):
    open_dashboard(page, "#ind=drug_suspects.suspects&year=2024")
    single = map_answer(server, "drug_suspects", "suspects", "2024")
    pooled = map_answer(server, "drug_suspects", "suspects", "2022..2024")
    assert with_value(single) < 0.9 * 342, "the fixture should have a mostly-x single year"
    assert with_value(pooled) > with_value(single), "pooling should show more here"
    page.wait_for_selector("#guidance[data-status=ready]:not([hidden])", timeout=30_000)
    assert page.get_attribute("#map", "data-period") == "2022..2024"
    assert page.inner_text("#map-year") == "2022–2024"
    assert "pool=" not in page.url  # a default, not a choice: the link stays "this year"
    state = map_state(page)
    assert {c: s["status"] for c, s in state.items() if c in pooled} == {
        c: cell["status"] for c, cell in pooled.items()
    }
    text = page.inner_text("#guidance")
    assert f"Per jaar tonen maar {with_value(single)} van de 342 gemeenten" in text
    assert f"tonen {with_value(pooled)} van de 342 gemeenten" in text
    assert "minder dan 10" in text  # why cells are x, from the cube's policy
    # The profile and the national breakdowns follow the map's period.
    page.wait_for_selector("#national[data-status=ready]", timeout=30_000)
    assert "2022–2024" in page.inner_text("#national-heading")
    page.locator("#guidance button", has_text="Toon één jaar").click()
    page.wait_for_selector("#map[data-period='2024'][data-status=ready]")
    assert "pool=1" in page.url
    assert page.errors == []  # type: ignore[attr-defined]


def test_a_stock_is_not_pooled_even_where_mostly_x(page, server):
    # Establishments on 1 January: a stock, mostly x per gemeente in the small fixture.
    open_dashboard(page, "#ind=companies.convicted_director_establishments&year=2023")
    cells = map_answer(server, "companies", "convicted_director_establishments", "2023")
    assert with_value(cells) < 0.9 * 342
    page.wait_for_selector("#guidance[data-status=ready]", timeout=30_000)
    assert page.get_attribute("#map", "data-period") == "2023"
    assert "samengenomen" not in page.inner_text("#guidance")
    assert page.errors == []  # type: ignore[attr-defined]


def area_paths(pg) -> list[dict[str, Any]]:
    """The wijk/buurt map's areas: code, fill, status and horizontal and vertical centre."""
    return pg.eval_on_selector_all(
        "#areas-tiles path.area",
        """ps => ps.map(p => { const b = p.getBBox();
            return {code: p.dataset.code, fill: p.getAttribute('fill'), status: p.dataset.status,
                    x: b.x + b.width / 2, y: b.y + b.height / 2, w: b.width}; })""",
    )


def test_delivered_wijk_and_buurt_boundaries_are_drawn_and_others_stay_schematic(page, server):
    gm = MAPPED_GEMEENTE
    open_dashboard(page, f"#theme=population&ind=population.inhabitants&year=2023&gm={gm}")
    page.wait_for_selector(f"#profile[data-status=ready][data-gm={gm}]", timeout=30_000)
    page.wait_for_selector("#areas-tiles[data-kind=boundaries]", timeout=30_000)
    delivered = server.json("/api/v1/geometry/wijk", gemeente=gm)
    answer = server.json(
        "/api/v1/cubes/population/aggregate",
        measures="inhabitants",
        drilldown="region@wijk",
        cut=[f"region@wijk:descendants({gm})", "period@year:2023"],
    )["rows"]
    status = {r["members"]["region@wijk"]: r["cells"]["inhabitants"]["status"] for r in answer}
    paths = area_paths(page)
    codes = sorted(f["properties"]["code"] for f in delivered["features"])
    assert [p["code"] for p in paths] == codes and len(codes) >= 2
    assert all(p["w"] > 0 for p in paths)
    # The shapes are the delivered ones: the test's map cuts the gemeente into vertical strips
    # in code order, so the drawn wijken run from west to east in code order.
    xs = [p["x"] for p in sorted(paths, key=lambda p: p["code"])]
    assert xs == sorted(xs)
    assert {p["code"]: p["status"] for p in paths} == {c: status[c] for c in codes}
    hatched = {p["code"] for p in paths if p["fill"] == "url(#area-hatch)"}
    assert hatched == {c for c in codes if status[c] == "suppressed"}
    note = page.inner_text("#profile .schematic-note")
    assert "CBS wijk- en buurtkaart" in note and "Schematisch" not in note
    missing = delivered["areas"] - len(codes)
    assert page.get_attribute("#areas-tiles", "data-missing") == str(missing)
    assert (f"{missing} gebieden hebben geen geleverde grens" in note) == (missing > 0)
    assert "grenzen" in page.get_attribute("#areas-tiles svg", "aria-label")
    # Buurten: each wijk's strip is cut into horizontal strips, south to north in code order.
    page.check("input[name=level][value=buurt]")
    buurten = server.json("/api/v1/geometry/buurt", gemeente=gm)["features"]
    page.wait_for_function(
        "n => document.querySelectorAll('#areas-tiles path.area').length === n", arg=len(buurten)
    )
    paths = area_paths(page)
    assert sorted(p["code"] for p in paths) == sorted(f["properties"]["code"] for f in buurten)
    first_wijk = sorted(
        (p for p in paths if p["code"].startswith("BU" + codes[0][2:])), key=lambda p: p["code"]
    )
    ys = [p["y"] for p in first_wijk]
    assert len(ys) >= 2 and ys == sorted(ys, reverse=True)  # north is up: y falls
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "view-buurt-boundaries.png"), full_page=True)
    # Another gemeente has no delivered map: the schematic squares, labelled as such.
    open_dashboard(page, "#theme=population&ind=population.inhabitants&year=2023&gm=GM0363")
    page.wait_for_selector("#profile[data-status=ready][data-gm=GM0363]", timeout=30_000)
    page.wait_for_selector("#areas-tiles[data-kind=schematic]", timeout=30_000)
    assert page.locator("#areas-tiles path.area").count() == 0
    assert "Schematische kaart" in page.inner_text("#profile .schematic-note")
    assert page.errors == []  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "view, item, cube, measure",
    [
        ("#theme=real_estate&ind=dwellings.dwellings&year=2024", "owner_type@owner_type",
         "dwellings", "dwellings"),
        ("#theme=sectors&ind=companies.establishments&year=2024", "legal_form@legal_form",
         "companies", "establishments"),
    ],
)  # fmt: skip
def test_real_estate_and_sectors_are_broken_down_nationally_with_readable_axes(
    page, server, view, item, cube, measure
):
    """Dwellings by owner type and establishments by legal form, as the API gives them
    (their theme's panel said "no data" before), with tick labels that stand apart."""
    open_dashboard(page, view)
    page.wait_for_selector("#national[data-status=ready]", timeout=30_000)
    national = server.json(
        f"/api/v1/cubes/{cube}/aggregate", measures=measure, drilldown=item, cut="period@year:2024"
    )
    rows = [r for r in national["rows"] if r["members"].get(item)]
    bars = page.locator(f"#national .national-part[data-item='{item}'] g.bar")
    assert bars.count() == len(rows) > 1
    assert _ticks_apart(page, f"#national .national-part[data-item='{item}']")
    # national figures of the full data (millions) in the same box: labels still apart
    page.evaluate(
        """async (sel) => {
            const { barChart } = await import("/dashboard/js/charts.js");
            const box = document.querySelector(sel + " .chart-box");
            const cell = (value) => ({ value, status: "safe" });
            barChart(box, [{ name: "a", cell: cell(5190879) }, { name: "b", cell: cell(480715) }],
                     { lang: "nl", decimals: 0, title: "t" });
        }""",
        f"#national .national-part[data-item='{item}']",
    )
    assert _ticks_apart(page, f"#national .national-part[data-item='{item}']")
    options = page.eval_on_selector_all("#breakdown option", "os => os.map(o => o.value)")
    assert any(o.startswith(f"{item}:") for o in options)
    assert page.errors == []  # type: ignore[attr-defined]


def _ticks_apart(page, selector: str) -> bool:
    """Whether the x-axis tick labels of the chart in ``selector`` (at least two) stand
    apart: 6 px or more between neighbours."""
    boxes = page.eval_on_selector_all(
        f"{selector} .tick text",
        "ts => ts.map(t => { const b = t.getBBox(); const m = t.getCTM(); "
        "return [m.e + b.x, m.e + b.x + b.width]; })",
    )
    boxes.sort()
    return len(boxes) >= 2 and all(a[1] + 6 <= b[0] for a, b in pairwise(boxes))
