"""Disclosure attacks through the public HTTP API, against a real release whose microdata the
test reads directly (research/sdc-methods.md §4.1).

What "recover" means here. The attacker knows the published cells and the public policy
(threshold 10 on distinct contributors, cell key noise of at most D = 5 (±2 for 98 % of
cells, a tail of 3 to 5 for the rest: the table's support is what an attacker can rely on), a
published 0 is a true 0). From every published cell it derives the set of true values
consistent with it:

- status ``safe``: exactly the published value (the API promises no noise was added);
- status ``perturbed``: ``[v - D, v + D]``, and at least the threshold for counts of
  contributors (a published count is never below it);
- ``suppressed`` for ``threshold``: 1 to 9 contributors; otherwise anything ``>= 0``.

An attack *recovers* a group below the threshold (1..9 true contributors) when the values it
can still take, given everything the attacker received and those rules, are exactly one
(for the margins attack: the integer programme's minimum equals its maximum). Every attack
must recover none. We also report how close it came: the share of groups whose point
estimate (the plain difference of published values) happened to equal the truth, which
noise makes likely by chance but never certain, and the narrowest feasible set.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp

from tests.hardening.hardening_fixtures import (
    Truth,
    admin,
    cells,
    make_app,
    post,
    release_and_home,
    write_figures,
)

D = 5  # public: the support of the count perturbation table (policies.yaml: tail 5)
THRESHOLD = 10
KEYS = {
    "differ": "k-differ-0001",
    "average": "k-average-002",
    "margins": "k-margins-003",
    "combine": "k-combine-004",
    "tracker": "k-tracker-005",
    "sweeper": "k-sweeper-006",
}
FIGURES: dict[str, Any] = {}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    release, home = release_and_home(tmp_path_factory.mktemp("attacks"))
    keys = ",".join(f"{name}={key}" for name, key in KEYS.items())
    # No answer cache: every repeat is recomputed, the strongest form of averaging.
    app = make_app(home, api_keys=keys, cache_size=0)
    truth = Truth(release.db_path)
    yield app, truth
    truth.close()
    app.extensions["zicht"].close()
    write_figures("attacks", FIGURES, os.environ.get("ZICHT_HARDENING_FIGURES"))


def client_for(app, who: str):
    client = app.test_client()
    client.environ_base["HTTP_X_API_KEY"] = KEYS[who]
    return client


def interval(cell: dict[str, Any], holdings: bool = True, k: int = 1) -> tuple[float, float]:
    """The true values consistent with one published cell (see the module docstring). A
    custom group (a range, a member set, a complement) is published as the sum of its ``k``
    hierarchy members' published values: its noise is at most k·D."""
    value, status, reason = cell["value"], cell["status"], cell["reason"]
    if status == "suppressed":
        if reason == "threshold":
            return (1.0, THRESHOLD - 1.0) if holdings else (1.0, math.inf)
        return (0.0, math.inf)
    if status == "safe" or value == 0:
        return (float(value), float(value))
    floor = THRESHOLD if holdings else 0
    return (float(max(floor, value - k * D)), float(value + k * D))


@dataclass
class Tally:
    """How close one attack came over all the small groups it tried."""

    groups: int = 0
    recovered: list[str] = field(default_factory=list)
    exact_estimates: int = 0
    estimates: int = 0
    widths: list[float] = field(default_factory=list)

    def attack(self, name: str, true: int, lo: float, hi: float, estimate: float | None) -> None:
        """Count the attack on a group if the group is below the threshold."""
        if 1 <= true < THRESHOLD:
            self.record(name, true, lo, hi, estimate)

    def record(self, name: str, true: int, lo: float, hi: float, estimate: float | None) -> None:
        self.groups += 1
        lo = max(lo, 0.0)
        assert lo - 1e-9 <= true <= hi + 1e-9, f"{name}: the truth lies outside the model"
        if math.isfinite(hi) and math.floor(hi + 1e-9) == math.ceil(lo - 1e-9):
            self.recovered.append(name)
        self.widths.append(hi - lo)
        if estimate is not None:
            self.estimates += 1
            self.exact_estimates += int(round(estimate) == true)

    def figures(self) -> dict[str, Any]:
        finite = [w for w in self.widths if math.isfinite(w)]
        return {
            "small_groups_attacked": self.groups,
            "recovered_with_certainty": len(self.recovered),
            "point_estimates": self.estimates,
            "point_estimate_happened_exact": self.exact_estimates,
            "narrowest_feasible_width": min(finite) if finite else None,
            "unbounded_feasible_sets": len(self.widths) - len(finite),
        }

    def check(self, section: str) -> None:
        FIGURES[section] = self.figures()
        assert self.groups > 0, f"{section}: the attack found no small group to try"
        assert self.recovered == [], f"{section}: recovered {self.recovered[:5]}"


