"""Guidance instead of walls of ``x``: which nearby views of a query would publish more.

``GET /api/v1/cubes/<cube>/aggregate/guidance`` takes exactly the aggregate's GET parameters.
It answers the query and, when less than ``GOOD_ENOUGH`` of its cells shows a value (published
and not 0: a map of zeros says as little as one of ``x``), a few rewrites of it:

- ``pool_periods``: a single year becomes the ``POOL_YEARS`` years up to it (events only, a
  stock on 1 January cannot be pooled). A range of years is answered as the sum of its
  protected years (``cube/compose.py``), so it publishes only where every year does; it shows
  more where single years are 0;
- ``coarser_level``: each region drill-down one level up (buurt → wijk → gemeente → provincie);
- ``fewer_breakdowns``: the drill-downs on other dimensions (age, sex, drug type …) dropped;
- the pooled period combined with either of the other two.

Each rewrite is answered through the service like any other query (cache, disclosure control,
audit log, risk monitor), so the counts it reports are of protected answers a client could ask
for itself, and nothing else is revealed. The rewrites are answered only while the original is
mostly suppressed, and each is given as GET parameters, so a page can offer it in one click.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from werkzeug.datastructures import MultiDict

from cube.errors import UserError
from service.app import service
from service.prepared import prepare
from service.query_params import parse_args
from service.schemas import load_query

GOOD_ENOUGH = 0.9  # from this share of cells with a value on, no suggestions are made
POOL_YEARS = 3
COARSER = {"buurt": "wijk", "wijk": "gemeente", "gemeente": "provincie"}
_YEAR_CUT = re.compile(r"^(?P<role>[^@!:]+)@year:(?P<year>\d{4})$")

Params = tuple[tuple[str, str], ...]

bp = Blueprint("guidance", __name__)


@dataclass(frozen=True, slots=True)
class Alternative:
    kind: str  # pool_periods | coarser_level | fewer_breakdowns | joined with "+"
    params: Params
    years: tuple[str, str] | None = None  # the pooled range, if pooled


def _drilldowns(params: Params) -> list[str]:
    return [d.strip() for n, v in params if n == "drilldown" for d in v.split(",") if d.strip()]


def _with_drilldowns(params: Params, items: Sequence[str]) -> Params:
    rest = tuple((n, v) for n, v in params if n != "drilldown")
    return (*rest, ("drilldown", ",".join(items))) if items else rest


def pool_periods(params: Params, first_year: int | None) -> Alternative | None:
    """The year cut widened to the ``POOL_YEARS`` years up to it (not before ``first_year``)."""
    drilled = {d.split("@")[0] for d in _drilldowns(params)}
    out, pooled = [], None
    for name, value in params:
        m = _YEAR_CUT.match(value) if name == "cut" else None
        if m and pooled is None and m["role"] not in drilled:
            last = int(m["year"])
            first = max(last - POOL_YEARS + 1, first_year or last - POOL_YEARS + 1)
            if first < last:
                pooled = (str(first), str(last))
                value = f"{m['role']}@year:{first}..{last}"
        out.append((name, value))
    return None if pooled is None else Alternative("pool_periods", tuple(out), pooled)


def coarser_level(params: Params, region_roles: frozenset[str]) -> Alternative | None:
    items, changed = [], False
    for item in _drilldowns(params):
        role, _, level = item.partition("@")
        if role in region_roles and level in COARSER:
            item, changed = f"{role}@{COARSER[level]}", True
        items.append(item)
    return Alternative("coarser_level", _with_drilldowns(params, items)) if changed else None


def fewer_breakdowns(params: Params, kept_roles: frozenset[str]) -> Alternative | None:
    items = _drilldowns(params)
    kept = [i for i in items if i.partition("@")[0] in kept_roles]
    if len(kept) == len(items):
        return None
    return Alternative("fewer_breakdowns", _with_drilldowns(params, kept))


def alternatives(
    params: Params,
    *,
    region_roles: frozenset[str],
    period_roles: frozenset[str],
    first_year: int | None,
    poolable: bool = True,
) -> list[Alternative]:
    """The rewrites of a query's GET parameters worth answering, most specific first.

    Stocks (counted on 1 January) are not poolable: a person counts in every year.
    """
    pooled = pool_periods(params, first_year) if poolable else None
    singles = [
        coarser_level(params, region_roles),
        fewer_breakdowns(params, region_roles | period_roles),
    ]
    out = [a for a in (pooled, *singles) if a is not None]
    if pooled is not None:
        for single in singles:
            if single is None:
                continue
            again = (
                coarser_level(pooled.params, region_roles)
                if single.kind == "coarser_level"
                else fewer_breakdowns(pooled.params, region_roles | period_roles)
            )
            if again is not None:
                out.append(Alternative(f"pool_periods+{single.kind}", again.params, pooled.years))
    return out


@dataclass(frozen=True, slots=True)
class Outcome:
    """Cells of a protected answer: all, published (not ``x``), and published and not 0."""

    cells: int
    published: int
    with_value: int

    @property
    def share(self) -> float:
        """The share that shows something: a map of zeros tells as little as one of ``x``."""
        return self.with_value / self.cells if self.cells else 1.0

    def as_json(self) -> dict[str, Any]:
        return {
            "cells": self.cells,
            "published": self.published,
            "with_value": self.with_value,
            "share_with_value": round(self.share, 4),
        }


def _outcome(params: Params, cube: str) -> Outcome:
    body, problems = parse_args(MultiDict(list(params)))
    query = load_query(cube, body, problems)
    answer = service().answer(prepare(query), g.client, "json").entry.answer
    values = [v for row in answer.rows for v in row.values]
    published = [v for v in values if v.status != "suppressed"]
    return Outcome(len(values), len(published), sum(1 for v in published if v.value))


@bp.get("/cubes/<cube>/aggregate/guidance")
def guidance(cube: str) -> Response:
    params: Params = tuple((n, v) for n, v in request.args.items(multi=True) if n != "format")
    now = _outcome(params, cube)  # an invalid query fails here, as it does in aggregate
    body: dict[str, Any] = {"cube": cube, **now.as_json(), "suggestions": []}
    if now.share < GOOD_ENOUGH:
        body["suggestions"] = _suggestions(cube, params, now.share)
    response = jsonify(body)
    response.headers["Cache-Control"] = f"public, max-age={service().settings.http_max_age_s}"
    return response


def _suggestions(cube: str, params: Params, share_now: float) -> list[dict[str, Any]]:
    with service().engines.use() as engine:
        model = engine.cube(cube)
    roles = {d["id"]: d["dimension"] for d in model["dimensions"]}
    years = [int(p) for p in model.get("periods", []) if str(p).isdigit()]
    found = []
    for alt in alternatives(
        params,
        region_roles=frozenset(r for r, d in roles.items() if d == "region"),
        period_roles=frozenset(r for r, d in roles.items() if d == "period"),
        first_year=min(years) if years else None,
        poolable=model.get("period_type") == "event",
    ):
        try:
            outcome = _outcome(alt.params, cube)
        except UserError:
            continue  # e.g. too many cells, or refused by the risk gate: not a suggestion
        if outcome.share > share_now:
            found.append(
                {
                    "kind": alt.kind,
                    "params": [list(p) for p in alt.params],
                    "years": list(alt.years) if alt.years else None,
                    **outcome.as_json(),
                }
            )
    # Best first; among equals the simpler rewrite (fewer parts) first.
    found.sort(key=lambda s: (-s["share_with_value"], s["kind"].count("+")))
    return found
