"""An independent, row-by-row computation of cell statistics (no SQL, no Ibis): the reference
for differential tests of the planner."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from cube.engine import Engine
from cube.plan import Plan
from dimensions import age as agedef

KEY_MOD = 2**32


def _member(engine: Engine, cube, row: dict, role_id: str, level: str, regions: dict) -> str:
    role = cube.role(role_id)
    dim = role.dimension.id
    if dim == "region":
        return "NL01" if level == "land" else regions[(level, row[f"{role.prefix}_{level}"])]
    if dim == "period":
        if level == "year":
            return str(row["year"])
        if level == "quarter":
            return f"{row['year']}-Q{row['quarter']}"
        return f"{row['year']}-{row['month']:02d}"
    value = row[role.column(level)]
    if value is None:
        return "unknown"
    if dim == "age":
        return {
            "single": lambda a: str(min(a, agedef.MAX_AGE)),
            "band5": agedef.band5_code,
            "broad": agedef.broad_code,
            "youth": agedef.youth_code,
        }[level](value)
    if dim == "income":
        return str(value) if level == "decile" else str((value + 1) // 2)
    if dim == "yes_no":
        return "yes" if value else "no"
    return str(value)


def _passes(measure, row: dict) -> bool:
    ops = {
        "eq": lambda a, b: a == b,
        "ne": lambda a, b: a != b,
        "le": lambda a, b: a <= b,
        "lt": lambda a, b: a < b,
        "ge": lambda a, b: a >= b,
        "gt": lambda a, b: a > b,
        "in": lambda a, b: a in b,
    }
    return all(
        row[f.column] is not None and ops[f.op](row[f.column], f.value) for f in measure.filters
    )


def oracle_stats(engine: Engine, plan: Plan, grid: np.ndarray, fact_rows: list[dict]) -> dict:
    """Per measure of the main cube: value, contributors, x1, x2, cell_key for every cell."""
    cube = plan.cube
    axes = engine.axes_for(cube)
    regions = {}
    for level, rl in engine.store.regions.items():
        for i, code in enumerate(rl.codes):
            regions[(level, i + 1)] = code
    allowed = []
    for kf in next(p for p in plan.parts if p.cube is cube and p.shift == 0).filters:
        lax = axes[kf.role].levels[kf.level]
        codes = {lax.codes[lax.keys.index(k)] for k in kf.keys}
        allowed.append((kf.role, kf.level, codes))
    rows = [
        r
        for r in fact_rows
        if all(_member(engine, cube, r, ro, lv, regions) in codes for ro, lv, codes in allowed)
    ]
    item_codes = [
        [_member(engine, cube, r, it.role, it.level, regions) for it in plan.items] for r in rows
    ]
    part = next(p for p in plan.parts if p.cube is cube and p.shift == 0)
    out = {}
    for m in part.measures:
        stats = {k: np.zeros(len(grid)) for k in ("value", "contributors", "x1", "x2", "cell_key")}
        for c, coords in enumerate(grid.tolist()):
            want = [
                None if x < 0 else axes[it.role].levels[it.level].codes[x]
                for x, it in zip(coords, plan.items, strict=True)
            ]
            per_holding: dict[int, float] = defaultdict(float)
            n, key = 0, 0
            for r, codes in zip(rows, item_codes, strict=True):
                if all(
                    w is None or w == got for w, got in zip(want, codes, strict=True)
                ) and _passes(m, r):
                    n += 1
                    key += r["record_key"]
                    per_holding[r["holding"]] += r[m.column] if m.kind == "sum" else 1
            top = [*sorted(per_holding.values(), reverse=True), 0.0, 0.0]
            stats["contributors"][c] = len(per_holding)
            stats["value"][c] = (
                sum(per_holding.values())
                if m.kind == "sum"
                else len(per_holding)
                if m.count == "holdings"
                else n
            )
            stats["cell_key"][c] = key % KEY_MOD
            if m.kind == "sum" or m.count != "holdings":  # sums and counts of rows
                stats["x1"][c], stats["x2"][c] = top[0], top[1]
        out[m.id] = stats
    return out