def difference(tally: Tally, name: str, big: dict, small: dict, t_big: dict, t_small: dict):
    """Attack every cell pair (big ⊇ small): the group is big minus small."""
    for key, cell in big.items():
        if None in key:
            continue
        other = small.get(key)
        if other is None:
            continue
        true = t_big.get(key, 0) - t_small.get(key, 0)
        lo_b, hi_b = interval(cell)
        lo_s, hi_s = interval(other)
        both = cell["value"] is not None and other["value"] is not None
        estimate = cell["value"] - other["value"] if both else None
        tally.attack(f"{name}{key}", true, lo_b - hi_s, hi_b - lo_s, estimate)


# --- differencing ---------------------------------------------------------------------------

BY_GEMEENTE_YEAR = ["residence@gemeente", "period@year"]
GEMEENTE_YEAR_COLS = ("residence_gemeente", "year")
SUSPECTS = "count(DISTINCT holding)"


def test_differencing_age_ranges(world):
    app, truth = world
    client, tally = client_for(app, "differ"), Tally()
    ages = [r[0] for r in truth.con.execute("SELECT DISTINCT age FROM fact_suspects").fetchall()]
    previous = None
    for top in range(min(ages) - 1, max(ages) + 1):
        cut = {"dimension": "age", "level": "single", "from": "0", "to": str(top)}
        body = {"measures": ["suspects"], "drilldown": BY_GEMEENTE_YEAR, "cuts": [cut]}
        answer = cells(post(client, body), "suspects")
        t = truth.counts("fact_suspects", SUSPECTS, GEMEENTE_YEAR_COLS, f"age <= {top}")
        if previous is not None:
            difference(tally, f"age 0-{top} minus 0-{top - 1}", answer, previous[0], t, previous[1])
        previous = (answer, t)
    tally.check("differencing_age_0_to_a_vs_0_to_a_minus_1")


def test_differencing_all_categories_but_one(world):
    app, truth = world
    client, tally = client_for(app, "differ"), Tally()
    by, cols = ["residence@buurt", "period@year"], ("residence_buurt", "year")
    everything = cells(post(client, {"measures": ["suspects"], "drilldown": by}), "suspects")
    t_all = truth.counts("fact_suspects", SUSPECTS, cols)
    for drug in ("cannabis", "cocaine", "synthetic"):
        cut = {"dimension": "drug_type", "level": "drug_type", "members": [drug], "exclude": True}
        body = {"measures": ["suspects"], "drilldown": by, "cuts": [cut]}
        rest = cells(post(client, body), "suspects")
        t_rest = truth.counts("fact_suspects", SUSPECTS, cols, f"drug_type <> '{drug}'")
        difference(tally, f"all drugs minus all but {drug}", everything, rest, t_all, t_rest)
    tally.check("differencing_all_categories_vs_all_but_one")


def test_differencing_gemeente_minus_one_buurt(world):
    app, truth = world
    client, tally = client_for(app, "differ"), Tally()
    whole = cells(
        post(client, {"measures": ["suspects"], "drilldown": BY_GEMEENTE_YEAR}), "suspects"
    )
    t_whole = truth.counts("fact_suspects", SUSPECTS, GEMEENTE_YEAR_COLS)
    buurten = [c for (lv, c) in truth.region_id if lv == "buurt"]
    for buurt in sorted(buurten):
        cut = {"dimension": "residence", "level": "buurt", "members": [buurt], "exclude": True}
        body = {"measures": ["suspects"], "drilldown": BY_GEMEENTE_YEAR, "cuts": [cut]}
        rest = cells(post(client, body), "suspects")
        where = f"residence_buurt <> {truth.ids('buurt', [buurt])}"
        t_rest = truth.counts("fact_suspects", SUSPECTS, GEMEENTE_YEAR_COLS, where)
        difference(tally, f"gemeente minus {buurt}", whole, rest, t_whole, t_rest)
    tally.check("differencing_gemeente_vs_gemeente_minus_buurt")


