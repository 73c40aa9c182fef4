"""Queries the bench does not contain: valid queries drawn at random from the release's own
catalog, each answered with nothing of it cached (answer and SQL; a shape compiled before
is reused, as on a server that has run a while), to find the slow and the failing ones.

    python -m bench.random_mix --home ~/.cache/zicht-bench/1 [--queries 300] [--seed 11]
                               [--wide] [--slow-ms 1000] [--out F]

Each query: one of the release's cubes, one to three of its dimensions each at a level drawn
from its levels, one to three of its measures (counts, sums, rates, shares, indexes,
changes), totals none, grand or margins, and cuts: a year, a range of up to four years or
none; and half the time a region cut (up to 30 gemeenten, a provincie, or the wijken or
buurten of a gemeente). ``--wide`` draws what else the query contract allows on top:
cuts on the other dimensions (member sets, ranges, exclusions), neighbours and peers of a
gemeente, an excluded provincie, a derived measure, a ranking, an order with a page, a
coarser rounding, a measure of another cube and English labels. The same seed (and
``--wide`` or not) draws the same queries from the same release.
Reported: per query its time, status and cells; the median, 95th percentile and maximum of
the answered ones; the slowest; every error other than the refusals a valid-looking query
may get (``invalid_query``: a level the cube lacks for a cut; ``too_many_cells``), a
``query_timeout`` included. Exit status 1 when there is any.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from cube.engine import Engine
from cube.errors import InvalidQuery, TooManyCells, UserError
from cube.members import REGION_LEVELS
from cube.query import Cut, Derived, Order, Query, Ranking, Relation, Totals
from loaders.releases import current_release

TOTALS: tuple[Totals, ...] = ("none", "grand", "margins")


class Draw:
    """Random valid-looking queries over one engine's catalog (members read once per level)."""

    def __init__(self, engine: Engine, seed: int, wide: bool = False):
        self.engine = engine
        self.rnd = random.Random(seed)
        self.wide = wide
        self.models = {c["id"]: engine.cube(c["id"]) for c in engine.cubes()}
        self._members: dict[tuple[str, str, str], list[str]] = {}

    def members(self, cube: str, role: str, level: str) -> list[str]:
        key = (cube, role, level)
        if key not in self._members:
            try:
                found = self.engine.members(cube, role, level, limit=100_000)[0]
            except UserError:  # the cube has no such level for this role
                found = []
            self._members[key] = [m["code"] for m in found]
        return self._members[key]

    def query(self) -> Query:
        rnd = self.rnd
        cube = rnd.choice(sorted(self.models))
        model = self.models[cube]
        dims = model["dimensions"]
        chosen = rnd.sample(dims, min(rnd.choice((1, 1, 2, 2, 2, 3)), len(dims)))
        drill = tuple(f"{d['id']}@{rnd.choice(d['levels'])['id']}" for d in chosen)
        measures = [m["id"] for m in model["measures"]]
        picked = tuple(rnd.sample(measures, rnd.randint(1, min(3, len(measures)))))
        query = Query(cube, picked, drill, self.cuts(cube, model), totals=rnd.choice(TOTALS))
        return self.widened(query, model) if self.wide else query

    def widened(self, query: Query, model: dict[str, Any]) -> Query:
        """``query`` with what else the contract allows, each part drawn on its own."""
        rnd, extra = self.rnd, dict[str, Any]()
        cuts = list(query.cuts) + self.other_cuts(query, model)
        if len(query.measures) >= 2 and rnd.random() < 0.25:
            num, den = rnd.sample(query.measures, 2)
            extra["derived"] = (Derived("ratio", num, den, rnd.choice((1.0, 100.0, 1000.0))),)
        if query.drilldown and len(query.measures) >= 2 and rnd.random() < 0.2:
            chosen = rnd.sample(query.measures, rnd.randint(2, len(query.measures)))
            extra["ranking"] = Ranking(tuple(chosen), rnd.choice(("rank", "zscore")))
        if rnd.random() < 0.3:
            by = [*query.measures, *(it.split("@")[0] for it in query.drilldown)]
            extra["order"] = (Order(rnd.choice(by), desc=rnd.random() < 0.5),)
            if rnd.random() < 0.5:
                extra["limit"], extra["offset"] = rnd.randint(1, 50), rnd.choice((0, 0, 5))
        if rnd.random() < 0.15:
            extra["options"] = (("rounding", rnd.choice(("5", "10"))),)
        other = [c for c in sorted(self.models) if c != query.cube]
        if other and rnd.random() < 0.15:
            cube = rnd.choice(other)
            measure = rnd.choice(self.models[cube]["measures"])["id"]
            extra["measures"] = (*query.measures, f"{cube}.{measure}")
        if rnd.random() < 0.2:
            extra["lang"] = "en"
        return replace(query, cuts=tuple(cuts), **extra)

    def other_cuts(self, query: Query, model: dict[str, Any]) -> list[Cut]:
        """Cuts a user of the dashboard makes besides a year and a region: a set, range or
        exclusion on another dimension; neighbours or peers of a gemeente; no provincie."""
        rnd, out = self.rnd, []
        cut_roles = {c.role for c in query.cuts}
        others = [d for d in model["dimensions"] if d["id"] not in cut_roles]
        if others and rnd.random() < 0.4:
            dim = rnd.choice(others)
            level = rnd.choice(dim["levels"])["id"]
            codes = self.members(query.cube, dim["id"], level)
            if codes:
                if level not in REGION_LEVELS and rnd.random() < 0.3:
                    a = rnd.randrange(len(codes))
                    b = min(len(codes) - 1, a + rnd.randrange(6))
                    out.append(Cut(dim["id"], level, from_=codes[a], to=codes[b]))
                else:
                    k = rnd.randint(1, min(8, len(codes)))
                    chosen = tuple(rnd.sample(codes, k))
                    out.append(Cut(dim["id"], level, chosen, exclude=rnd.random() < 0.3))
                cut_roles.add(dim["id"])
        regional = [
            d["id"]
            for d in model["dimensions"]
            if d["id"] not in cut_roles and any(lv["id"] == "gemeente" for lv in d["levels"])
        ]
        if regional and rnd.random() < 0.3:
            role, r = regional[0], rnd.random()
            gemeenten = self.members(query.cube, role, "gemeente")
            if r < 0.7 and gemeenten:
                relation: Relation = rnd.choice(("neighbours", "peers"))
                of = rnd.choice(gemeenten)
                out.append(
                    Cut(role, "gemeente", relation=relation, of=of, include_self=rnd.random() < 0.5)
                )
            else:
                provincies = self.members(query.cube, role, "provincie")
                if provincies:
                    out.append(Cut(role, "provincie", (rnd.choice(provincies),), exclude=True))
        return out

    def cuts(self, cube: str, model: dict[str, Any]) -> tuple[Cut, ...]:
        rnd, out = self.rnd, []
        periods = model.get("periods") or []
        if periods and any(d["id"] == "period" for d in model["dimensions"]):
            r = rnd.random()
            if r < 0.6:
                out.append(Cut("period", "year", (rnd.choice(periods),)))
            elif r < 0.85:
                a = rnd.randrange(len(periods))
                b = min(len(periods) - 1, a + rnd.randrange(4))
                out.append(Cut("period", "year", from_=periods[a], to=periods[b]))
        regional = [
            d
            for d in model["dimensions"]
            if d["id"] != "period" and any(lv["id"] == "gemeente" for lv in d["levels"])
        ]
        if regional and rnd.random() < 0.5:
            role, r = regional[0]["id"], rnd.random()
            gemeenten = self.members(cube, role, "gemeente")
            if r < 0.4 and gemeenten:
                k = min(len(gemeenten), rnd.randint(1, 30))
                out.append(Cut(role, "gemeente", tuple(rnd.sample(gemeenten, k))))
            elif r < 0.7:
                provincies = self.members(cube, role, "provincie")
                if provincies:
                    out.append(Cut(role, "provincie", (rnd.choice(provincies),)))
            elif gemeenten:
                level = rnd.choice(("wijk", "buurt"))
                of = rnd.choice(gemeenten)
                out.append(Cut(role, level, relation="descendants", of=of))
        return tuple(out)


