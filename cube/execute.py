"""Run a part's SQL and align the result with the part's cell grid (empty cells → zeros).

With the ``bounds`` strategy the one-pass result decides most cells; only the cells whose
threshold status the bounds cannot settle (or whose values need exact per-holding sums) are
recomputed by the holding pass, restricted to their rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from cube.axes import RoleAxis
from cube.backend import Backend
from cube.plan import Item, Part
from cube.sql import PartSql
from sdc.table import MeasureStats

MAX_REFINE_TERMS = 400  # beyond this many uncleared cells, refine over all rows


class _Result:
    """One SQL result aligned with the grid: ``col(name)`` gives a per-cell array."""

    def __init__(self, backend: Backend, sql: str, grid: np.ndarray, maps: list[dict[Any, int]]):
        names, self.rows = backend.rows(sql)
        self.names = {name: i for i, name in enumerate(names)}
        self.n = len(grid)
        n_items = len(maps)
        index = {tuple(row): i for i, row in enumerate(grid.tolist())}
        pos = np.full(len(self.rows), -1, dtype=np.int64)
        for r, row in enumerate(self.rows):
            g = row[n_items]
            coords = tuple(
                -1 if (g >> (n_items - 1 - i)) & 1 else maps[i].get(row[i], -2)
                for i in range(n_items)
            )
            pos[r] = index.get(coords, -1)
        self.hit = np.nonzero(pos >= 0)[0]
        self.pos = pos[self.hit]

    def col(self, name: str, dtype: Any = np.float64) -> np.ndarray:
        out = np.zeros(self.n, dtype=dtype)
        c = self.names[name]
        out[self.pos] = np.array([self.rows[r][c] or 0 for r in self.hit], dtype=dtype)
        return out

    def top2(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        x1, x2 = np.zeros(self.n), np.zeros(self.n)
        c = self.names[name]
        for r, p in zip(self.hit, self.pos, strict=True):
            top = self.rows[r][c] or []
            x1[p] = top[0] if len(top) > 0 else 0.0
            x2[p] = top[1] if len(top) > 1 else 0.0
        return x1, x2


def _key_maps(
    part: Part, items: tuple[Item, ...], axes: Mapping[str, RoleAxis]
) -> list[dict[Any, int]]:
    maps = []
    for item_idx, role in zip(part.items, part.roles, strict=True):
        lax = axes[role].levels[items[item_idx].level]
        maps.append({k: i for i, k in enumerate(lax.keys)})
    return maps


def _stats(res: _Result, j: int, m: Any) -> dict[str, np.ndarray]:
    out = {
        "n": res.col(f"n{j}", np.int64),
        "c": res.col(f"c{j}", np.int64),
        "key": res.col(f"key{j}", np.int64),
    }
    if m.kind == "sum":
        out["s"] = res.col(f"s{j}")
        out["x1"], out["x2"] = res.top2(f"top{j}")
    return out


def _uncleared(res: _Result, j: int, m: Any, threshold: int) -> np.ndarray:
    """Cells the bounds cannot settle: rows of one holding repeat in the cell and either the
    value needs exact holdings (distinct counts, sums) or Σ 1/rows stays under the threshold."""
    repeated = res.col(f"mr{j}") > 1
    if m.kind == "sum" or m.count == "holdings":
        return repeated
    return repeated & (res.col(f"lb{j}") < threshold)


def _literal(v: Any) -> str:
    return str(int(v)) if isinstance(v, int | np.integer) else "'" + str(v).replace("'", "''") + "'"


def _refine_where(
    grid: np.ndarray,
    cells: np.ndarray,
    part: Part,
    items: tuple[Item, ...],
    axes: Mapping[str, RoleAxis],
) -> str:
    """Rows of the uncleared cells only (or every row when there are too many or a total)."""
    coords = grid[cells]
    if len(coords) > MAX_REFINE_TERMS or (coords < 0).all(axis=1).any():
        return ""
    keys = [
        axes[role].levels[items[i].level].keys
        for i, role in zip(part.items, part.roles, strict=True)
    ]
    terms = set()
    for row in coords.tolist():
        conds = [f"k{d} = {_literal(keys[d][c])}" for d, c in enumerate(row) if c >= 0]
        terms.add("(" + " AND ".join(conds) + ")")
    return "WHERE " + " OR ".join(sorted(terms))


def run_part(
    con: Backend,
    ps: PartSql,
    part: Part,
    items: tuple[Item, ...],
    grid: np.ndarray,
    axes: Mapping[str, RoleAxis],
) -> dict[str, MeasureStats]:
    """Execute and return, per base measure, its statistics for every cell of ``grid`` (the
    part's own grid: the answer's cells on the part's items)."""
    maps = _key_maps(part, items, axes)
    if ps.strategy == "holding":
        res = _Result(con, ps.holding.format(where=""), grid, maps)
        per = [_stats(res, j, m) for j, m in enumerate(ps.measures)]
    else:
        res = _Result(con, ps.one_pass, grid, maps)
        per = [_stats(res, j, m) for j, m in enumerate(ps.measures)]
        if ps.strategy == "bounds":
            _refine(con, ps, part, items, grid, axes, maps, res, per)
    return {m.id: _measure_stats(m, s) for m, s in zip(ps.measures, per, strict=True)}


def _refine(con, ps, part, items, grid, axes, maps, res, per) -> None:  # type: ignore[no-untyped-def]
    policy = part.cube.policy
    todo = [
        _uncleared(res, j, m, policy.for_measure(m.id).threshold) for j, m in enumerate(ps.measures)
    ]
    cells = np.nonzero(np.any(todo, axis=0))[0] if todo else np.zeros(0, dtype=np.int64)
    for j, s in enumerate(per):  # cleared cells: Σ 1/rows is a lower bound on holdings
        lb = np.ceil(res.col(f"lb{j}") - 1e-9).astype(np.int64)
        s["c"] = np.where(res.col(f"mr{j}") > 1, lb, s["c"])
    if len(cells) == 0:
        return
    where = _refine_where(grid, cells, part, items, axes)
    exact = _Result(con, ps.holding.format(where=where), grid, maps)
    for j, (m, s) in enumerate(zip(ps.measures, per, strict=True)):
        fixed = _stats(exact, j, m)
        for name, arr in fixed.items():
            s[name][cells] = arr[cells]


def _measure_stats(m: Any, s: dict[str, np.ndarray]) -> MeasureStats:
    value = (s["c"] if m.count == "holdings" else s["n"]).astype(np.float64)
    zeros = np.zeros(len(s["n"]))
    return MeasureStats(
        kind="count" if m.kind == "count" else "magnitude",
        value=s["s"] if m.kind == "sum" else value,
        contributors=s["c"],
        x1=s.get("x1", zeros),
        x2=s.get("x2", zeros),
        cell_key=s["key"],
        additive_value=s["n"].astype(np.float64) if m.count == "holdings" else None,
    )