# --- averaging ------------------------------------------------------------------------------


def _views(client, truth) -> Iterable[tuple[str, dict]]:
    """The same (gemeente, year) cells reached by many different queries."""
    base = {"measures": ["suspects"], "drilldown": BY_GEMEENTE_YEAR}
    yield "plain", base
    yield "margins", {**base, "totals": "margins"}
    yield "swapped", {**base, "drilldown": ["period@year", "residence@gemeente"]}
    yield "two measures", {**base, "measures": ["registrations", "suspects"]}
    yield "ordered", {**base, "order": [{"by": "suspects", "desc": True}]}
    yield "wide range", {**base, "cuts": [{"dimension": "age", "level": "single", "from": "0",
                                           "to": "105"}]}  # fmt: skip
    for (level, code), _ in sorted(truth.region_id.items()):
        if level == "gemeente":
            cut = {"dimension": "residence", "level": "gemeente", "members": [code]}
            yield f"only {code}", {**base, "cuts": [cut]}
    for year in ("2021", "2022", "2023"):
        cut = {"dimension": "period", "level": "year", "members": [year]}
        yield f"only {year}", {**base, "cuts": [cut]}


def test_averaging_many_queries_and_repeats_give_one_value(world):
    app, truth = world
    client, tally = client_for(app, "average"), Tally()
    seen: dict[tuple, set] = {}
    views = 0
    for _repeat in range(3):
        for _name, body in _views(client, truth):
            for key, cell in cells(post(client, body), "suspects").items():
                key = tuple(key[::-1]) if body["drilldown"][0] == "period@year" else key
                if None not in key:
                    views += 1
                    seen.setdefault(key, set()).add((cell["value"], cell["status"]))
        url = "/api/v1/cubes/drug_suspects/aggregate?measures=suspects"
        got = client.get(url + "&drilldown=residence@gemeente,period@year").json
        for key, cell in cells(got, "suspects").items():
            seen[key].add((cell["value"], cell["status"]))
    t = truth.counts("fact_suspects", SUSPECTS, GEMEENTE_YEAR_COLS)
    # The same contributors always get the same noise: averaging has nothing to average.
    # (Secondary suppression depends on the table asked, so one view may hide a cell that
    # another publishes; the margins attack below merges the views.)
    published = {k: {v for v in vs if v[0] is not None} for k, vs in seen.items()}
    assert all(len(v) <= 1 for v in published.values()), published
    for key, values in published.items():
        for value, status in values:
            lo, hi = interval({"value": value, "status": status, "reason": None})
            tally.attack(f"average{key}", t.get(key, 0), lo, hi, value)
    small = _small_cells_always_suppressed(client, truth)
    FIGURES["averaging"] = {
        "cells": len(seen),
        "views_per_cell": views // len(seen),
        "distinct_published_values_per_cell": max(len(v) for v in published.values()),
        "cells_suppressed_in_some_views_only": sum(len(v) > 1 for v in seen.values()),
        "small_cells_reached_by_several_queries_all_suppressed": small,
    }


def _small_cells_always_suppressed(client, truth) -> int:
    """A buurt-year cell below the threshold is suppressed however it is reached."""
    t = truth.counts("fact_suspects", SUSPECTS, ("residence_buurt", "year"))
    small = {k for k, n in t.items() if 1 <= n < THRESHOLD}
    by = ["residence@buurt", "period@year"]
    views = [{"drilldown": by}, {"drilldown": by, "totals": "margins"}]
    for buurt, year in sorted(small):
        views.append({"drilldown": by, "cuts": [
            {"dimension": "residence", "level": "buurt", "members": [buurt]},
            {"dimension": "period", "level": "year", "members": [year]}]})  # fmt: skip
    for view in views:
        answer = cells(post(client, {"measures": ["suspects"], **view}), "suspects")
        for key in small & set(answer):
            assert answer[key]["status"] == "suppressed", key
    return len(small)


# --- margins: recompute suppressed cells by integer programming ------------------------------


def margin_relations(keys: list[tuple]) -> list[tuple[int, list[int]]]:
    """(total, parts) for every margin of a ``totals=margins`` answer: a total on position i
    is the sum of the rows equal to it except for a member at i."""
    index = {k: n for n, k in enumerate(keys)}
    out = []
    for key in keys:
        for i, member in enumerate(key):
            if member is not None:
                continue
            parts = [
                index[k]
                for k in keys
                if k[i] is not None and all(k[j] == key[j] for j in range(len(key)) if j != i)
            ]
            if parts:
                out.append((index[key], parts))
    return out


