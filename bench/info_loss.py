"""Information loss: what disclosure control costs a user, on the bench mix and on custom groups.

Per query: the share of suppressed cells (by reason), the mean absolute deviation of published
values from the truth (counts and sums separately), and whether the answer was refused. The
truth comes from the same engine with perturbation switched off (suppression is decided
before perturbation, so the patterns are identical and only the noise differs).

    python -m bench.info_loss --home ~/.cache/zicht-bench/0.1 [--out loss.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench.queries import GM, MIX, PV, YEAR
from cube.engine import Engine
from cube.errors import UserError
from cube.model import load_catalog
from cube.query import Cut, Query
from loaders.releases import current_release

_YEAR = Cut("period", "year", (str(YEAR),))
WK = "WK0363AB"  # Jordaan, a wijk of Amsterdam

# Custom groups, as analysts ask them: their cells are sums of hierarchy members.
CUSTOM: tuple[tuple[str, Query], ...] = (
    (
        "months_feb_to_jun",
        Query("drug_suspects", ("registrations",), ("residence@gemeente",),
              (Cut("period", "month", from_=f"{YEAR}-02", to=f"{YEAR}-06"),)),
    ),
    (
        "three_years_by_gemeente",
        Query("drug_suspects", ("suspects",), ("residence@gemeente",),
              (Cut("period", "year", from_=str(YEAR - 2), to=str(YEAR)),)),
    ),
    (
        "three_years_by_wijk_amsterdam",
        Query("transactions", ("transactions",), ("region@wijk",),
              (Cut("region", "gemeente", (GM,)),
               Cut("period", "year", from_=str(YEAR - 2), to=str(YEAR)))),
    ),
    (
        "neighbours_together",
        Query("drug_suspects", ("suspects",), (),
              (Cut("residence", "gemeente", relation="neighbours", of=GM), _YEAR)),
    ),
    (
        "provincie_but_one_by_sector",
        Query("transactions", ("transactions", "amount"), ("reporting_sector",),
              (Cut("region", "provincie", (PV,)), Cut("region", "gemeente", (GM,), exclude=True),
               _YEAR)),
    ),
    (
        "country_but_one_gemeente_by_year",
        Query("drug_suspects", ("suspects", "suspects_per_10k_inhabitants"), ("period@year",),
              (Cut("residence", "gemeente", (GM,), exclude=True),)),
    ),
    (
        "country_but_one_wijk_by_type",
        Query("transactions", ("transactions", "amount"), ("transaction_type",),
              (Cut("region", "wijk", (WK,), exclude=True), _YEAR)),
    ),
)  # fmt: skip


def _without_noise(engine_catalog: Any) -> Any:
    cubes = {
        cid: replace(c, policy=replace(c.policy, perturb=False))
        for cid, c in engine_catalog.cubes.items()
    }
    return replace(engine_catalog, cubes=cubes)


def _measure(answer: Any, truth: Any) -> list[dict[str, Any]]:
    out = []
    for j, m in enumerate(answer.measures):
        cells = [r.values[j] for r in answer.rows]
        true = [r.values[j] for r in truth.rows]
        published = [(c.value, t.value) for c, t in zip(cells, true, strict=True)
                     if c.value is not None and t.value is not None]  # fmt: skip
        reasons: dict[str, int] = {}
        for c in cells:
            if c.status == "suppressed":
                reasons[c.reason or "none"] = reasons.get(c.reason or "none", 0) + 1
        dev = [abs(a - b) for a, b in published]
        rel = [abs(a - b) / abs(b) for a, b in published if b]
        out.append(
            {
                "measure": m.id,
                "cells": len(cells),
                "suppressed_share": round(sum(reasons.values()) / max(1, len(cells)), 4),
                "suppressed_by_reason": reasons,
                "mean_abs_deviation": round(sum(dev) / len(dev), 4) if dev else None,
                "mean_rel_deviation": round(sum(rel) / len(rel), 5) if rel else None,
            }
        )
    return out


def information_loss(release: Any) -> dict[str, Any]:
    engine = Engine.open(release)
    exact = Engine.open(release, catalog=_without_noise(load_catalog()))
    rows: list[dict[str, Any]] = []
    try:
        queries = [(bq.name, bq.query) for bq in MIX] + list(CUSTOM)
        for name, q in queries:
            q = replace(q, limit=None, offset=0)
            try:
                a, t = engine.answer(q), exact.answer(q)
            except UserError as exc:
                rows.append({"query": name, "refused": type(exc).__name__})
                continue
            rows.append({"query": name, "refused": None, "measures": _measure(a, t)})
    finally:
        engine.close()
        exact.close()
    measures = [m for r in rows for m in r.get("measures", [])]
    cells = sum(m["cells"] for m in measures)
    suppressed = sum(m["suppressed_share"] * m["cells"] for m in measures)
    return {
        "queries": rows,
        "cells": cells,
        "suppressed_share": round(suppressed / max(1, cells), 4),
        "refused": sum(1 for r in rows if r["refused"]),
    }


def print_loss(loss: dict[str, Any]) -> None:
    print(f"\ninformation loss: {loss['suppressed_share']:.1%} of {loss['cells']:,} cells "
          f"suppressed, {loss['refused']} answers refused")  # fmt: skip
    for r in loss["queries"]:
        if r["refused"]:
            print(f"  {r['query']:<32} refused ({r['refused']})")
            continue
        for m in r["measures"]:
            dev = m["mean_abs_deviation"]
            print(
                f"  {r['query']:<32} {m['measure']:<30} {m['cells']:>7,} cells "
                f"{m['suppressed_share']:>6.1%} x  mean |dev| {'-' if dev is None else dev}"
            )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", required=True, help="a zicht home with a current release")
    ap.add_argument("--out", help="write the figures as JSON here")
    args = ap.parse_args(argv)
    release = current_release(Path(args.home))
    if release is None:
        print(f"no current release in {args.home}", file=sys.stderr)
        return 1
    loss = information_loss(release)
    print_loss(loss)
    if args.out:
        Path(args.out).write_text(json.dumps(loss, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
