"""Run a part's SQL and align the result with the answer's cell grid (empty cells → zeros)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import duckdb
import numpy as np

from cube.axes import RoleAxis
from cube.plan import Item, Part
from cube.sql import PartSql
from sdc.table import MeasureStats


def _cell_index(grid: np.ndarray) -> dict[tuple[int, ...], int]:
    return {tuple(row): i for i, row in enumerate(grid.tolist())}


def _key_maps(
    part: Part, items: tuple[Item, ...], axes: Mapping[str, RoleAxis]
) -> list[dict[Any, int]]:
    maps = []
    for item_idx, role in zip(part.items, part.roles, strict=True):
        lax = axes[role].levels[items[item_idx].level]
        maps.append({k: i for i, k in enumerate(lax.keys)})
    return maps


def run_part(
    con: duckdb.DuckDBPyConnection,
    ps: PartSql,
    part: Part,
    items: tuple[Item, ...],
    grid: np.ndarray,
    axes: Mapping[str, RoleAxis],
) -> dict[str, MeasureStats]:
    """Execute and return, per base measure, its statistics for every cell of ``grid`` (the
    part's own grid: the answer's cells on the part's items)."""
    cur = con.execute(ps.sql)
    names = [d[0] for d in cur.description]
    rows = cur.fetchall()
    n, n_items = len(grid), ps.n_items
    index = _cell_index(grid)
    maps = _key_maps(part, items, axes)
    pos = np.full(len(rows), -1, dtype=np.int64)
    for r, row in enumerate(rows):
        g = row[n_items]
        coords = []
        for i in range(n_items):
            if (g >> (n_items - 1 - i)) & 1:
                coords.append(-1)
            else:
                coords.append(maps[i].get(row[i], -2))
        pos[r] = index.get(tuple(coords), -1)
    hit = pos >= 0
    col = {name: i for i, name in enumerate(names)}
    out = {}
    for j, m in enumerate(ps.measures):

        def take(name: str, dtype: Any) -> np.ndarray:
            arr = np.zeros(n, dtype=dtype)
            c = col[name]
            vals = np.array([row[c] or 0 for row in rows], dtype=dtype) if rows else arr[:0]
            arr[pos[hit]] = vals[hit]
            return arr

        count = take(f"n{j}", np.int64)
        contributors = take(f"c{j}", np.int64)
        value = (contributors if m.count == "holdings" else count).astype(np.float64)
        x1 = np.zeros(n)
        x2 = np.zeros(n)
        if m.kind == "sum":
            value = take(f"s{j}", np.float64)
            c = col[f"top{j}"]
            for r in np.nonzero(hit)[0]:
                top = rows[r][c] or []
                x1[pos[r]] = top[0] if len(top) > 0 else 0.0
                x2[pos[r]] = top[1] if len(top) > 1 else 0.0
        out[m.id] = MeasureStats(
            kind="count" if m.kind == "count" else "magnitude",
            value=value,
            contributors=contributors,
            x1=x1,
            x2=x2,
            cell_key=take(f"key{j}", np.int64),
            additive_value=count.astype(np.float64) if m.count == "holdings" else None,
        )
    return out