def feasible_range(bounds: list[tuple[float, float]], relations, target: int):
    """Integer min and max of cell ``target`` given every cell's interval and the margins."""
    n = len(bounds)
    rows = np.zeros((len(relations), n))
    for r, (total, parts) in enumerate(relations):
        rows[r, total] = 1.0
        rows[r, parts] = -1.0
    lo = np.array([b[0] for b in bounds])
    hi = np.array([b[1] for b in bounds])
    out = []
    for sign in (1.0, -1.0):
        c = np.zeros(n)
        c[target] = sign
        res = milp(
            c,
            constraints=[LinearConstraint(rows, 0.0, 0.0)],
            integrality=np.ones(n),
            bounds=Bounds(lo, hi),
        )
        if res.status == 3:  # unbounded
            out.append(-sign * math.inf)
            continue
        assert res.success, res.message
        out.append(sign * res.fun)
    return out[0], out[1]


def merge(bounds: tuple[float, float], other: dict[str, Any] | None) -> tuple[float, float]:
    if other is None:
        return bounds
    lo, hi = interval(other, holdings=False)
    return max(bounds[0], lo), min(bounds[1], hi)


def test_margins_integer_programme_cannot_pin_a_suppressed_cell(world):
    app, truth = world
    client, tally = client_for(app, "margins"), Tally()
    suppressed_cells = 0
    for year in ("2021", "2022", "2023"):
        for second in ("drug_type", "offence_type"):
            cut = {"dimension": "period", "level": "year", "members": [year]}
            body = {"measures": ["registrations"], "drilldown": ["residence@buurt", second],
                    "totals": "margins", "cuts": [cut]}  # fmt: skip
            answer = cells(post(client, body), "registrations")
            keys = list(answer)
            relations = margin_relations(keys)
            # The attacker merges what another view publishes: the same table without
            # totals needs no secondary suppression.
            plain = cells(post(client, {**body, "totals": "none"}), "registrations")
            bounds = [merge(interval(answer[k], False), plain.get(k)) for k in keys]
            t = truth.counts("fact_suspects", "count(*)", ("residence_buurt", second),
                             f"year = {year}")  # fmt: skip
            small = truth.counts("fact_suspects", SUSPECTS, ("residence_buurt", second),
                                 f"year = {year}")  # fmt: skip
            for n, key in enumerate(keys):
                if answer[key]["status"] != "suppressed" or None in key:
                    continue
                suppressed_cells += 1
                lo, hi = feasible_range(bounds, relations, n)
                # the group is small when its contributors are; its registrations are attacked
                if 1 <= small.get(key, 0) < THRESHOLD:
                    tally.record(f"{year} {key}", t.get(key, 0), lo, hi, None)
    tally.check("margins_integer_programme")
    FIGURES["margins_integer_programme"]["suppressed_cells_attacked"] = suppressed_cells


# --- combinations: derived measures and drill-across -----------------------------------------