def run(engine: Engine, n: int, seed: int, wide: bool = False) -> list[dict[str, Any]]:
    """Draw and answer ``n`` queries; one record per query."""
    draw, out = Draw(engine, seed, wide), []
    for i in range(n):
        query = draw.query()
        engine.answer_cache.clear()
        engine.sql_cache.clear()
        record: dict[str, Any] = {"i": i, "query": repr(query)}
        start = time.perf_counter()
        try:
            answer = engine.answer(query)
            record |= {"status": "ok", "cells": answer.total_rows}
        except (InvalidQuery, TooManyCells) as exc:
            record["status"] = exc.error_type
        except Exception as exc:  # what this bench is for (a time-out too): report, go on
            record["status"] = f"error: {type(exc).__name__}"
        record["ms"] = round((time.perf_counter() - start) * 1000, 3)
        out.append(record)
    return out


def summary(records: list[dict[str, Any]], slow_ms: float) -> dict[str, Any]:
    times = sorted(r["ms"] for r in records if r["status"] == "ok")
    errors = [r for r in records if r["status"].startswith("error")]
    slow = sorted((r for r in records if r["ms"] > slow_ms), key=lambda r: -r["ms"])
    return {
        "queries": len(records),
        "answered": len(times),
        "refused": len(records) - len(times) - len(errors),
        "errors": errors,
        "median_ms": statistics.median(times) if times else None,
        "p95_ms": times[int(0.95 * (len(times) - 1))] if times else None,
        "max_ms": times[-1] if times else None,
        "slow": slow,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", required=True, help="a zicht home with a current release")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--wide", action="store_true", help="draw every form of the contract")
    ap.add_argument("--slow-ms", type=float, default=1000.0)
    ap.add_argument("--out", help="write every record and the summary as JSON here")
    args = ap.parse_args(argv)
    release = current_release(Path(args.home))
    if release is None:
        raise SystemExit(f"no release in {args.home}")
    engine = Engine.open(release)
    try:
        records = run(engine, args.queries, args.seed, args.wide)
    finally:
        engine.close()
    result = {"release": release.id, "seed": args.seed, "wide": args.wide}
    result |= summary(records, args.slow_ms)
    print(
        f"{result['queries']} queries (seed {args.seed}): {result['answered']} answered, "
        f"{result['refused']} refused, {len(result['errors'])} errors; median "
        f"{result['median_ms']} ms, p95 {result['p95_ms']} ms, max {result['max_ms']} ms"
    )
    for r in result["slow"][:15]:
        print(f"  {r['ms']:10.1f} ms  {r['status']}  {r['query']}")
    return finish(result, records, args.out)


def finish(
    result: dict[str, Any], records: list[dict[str, Any]], out: str | None
) -> dict[str, Any]:
    """Print every error of a run, write the run as JSON to ``out`` (if given); the result."""
    for r in result["errors"]:
        print(f"  ERROR {r['status']}  {r['query']}")
    if out:
        Path(out).write_text(json.dumps({**result, "records": records}, indent=1))
    return result


if __name__ == "__main__":
    sys.exit(1 if main()["errors"] else 0)
