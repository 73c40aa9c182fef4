"""Confidentiality across answers: attackers who combine many answers by integer programming.

Through the real service (Flask app, API keys, audit, risk gate) on a synthetic Netherlands
built by ``zicht demo`` (scale ``ZICHT_ATTACK_SCALE``, default 0.02; ``make attack`` runs 0.1),
each attack asks many overlapping questions from many clients, merges every answer into one
integer programme (``tests/hardening/reconstruct.py``) and tries every small group (1 to 9
contributors) it touched. Required: no group recovered exactly, no feasible interval narrower
than the documented protection. The figures go to ``ZICHT_HARDENING_FIGURES`` (README).
"""

from __future__ import annotations

import functools
import itertools
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from cube.model import load_catalog
from sdc.ckm import PTable, generate_ptable
from tests.hardening.hardening_fixtures import AGG, make_app, write_figures
from tests.hardening.reconstruct import THRESHOLD, Levels, Outcome, Product, Reconstruction

SCALE = float(os.environ.get("ZICHT_ATTACK_SCALE", "0.02"))
FULL = os.environ.get("ZICHT_ATTACK_FULL") == "1"  # every target, not a sample
YEAR = "2023"
CLIENTS = [f"k-series-{i:03d}-attacker" for i in range(40)]
FIGURES: dict[str, Any] = {}


@functools.cache
def support() -> PTable:
    """The default policy's perturbation table of counts (public)."""
    ckm = load_catalog().policies["default"].ckm
    return generate_ptable(ckm.D, ckm.V, ckm.js, THRESHOLD, ckm.tail, ckm.tail_mass)