def test_derived_measures_never_back_out_a_suppressed_component(world):
    app, truth = world
    client, tally = client_for(app, "combine"), Tally()
    measures = ["suspects_with_family", "suspects", "share_with_family", "change_suspects",
                "suspects_per_10k_inhabitants", "population.inhabitants"]  # fmt: skip
    by = ["residence@buurt", "period@year"]
    answer = post(client, {"measures": measures, "drilldown": by})
    ids = [m["id"] for m in answer["measures"]]
    fam, sus, share, change, rate, inh = (cells(answer, m) for m in ids)
    t_fam = truth.counts(
        "fact_suspects", SUSPECTS, ("residence_buurt", "year"), "family_member_suspect"
    )
    t_sus = truth.counts("fact_suspects", SUSPECTS, ("residence_buurt", "year"))
    checked = 0
    for key in fam:
        if fam[key]["status"] == "suppressed":
            assert share[key]["status"] == "suppressed", key  # reason derived
        if sus[key]["status"] == "suppressed":
            assert share[key]["value"] is None and rate[key]["value"] is None, key
        buurt, year = key
        prev = (buurt, str(int(year) - 1))
        if prev in sus and sus[prev]["status"] == "suppressed":
            assert change[key]["value"] is None, key
        # Drill-across by measures: suspects minus those with a suspect family member.
        if fam[key]["status"] != "suppressed" or sus[key]["status"] != "suppressed":
            lo_a, hi_a = interval(sus[key])
            lo_f, hi_f = interval(fam[key])
            both = sus[key]["value"] is not None and fam[key]["value"] is not None
            estimate = sus[key]["value"] - fam[key]["value"] if both else None
            true = t_sus.get(key, 0) - t_fam.get(key, 0)
            tally.attack(f"without family{key}", true, lo_a - hi_f, hi_a - lo_f, estimate)
        # Back out the family count from share × suspects: no better than the count itself.
        if share[key]["value"] is not None and sus[key]["value"] is not None:
            checked += 1
            lo_s, hi_s = interval(sus[key])
            s = share[key]["value"]
            lo = (s - 0.05) / 100 * lo_s
            hi = (s + 0.05) / 100 * hi_s
            tally.attack(f"share{key}", t_fam.get(key, 0), lo, hi, s / 100 * sus[key]["value"])
        # Back out suspects from the rate and the inhabitants.
        if rate[key]["value"] is not None and inh[key]["value"]:
            lo_i, hi_i = interval(inh[key])
            r = rate[key]["value"]
            lo, hi = (r - 0.05) * lo_i / 10_000, (r + 0.05) * hi_i / 10_000
            tally.attack(f"rate{key}", t_sus.get(key, 0), lo, hi, None)
    tally.check("combinations_derived")
    FIGURES["combinations_derived"]["published_shares_backed_out"] = checked


# --- trackers: pad a small group with a large known one -----------------------------------------


def test_trackers_padding_with_a_large_group(world):
    app, truth = world
    client, tally = client_for(app, "tracker"), Tally()
    cols = ("residence_buurt", "drug_type", "year")
    t = truth.counts("fact_suspects", SUSPECTS, cols)
    per_buurt = truth.counts("fact_suspects", SUSPECTS, ("residence_buurt",))
    pad = max(per_buurt, key=lambda k: per_buurt[k])[0]
    targets = sorted(k for k, n in t.items() if 1 <= n < THRESHOLD and k[0] != pad)
    for buurt, drug, year in targets:

        def ask(members, drug=drug, year=year):
            cuts = [{"dimension": "residence", "level": "buurt", "members": members},
                    {"dimension": "drug_type", "level": "drug_type", "members": [drug]},
                    {"dimension": "period", "level": "year", "members": [year]}]  # fmt: skip
            body = {"measures": ["suspects"], "drilldown": ["period@year"], "cuts": cuts}
            return cells(post(client, body), "suspects")[(year,)]

        padded, known = ask([buurt, pad]), ask([pad])
        true_padded = t[(buurt, drug, year)] + t.get((pad, drug, year), 0)
        assert true_padded - t.get((pad, drug, year), 0) == t[(buurt, drug, year)]
        lo_p, hi_p = interval(padded)
        lo_k, hi_k = interval(known)
        both = padded["value"] is not None and known["value"] is not None
        estimate = padded["value"] - known["value"] if both else None
        tally.attack(f"tracker{buurt, drug, year}", t[(buurt, drug, year)],
                     lo_p - hi_k, hi_p - lo_k, estimate)  # fmt: skip
    tally.check("trackers")


# --- the risk monitor sees the attacks ---------------------------------------------------------


def test_risk_monitor_flags_differencing_and_sweeps(world):
    app, _ = world
    client = client_for(app, "sweeper")
    for year in ("2021", "2022", "2023"):
        cut = {"dimension": "period", "level": "year", "members": [year]}
        body = {"measures": ["suspects"], "drilldown": ["residence@buurt", "age@single"],
                "cuts": [cut]}  # fmt: skip
        post(client, body)
    if not FIGURES.get("differencing_age_0_to_a_vs_0_to_a_minus_1"):
        test_differencing_age_ranges(world)
    checker = app.test_client()
    differ = admin(checker, "risk?client=key:differ")["flags"]
    sweeper = admin(checker, "risk?client=key:sweeper")["flags"]
    kinds = {f["kind"] for f in differ}
    assert "differencing" in kinds
    assert "small_cell_sweep" in {f["kind"] for f in sweeper}
    FIGURES["risk_monitor"] = {
        "differencing_flags": sum(f["kind"] == "differencing" for f in differ),
        "near_identical_flags": sum(f["kind"] == "near_identical" for f in differ),
        "small_cell_sweep_flags": sum(f["kind"] == "small_cell_sweep" for f in sweeper),
    }