class World:
    """The service, a many-client attacker and the true microdata of one release."""

    def __init__(self, home: Path, db: Path):
        keys = ",".join(f"c{i}={k}" for i, k in enumerate(CLIENTS))
        # cache_size 0 caches no answer anywhere: every repeat is recomputed, so a busy machine
        # gets a time limit well above one answer's cost
        self.app = make_app(home, api_keys=keys, cache_size=0, query_timeout_s=120)
        self.client = self.app.test_client()
        self.turn = itertools.cycle(CLIENTS)
        self.con = duckdb.connect(str(db), read_only=True)
        rows = self.con.execute("SELECT level, id, code, provincie FROM region").fetchall()
        self.code = {(lv, rid): code for lv, rid, code, _ in rows}
        self.gemeenten = sorted(code for lv, _, code, _ in rows if lv == "gemeente")
        self.region = {
            row[0]: row[1:]
            for row in self.con.execute(
                "SELECT code, provincie, veiligheidsregio, politie_eenheid FROM region "
                "WHERE level = 'gemeente'"
            ).fetchall()
        }
        self.answers = 0

    def ask(self, body: dict[str, Any], cube: str = "drug_suspects") -> dict[tuple, dict]:
        """One answer, from the next of many clients; cells of its first measure by members."""
        self.answers += 1
        headers = {"X-API-Key": next(self.turn)}
        response = self.client.post(AGG.format(cube=cube), json=body, headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        answer = response.json
        items, measure = answer["drilldown"], answer["measures"][0]["id"]
        return {
            tuple(r["members"].get(i) for i in items): r["cells"][measure] for r in answer["rows"]
        }

    def truth(self, by: str, where: str) -> dict[tuple, tuple[int, int]]:
        """(rows, distinct holdings) of fact_suspects per ``by`` columns."""
        sql = (
            f"SELECT {by}, count(*), count(DISTINCT holding) FROM fact_suspects "
            f"WHERE {where} GROUP BY ALL"
        )
        out = {}
        for row in self.con.execute(sql).fetchall():
            *key, rows, holdings = row
            out[tuple(key)] = (int(rows), int(holdings))
        return out

    def close(self) -> None:
        self.con.close()
        self.app.extensions["zicht"].close()


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:
    home = Path(os.environ.get("ZICHT_ATTACK_HOME") or tmp_path_factory.mktemp("series"))
    current = home / "current"
    if not current.exists():
        subprocess.run(
            [sys.executable, "-m", "service.cli", "--home", str(home), "demo",
             "--scale", str(SCALE), "--seed", "7", "--first-year", "2015"],
            check=True, capture_output=True,
        )  # fmt: skip
    w = World(home, _current_db(home))
    yield w
    w.close()
    write_figures("series", FIGURES, os.environ.get("ZICHT_HARDENING_FIGURES"))


def _current_db(home: Path) -> Path:
    from loaders.releases import current_release

    rel = current_release(home)
    assert rel is not None
    return rel.db_path


def attack(name: str, outcome: Outcome) -> None:
    FIGURES[name] = outcome.figures()
    assert outcome.groups > 0, f"{name}: no small group to attack"
    assert outcome.recovered == [], f"{name}: recovered {outcome.recovered[:5]}"
    assert outcome.narrowed == [], f"{name}: narrowed {outcome.narrowed[:5]}"


def solve(
    outcome: Outcome, name: str, rec: Reconstruction, truth: list[int], targets: list[int]
) -> None:
    """Every small target unit of one integer programme: its rows' feasible interval."""
    rec.consistent_with(truth)
    ckm = load_catalog().policies["default"].ckm
    core = generate_ptable(ckm.D, ckm.V, ckm.js, THRESHOLD)
    for t in targets:
        found = rec.feasible([t])
        assert found is not None, "the attacker's model is refuted by the answers"
        floor = rec.feasible([t], statuses_only=True)
        outcome.record(f"{name}[{t}]", truth[t], *found, rec.holdings, floor[0] if floor else 1)
        outcome.bet(truth[t], rec.feasible([t], core))


def gm_id(world: World) -> dict[int, str]:
    return {rid: code for (lv, rid), code in world.code.items() if lv == "gemeente"}


# --- 1. overlapping period ranges --------------------------------------------------------------


def _ranges(units: list[str]) -> list[tuple[str, str]]:
    return [(a, b) for i, a in enumerate(units) for b in units[i:]]


def _period_attack(world: World, level: str, units: list[str], levels: Levels, where: str):
    """Every range of ``units`` (codes at ``level``), by gemeente, plus every member alone."""
    outcome = Outcome()
    recs: dict[str, Reconstruction] = {}
    by_unit = {u: i for i, u in enumerate(units)}
    queries = [(a, b) for a, b in _ranges(units)]
    for a, b in queries:
        cut = {"dimension": "period", "level": level, "from": a, "to": b}
        body = {"measures": ["registrations"], "drilldown": ["residence@gemeente"], "cuts": [cut]}
        for (gm,), cell in world.ask(body).items():
            rec = recs.setdefault(gm, Reconstruction(len(units), support(), holdings=False))
            rec.observe(levels, range(by_unit[a], by_unit[b] + 1), cell)
    outcome.answers = len(queries)
    truth = world.truth(f"residence_gemeente, {_period_sql(level)}", where)
    codes = gm_id(world)
    per_gm: dict[str, list[tuple[int, int]]] = {}
    for (gid, code), counts in truth.items():
        per_gm.setdefault(codes[gid], [(0, 0)] * len(units))
        if code in by_unit:
            per_gm[codes[gid]][by_unit[code]] = counts
    chosen = sorted(per_gm)
    for gm in chosen:
        counts = per_gm[gm]
        targets = [i for i, (_, h) in enumerate(counts) if 1 <= h < THRESHOLD]
        if targets and gm in recs:
            solve(outcome, f"{gm}", recs[gm], [r for r, _ in counts], targets)
    return outcome


def _period_sql(level: str) -> str:
    return {
        "month": "printf('%d-%02d', year, month)",
        "quarter": "printf('%d-Q%d', year, quarter)",
        "year": "CAST(year AS VARCHAR)",
    }[level]


def test_overlapping_month_ranges_within_a_year(world):
    months = [f"{YEAR}-{m:02d}" for m in range(1, 13)]
    levels = Levels({"year": [0] * 12, "quarter": [m // 3 for m in range(12)],
                     "month": list(range(12))})  # fmt: skip
    attack("month_ranges", _period_attack(world, "month", months, levels, f"year = {YEAR}"))


def test_overlapping_quarter_ranges_over_two_years(world):
    quarters = [f"{y}-Q{q}" for y in (2022, 2023) for q in range(1, 5)]
    levels = Levels({"year": [q // 4 for q in range(8)], "quarter": list(range(8))})
    outcome = _period_attack(world, "quarter", quarters, levels, "year IN (2022, 2023)")
    attack("quarter_ranges", outcome)


def test_overlapping_multi_year_ranges(world):
    years = [str(y) for y in range(2015, 2025)]
    n = len(years)
    # the last 3 and 5 years are pooled populations of their own (cube/compose.py)
    pooled = {f"last{k}": [k if i >= n - k else f"y{i}" for i in range(n)] for k in (3, 5)}
    levels = Levels({"all": [0] * n, "year": list(range(n)), **pooled})
    attack("year_ranges", _period_attack(world, "year", years, levels, "TRUE"))


# --- 2. member sets sharing a target, exclusions and neighbours ---------------------------------


def _region_levels(world: World) -> Levels:
    gms = world.gemeenten
    return Levels(
        {
            "land": [0] * len(gms),
            "provincie": [world.region[g][0] for g in gms],
            "politie_eenheid": [world.region[g][2] for g in gms],
            "veiligheidsregio": [world.region[g][1] for g in gms],
            "gemeente": gms,
        }
    )


def _gemeente_truth(world: World) -> tuple[list[int], list[int]]:
    truth = world.truth("residence_gemeente", f"year = {YEAR}")
    codes = gm_id(world)
    rows = {codes[k[0]]: v for k, v in truth.items() if k[0] is not None}
    return (
        [rows.get(g, (0, 0))[0] for g in world.gemeenten],
        [rows.get(g, (0, 0))[1] for g in world.gemeenten],
    )


def _single(world: World, cuts: list[dict]) -> dict:
    year = {"dimension": "period", "level": "year", "members": [YEAR]}
    (cell,) = world.ask({"measures": ["registrations"], "cuts": [*cuts, year]}).values()
    return cell


def test_member_sets_sharing_a_small_target(world):
    levels, index = _region_levels(world), {g: i for i, g in enumerate(world.gemeenten)}
    rows, holdings = _gemeente_truth(world)
    rec = Reconstruction(len(world.gemeenten), support(), holdings=False)
    small = [g for g in world.gemeenten if 1 <= holdings[index[g]] < THRESHOLD]
    targets = small if FULL else small[:12]
    big = [g for g in world.gemeenten if holdings[index[g]] >= 3 * THRESHOLD]
    asked = 0
    for g in targets:
        partners = [h for h in big if world.region[h][0] == world.region[g][0]][:4] or big[:4]
        groups = [(g,), *[(g, *c) for k in (1, 2, 3) for c in itertools.combinations(partners, k)]]
        groups += [tuple(c) for k in (1, 2) for c in itertools.combinations(partners, k)]
        for members in groups:
            cut = {"dimension": "residence", "level": "gemeente", "members": list(members)}
            rec.observe(levels, [index[m] for m in members], _single(world, [cut]))
            asked += 1
    outcome = Outcome(answers=asked)
    solve(outcome, "member sets", rec, rows, [index[g] for g in targets])
    attack("member_sets", outcome)


def test_exclusions_and_neighbours(world):
    levels, index = _region_levels(world), {g: i for i, g in enumerate(world.gemeenten)}
    rows, holdings = _gemeente_truth(world)
    rec = Reconstruction(len(world.gemeenten), support(), holdings=False)
    small = [g for g in world.gemeenten if 1 <= holdings[index[g]] < THRESHOLD]
    targets = small if FULL else small[:10]
    neighbours = dict(
        world.con.execute(
            "SELECT gemeente, list(neighbour) FROM region_neighbour GROUP BY gemeente"
        ).fetchall()
    )
    asked = 0
    everyone = list(range(len(world.gemeenten)))
    for g in targets:
        cut = {"dimension": "residence", "level": "gemeente", "members": [g], "exclude": True}
        rec.observe(levels, [u for u in everyone if u != index[g]], _single(world, [cut]))
        for self_too in (True, False):
            cut = {"dimension": "residence", "level": "gemeente", "relation": "neighbours",
                   "of": g, "include_self": self_too}  # fmt: skip
            members = [index[n] for n in neighbours.get(g, [])] + ([index[g]] if self_too else [])
            if members:
                rec.observe(levels, members, _single(world, [cut]))
                asked += 1
        rec.observe(levels, everyone, _single(world, []))
        asked += 2
    outcome = Outcome(answers=asked)
    solve(outcome, "exclusions", rec, rows, [index[g] for g in targets])
    attack("exclusions_neighbours", outcome)


# --- 3. hierarchies ----------------------------------------------------------------------------


def test_regional_divisions(world):
    """Gemeenten against every division that groups them: provincie, veiligheidsregio,
    politie-eenheid and the country, with margins."""
    levels, index = _region_levels(world), {g: i for i, g in enumerate(world.gemeenten)}
    rows, holdings = _gemeente_truth(world)
    rec = Reconstruction(len(world.gemeenten), support(), holdings=False)
    year = {"dimension": "period", "level": "year", "members": [YEAR]}
    asked = 0
    for parent in ("provincie", "veiligheidsregio", "politie_eenheid"):
        col = {"provincie": 0, "veiligheidsregio": 1, "politie_eenheid": 2}[parent]
        for totals in ("none", "margins"):
            body = {"measures": ["registrations"], "cuts": [year], "totals": totals,
                    "drilldown": [f"residence@{parent}", "residence@gemeente"]}  # fmt: skip
            asked += 1
            for (p, g), cell in world.ask(body).items():
                if g is not None:
                    rec.observe(levels, [index[g]], cell)
                elif p is not None:
                    rec.observe(levels, [i for i, x in enumerate(world.gemeenten)
                                         if world.region[x][col] == p], cell)  # fmt: skip
                else:
                    rec.observe(levels, list(range(len(world.gemeenten))), cell)
    small = [index[g] for g in world.gemeenten if 1 <= holdings[index[g]] < THRESHOLD]
    outcome = Outcome(answers=asked)
    solve(outcome, "divisions", rec, rows, small if FULL else small[:40])
    attack("regional_divisions", outcome)


def test_buurt_wijk_gemeente(world):
    truth = world.truth("residence_gemeente, residence_wijk, residence_buurt", f"year = {YEAR}")
    codes = world.code
    per_gm: dict[str, dict[tuple[str, str], tuple[int, int]]] = {}
    for (g, w, b), counts in truth.items():
        if g is None:
            continue
        per_gm.setdefault(codes[("gemeente", g)], {})[(codes[("wijk", w)], codes[("buurt", b)])] = (
            counts
        )
    smallest = sorted(per_gm, key=lambda g: -sum(1 <= h < THRESHOLD for _, h in per_gm[g].values()))
    outcome = Outcome()
    year = {"dimension": "period", "level": "year", "members": [YEAR]}
    for gm in smallest[: (len(smallest) if FULL else 6)]:
        buurten = sorted(
            (code, wk)
            for code, wk in world.con.execute(
                "SELECT code, wijk FROM region WHERE level = 'buurt' AND gemeente = ?", [gm]
            ).fetchall()
        )
        index = {b: i for i, (b, _) in enumerate(buurten)}
        levels = Levels({"gemeente": [0] * len(buurten), "wijk": [w for _, w in buurten],
                         "buurt": [b for b, _ in buurten]})  # fmt: skip
        rec = Reconstruction(len(buurten), support(), holdings=False)
        where = {"dimension": "residence", "level": "gemeente", "members": [gm]}
        for totals in ("none", "margins"):
            body = {"measures": ["registrations"], "cuts": [where, year], "totals": totals,
                    "drilldown": ["residence@wijk", "residence@buurt"]}  # fmt: skip
            outcome.answers += 1
            for (wk, bu), cell in world.ask(body).items():
                if bu is not None:
                    rec.observe(levels, [index[bu]], cell)
                else:
                    rec.observe(levels, [index[b] for b, w in buurten if wk in (None, w)], cell)
        rows = [0] * len(buurten)
        hold = [0] * len(buurten)
        for (_, b), (r, h) in per_gm[gm].items():
            rows[index[b]], hold[index[b]] = r, h
        targets = [i for i, h in enumerate(hold) if 1 <= h < THRESHOLD]
        if targets:
            solve(outcome, gm, rec, rows, targets)
    attack("buurt_wijk_gemeente", outcome)


def test_buurten_broken_down_by_every_attribute(world):
    """Each breakdown of a parent and its published children is one more noisy equation on a
    small child: buurten against their wijk and gemeente, by sex and by drug type, with every
    margin, all merged."""
    sexes = [r[0] for r in world.con.execute(
        "SELECT DISTINCT sex FROM fact_suspects ORDER BY 1").fetchall()]  # fmt: skip
    drugs = [r[0] for r in world.con.execute(
        "SELECT DISTINCT drug_type FROM fact_suspects ORDER BY 1").fetchall()]  # fmt: skip
    truth = world.truth("residence_gemeente, residence_buurt, sex, drug_type", f"year = {YEAR}")
    codes = world.code
    counted: dict[str, int] = {}
    for (g, _, _, _), (_, h) in truth.items():
        if g is not None:
            counted[codes[("gemeente", g)]] = counted.get(codes[("gemeente", g)], 0) + h
    many = int(os.environ.get("ZICHT_ATTACK_BREAKDOWN_GEMEENTEN", 12 if FULL else 2))
    # the largest gemeenten of at most 150 suspects and 40 buurten: several wijken, many small
    # buurten, and integer programmes that stay small enough to solve exactly
    buurten_of = dict(
        world.con.execute(
            "SELECT gemeente, count(*) FROM region WHERE level = 'buurt' GROUP BY gemeente"
        ).fetchall()
    )
    fit = (g for g, h in counted.items() if h <= 150 and buurten_of.get(g, 0) <= 40)
    chosen = sorted(fit, key=lambda g: -counted[g])[:many]
    outcome = Outcome()
    year = {"dimension": "period", "level": "year", "members": [YEAR]}
    ns, nd = len(sexes), len(drugs)
    for gm in chosen:
        buurten = sorted(world.con.execute(
            "SELECT code, wijk FROM region WHERE level = 'buurt' AND gemeente = ?", [gm]
        ).fetchall())  # fmt: skip
        bi = {b: i for i, (b, _) in enumerate(buurten)}
        where = Levels({"gemeente": [0] * len(buurten), "wijk": [w for _, w in buurten],
                        "buurt": [b for b, _ in buurten]})  # fmt: skip
        units = Product(
            Product(where, Levels({"all": [0] * ns, "sex": sexes})),
            Levels({"all": [0] * nd, "drug_type": drugs}),
        )
        rec = Reconstruction(units.n_units, support(), holdings=False)

        def unit(b: int, s: int, d: int) -> int:
            return (b * ns + s) * nd + d

        cut = {"dimension": "residence", "level": "gemeente", "members": [gm]}
        for attr, area in itertools.product(("sex", "drug_type"), ("wijk", "buurt")):
            body = {"measures": ["registrations"], "cuts": [cut, year], "totals": "margins",
                    "drilldown": [f"residence@{area}", attr]}  # fmt: skip
            outcome.answers += 1
            for (a, v), cell in world.ask(body).items():
                if area == "buurt":
                    bs = [bi[a]] if a else list(range(len(buurten)))
                else:
                    bs = [bi[b] for b, w in buurten if a in (None, w)]
                ss = [sexes.index(v)] if attr == "sex" and v else range(ns)
                ds = [drugs.index(v)] if attr == "drug_type" and v else range(nd)
                rec.observe(units, [unit(b, s, d) for b in bs for s in ss for d in ds], cell)
        rows = [0] * units.n_units
        hold: dict[int, int] = {}
        for (g, b, sx, dr), (cnt, h) in truth.items():
            if g is None or codes[("gemeente", g)] != gm or b is None:
                continue
            i = bi[codes[("buurt", b)]]
            rows[unit(i, sexes.index(sx), drugs.index(dr))] = cnt
            hold[i] = hold.get(i, 0) + h
        rec.consistent_with(rows)
        ckm = load_catalog().policies["default"].ckm
        core = generate_ptable(ckm.D, ckm.V, ckm.js, THRESHOLD)
        for i, h in sorted(hold.items()):
            if not 1 <= h < THRESHOLD:
                continue
            target = [unit(i, s, d) for s in range(ns) for d in range(nd)]
            true = sum(rows[u] for u in target)
            found = rec.feasible(target)
            assert found is not None
            floor = rec.feasible(target, statuses_only=True)
            outcome.record(f"{gm} buurt {i}", true, *found, False, floor[0] if floor else 1)
            outcome.bet(true, rec.feasible(target, core))
    attack("buurten_by_attributes", outcome)


# --- 4. woon- × pleeggemeente ------------------------------------------------------------------


def test_residence_by_offence_flows(world):
    provincies = sorted({world.region[g][0] for g in world.gemeenten})
    outcome = Outcome()
    year = {"dimension": "period", "level": "year", "members": [YEAR]}
    for pv in provincies[: (len(provincies) if FULL else 3)]:
        gms = [g for g in world.gemeenten if world.region[g][0] == pv]
        one = Levels({"provincie": [0] * len(gms), "gemeente": gms})
        both = Product(one, one)
        index = {g: i for i, g in enumerate(gms)}
        n = len(gms)
        rec = Reconstruction(n * n, support(), holdings=False)
        cuts = [{"dimension": r, "level": "provincie", "members": [pv]}
                for r in ("residence", "offence")] + [year]  # fmt: skip
        for totals in ("none", "margins"):
            body = {"measures": ["registrations"], "cuts": cuts, "totals": totals,
                    "drilldown": ["residence@gemeente", "offence@gemeente"]}  # fmt: skip
            outcome.answers += 1
            for (r, o), cell in world.ask(body).items():
                rs = [index[r]] if r else range(n)
                os_ = [index[o]] if o else range(n)
                rec.observe(both, [a * n + b for a in rs for b in os_], cell)
        truth = world.truth("residence_gemeente, offence_gemeente", f"year = {YEAR}")
        codes = gm_id(world)
        rows, hold = [0] * (n * n), [0] * (n * n)
        for (r, o), (cnt, h) in truth.items():
            rc, oc = codes.get(r), codes.get(o)
            if rc in index and oc in index:
                rows[index[rc] * n + index[oc]], hold[index[rc] * n + index[oc]] = cnt, h
        targets = [i for i, h in enumerate(hold) if 1 <= h < THRESHOLD]
        solve(outcome, pv, rec, rows, targets if FULL else targets[:25])
    attack("residence_by_offence", outcome)


# --- 5. margins tables: the audit knows what the attacker knows --------------------------------


def test_margins_tables_gemeente_by_drug_type(world):
    """gemeente × drug type with every margin, per provincie: a threshold cell is known to be
    at least 1, and the integer programme uses it."""
    provincies = sorted({world.region[g][0] for g in world.gemeenten})
    drugs = [r[0] for r in world.con.execute(
        "SELECT DISTINCT drug_type FROM fact_suspects ORDER BY 1").fetchall()]  # fmt: skip
    outcome = Outcome()
    year = {"dimension": "period", "level": "year", "members": [YEAR]}
    codes = gm_id(world)
    for pv in provincies[: (len(provincies) if FULL else 6)]:
        gms = [g for g in world.gemeenten if world.region[g][0] == pv]
        both = Product(Levels({"provincie": [0] * len(gms), "gemeente": gms}),
                       Levels({"all": [0] * len(drugs), "drug_type": drugs}))  # fmt: skip
        gi, di, nd = (
            {g: i for i, g in enumerate(gms)},
            {d: i for i, d in enumerate(drugs)},
            len(drugs),
        )
        rec = Reconstruction(len(gms) * nd, support(), holdings=False)
        cut = {"dimension": "residence", "level": "provincie", "members": [pv]}
        body = {"measures": ["registrations"], "cuts": [cut, year], "totals": "margins",
                "drilldown": ["residence@gemeente", "drug_type"]}  # fmt: skip
        outcome.answers += 1
        for (g, d), cell in world.ask(body).items():
            gs = [gi[g]] if g else range(len(gms))
            ds = [di[d]] if d else range(nd)
            rec.observe(both, [a * nd + b for a in gs for b in ds], cell)
        truth = world.truth("residence_gemeente, drug_type", f"year = {YEAR}")
        rows, hold = [0] * (len(gms) * nd), [0] * (len(gms) * nd)
        for (g, d), (cnt, h) in truth.items():
            if codes.get(g) in gi and d in di:
                rows[gi[codes[g]] * nd + di[d]], hold[gi[codes[g]] * nd + di[d]] = cnt, h
        targets = [i for i, h in enumerate(hold) if 1 <= h < THRESHOLD]
        solve(outcome, pv, rec, rows, targets if FULL else targets[:30])
    attack("margins_gemeente_drug_type", outcome)


# --- the attacker itself works: fresh noise per custom group is pinned ------------------------


def test_the_attacker_pins_months_when_every_range_gets_fresh_noise():
    """The same integer programme against the old design (every range its own population
    with its own bounded noise) recovers small months: the suite can fail."""
    import numpy as np

    from sdc.ckm import perturb_counts, uniform_keys

    rng = np.random.default_rng(3)
    table = generate_ptable(2, 1.0, 2, THRESHOLD)  # bounded noise, no tail: the old design
    recovered = 0
    for _ in range(30):
        months = rng.integers(0, 6, 12)
        levels = Levels({"range": list(range(12))})  # every range is one population
        rec = Reconstruction(12, table, holdings=False)
        for a, b in _ranges(list(range(12))):
            true = int(months[a : b + 1].sum())
            key = rng.integers(0, 2**32, 1)
            if 1 <= true < THRESHOLD:
                cell = {"value": None, "status": "suppressed", "reason": "threshold"}
            else:
                value = perturb_counts(np.array([true]), uniform_keys(key), table)[0]
                cell = {"value": value, "status": "perturbed", "reason": None}
            fresh = Levels({f"r{a}-{b}": [0 if a <= u <= b else 1 + u for u in range(12)]})
            rec.observe(fresh, range(a, b + 1), cell)
        del levels
        for m in range(12):
            found = rec.feasible([m])
            if 1 <= months[m] < THRESHOLD and found is not None:
                recovered += round(found[0]) == round(found[1])
    assert recovered > 0