# --- magnitudes: differencing sums of money ----------------------------------------------------

P_PERCENT = 0.10  # public: policies.yaml
# public: noise of a published sum is at most tail·δ = 25 % of its largest part (10 % for 98 %)
MAG_NOISE = 0.25


def magnitude_interval(cell: dict[str, Any]) -> tuple[float, float]:
    """True sums consistent with a published sum of positive amounts: |v − T| ≤ 0.25·x1 and
    x1 ≤ T, so T ∈ [v / 1.25, v / 0.75]; exact for a 0; unknown when suppressed."""
    value, status = cell["value"], cell["status"]
    if status == "suppressed":
        return (0.0, math.inf)
    if status == "safe" or value == 0:
        return (float(value), float(value))
    return (value / (1 + MAG_NOISE), value / (1 - MAG_NOISE))


def group_sums(
    truth: Truth, by: tuple[str, ...], where: str
) -> dict[tuple, tuple[float, float, int]]:
    """(sum, largest holding's sum, holdings) of the isolated group per cell."""
    cols = ", ".join(by)
    sql = (
        f"SELECT {cols}, sum(s), max(s), count(*) FROM (SELECT {cols}, holding, "
        f"sum(amount_eur) AS s FROM fact_transactions WHERE {where} GROUP BY ALL) GROUP BY {cols}"
    )
    out = {}
    for row in truth.con.execute(sql).fetchall():
        key = tuple(truth._code(c, v) for c, v in zip(by, row[: len(by)], strict=True))
        out[key] = (float(row[-3]), float(row[-2]), int(row[-1]))
    return out


def test_differencing_magnitudes_never_lands_within_the_protection_interval(world):
    app, truth = world
    client = client_for(app, "differ")
    ratios: list[float] = []
    landed: list[str] = []
    attacks = []
    by_g = ["region@gemeente", "period@year"]
    for (level, code), rid in sorted(truth.region_id.items()):
        if level == "buurt":
            cut = {"dimension": "region", "level": "buurt", "members": [code], "exclude": True}
            group = group_sums(truth, ("region_gemeente", "year"), f"region_buurt = {rid}")
            attacks.append((f"minus {code}", by_g, cut, group))
    by_b = ["region@buurt", "period@year"]
    for sector in ("bank", "money_transfer_office", "notary"):
        cut = {"dimension": "reporting_sector", "level": "reporting_sector",
               "members": [sector], "exclude": True}  # fmt: skip
        group = group_sums(truth, ("region_buurt", "year"), f"reporting_sector = '{sector}'")
        attacks.append((f"all but {sector}", by_b, cut, group))
    whole = {}
    for name, by, cut, group in attacks:
        key_by = tuple(by)
        if key_by not in whole:
            whole[key_by] = cells(post(client, {"measures": ["amount"], "drilldown": by},
                                       cube="transactions"), "amount")  # fmt: skip
        rest = cells(post(client, {"measures": ["amount"], "drilldown": by, "cuts": [cut]},
                          cube="transactions"), "amount")  # fmt: skip
        for key, (true_sum, x1, holdings) in group.items():
            if not 1 <= holdings < THRESHOLD or key not in whole[key_by]:
                continue
            lo_a, hi_a = magnitude_interval(whole[key_by][key])
            lo_b, hi_b = magnitude_interval(rest.get(key, {"value": 0, "status": "safe"}))
            lo, hi = max(0.0, lo_a - hi_b), hi_a - lo_b
            assert lo - 1e-6 <= true_sum <= hi + 1e-6, (name, key)
            protection = (true_sum - P_PERCENT * x1, true_sum + P_PERCENT * x1)
            if protection[0] <= lo and hi <= protection[1]:
                landed.append(f"{name}{key}")
            ratios.append((hi - lo) / (2 * P_PERCENT * x1))
    FIGURES["differencing_magnitudes"] = {
        "small_groups_attacked": len(ratios),
        "feasible_set_within_protection_interval": len(landed),
        "narrowest_feasible_width_in_protection_widths": round(min(ratios), 2)
        if ratios and math.isfinite(min(ratios))
        else None,
    }
    assert ratios, "no small group isolated"
    assert landed == [], landed[:5]
