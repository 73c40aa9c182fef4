"""Run a part's SQL and align the result with the part's cell grid (empty cells → zeros).

With the ``bounds`` strategy the one-pass result decides most cells; only the cells whose
threshold status the bounds cannot settle (or whose values need exact per-holding sums) are
recomputed by the holding pass, restricted to their rows.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import cachetools
import numpy as np

from cube.axes import RoleAxis
from cube.backend import Backend
from cube.plan import Item, Part
from cube.sql import KEY_MOD, SUM_SCALE, PartSql
from sdc.table import MeasureStats


class _Result:
    """One SQL result aligned with the grid: ``col(name)`` gives a per-cell array.

    Vectorised: the result arrives as numpy columns and its rows are matched to grid cells by
    sorted-key lookups, not per-row Python (big answers have tens of thousands of rows)."""

    def __init__(self, backend: Backend, sql: str, grid: np.ndarray, maps: list[_KeyIndex]):
        self.cols = fetch_columns(backend, sql)
        self.n = len(grid)
        n_items = len(maps)
        g = np.asarray(np.ma.getdata(self.cols["g"]), dtype=np.int64)
        coords = np.empty((len(g), n_items), dtype=np.int64)
        for i, kmap in enumerate(maps):
            total = ((g >> (n_items - 1 - i)) & 1).astype(bool)
            coords[:, i] = np.where(total, -1, kmap.lookup(self.cols[f"k{i}"]))
        pos = _grid_positions(grid, coords)
        self.hit = np.nonzero(pos >= 0)[0]
        self.pos = pos[self.hit]

    def col(self, name: str, dtype: Any = np.float64) -> np.ndarray:
        out = np.zeros(self.n, dtype=dtype)
        col = self.cols[name][self.hit]
        out[self.pos] = np.ma.filled(col, 0) if np.ma.isMaskedArray(col) else col
        return out

    def top2(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        x1, x2 = np.zeros(self.n), np.zeros(self.n)
        col = self.cols[name][self.hit]  # lists; NULL (masked or None) when no row counted
        tops: list[Any] = [
            [] if m or t is None else t
            for t, m in zip(np.ma.getdata(col), np.ma.getmaskarray(col), strict=True)
        ]
        first = [t[0] if len(t) > 0 else 0.0 for t in tops]
        second = [t[1] if len(t) > 1 else 0.0 for t in tops]
        x1[self.pos], x2[self.pos] = first, second
        return x1, x2


def fetch_columns(backend: Backend, sql: str) -> dict[str, np.ndarray]:
    """The result as numpy columns (masked where NULL): the backend's own columnar fetch when
    it has one (DuckDB: ``fetchnumpy``), else built from its rows."""
    columns = getattr(backend, "columns", None)
    if columns is not None:
        return dict(columns(sql))
    names, rows = backend.rows(sql)
    out = {}
    for i, name in enumerate(names):
        values = [r[i] for r in rows]
        mask = [v is None for v in values]
        if any(isinstance(v, list | tuple) for v in values):
            arr = np.empty(len(values), dtype=object)
            arr[:] = values
        else:
            arr = np.array([0 if v is None else v for v in values])
        out[name] = np.ma.masked_array(arr, mask=mask) if any(mask) else arr
    return out


class _KeyIndex:
    """SQL member keys of one level → member indexes, by binary search over the sorted keys
    (ints or strings); a key the level lacks gives -2, so its rows match no cell."""

    def __init__(self, keys: tuple[Any, ...]):
        self.string = any(isinstance(k, str) for k in keys)
        arr = np.array([str(k) for k in keys]) if self.string else np.array(keys, dtype=np.int64)
        if arr.size == 0:
            arr = np.zeros(0, dtype=np.int64)
        self.order = np.argsort(arr, kind="stable")
        self.sorted = arr[self.order]

    def lookup(self, column: np.ndarray) -> np.ndarray:
        mask = np.ma.getmaskarray(column)
        data = np.ma.getdata(column)
        if self.string:
            values = np.array(["" if m else str(v) for v, m in zip(data, mask, strict=True)])
        else:
            values = np.where(mask, 0, data).astype(np.int64, copy=False)
        if self.sorted.size == 0:
            return np.full(len(values), -2, dtype=np.int64)
        at = np.minimum(np.searchsorted(self.sorted, values), self.sorted.size - 1)
        found = (self.sorted[at] == values) & ~mask
        return np.where(found, self.order[at], -2)


def _grid_positions(grid: np.ndarray, coords: np.ndarray) -> np.ndarray:
    """For every result row, the index of its cell in ``grid`` (-1 when the grid lacks it):
    rows are encoded as mixed-radix integers (-2 and -1 shifted to 0 and 1) and searched."""
    if grid.shape[1] == 0 or len(grid) == 0:
        # No items, or no cells at all (a cut on a region with no buurten in the release).
        return np.zeros(len(coords), dtype=np.int64) if len(grid) else -np.ones(len(coords), int)
    radix = np.maximum(grid.max(axis=0), coords.max(axis=0, initial=0)) + 3
    if float(np.prod(radix.astype(np.float64))) >= 2.0**62:
        index = {tuple(row): i for i, row in enumerate(grid.tolist())}
        return np.array([index.get(tuple(r), -1) for r in coords.tolist()], dtype=np.int64)
    weights = np.cumprod(np.concatenate(([1], radix[::-1][:-1])))[::-1]
    gcode = (grid.astype(np.int64) + 2) @ weights
    rcode = (coords + 2) @ weights
    order = np.argsort(gcode, kind="stable")
    sorted_codes = gcode[order]
    at = np.minimum(np.searchsorted(sorted_codes, rcode), len(sorted_codes) - 1)
    return np.where(sorted_codes[at] == rcode, order[at], -1)


_INDEX_CACHE: cachetools.LRUCache[int, tuple[Any, _KeyIndex]] = cachetools.LRUCache(512)
_INDEX_LOCK = threading.Lock()


def _key_index(lax: Any) -> _KeyIndex:
    """Per level, built once: the entry keeps the level alive, so its id is not reused."""
    with _INDEX_LOCK:
        hit = _INDEX_CACHE.get(id(lax))
    if hit is not None and hit[0] is lax:
        return hit[1]
    kmap = _KeyIndex(lax.keys)
    with _INDEX_LOCK:
        _INDEX_CACHE[id(lax)] = (lax, kmap)
    return kmap


def _key_maps(part: Part, items: tuple[Item, ...], axes: Mapping[str, RoleAxis]) -> list[_KeyIndex]:
    return [
        _key_index(axes[role].levels[items[item_idx].level])
        for item_idx, role in zip(part.items, part.roles, strict=True)
    ]


def _stats(res: _Result, ps: PartSql, j: int, holding: bool) -> dict[str, np.ndarray]:
    """Measure ``j``'s statistics, read from the columns it shares (``PartSql.alias``); in
    the one pass a row count is also the contributor count."""
    m, a, sa = ps.measures[j], ps.alias[j], ps.sum_alias[j]
    n = res.col(f"n{a}", np.int64)
    out = {
        "n": n,
        "c": res.col(f"c{a}", np.int64) if holding else n.copy(),
        "key": res.col(f"key{a}", np.int64),
    }
    if m.kind == "sum":
        out["s"] = res.col(f"s{sa}")
        out["x1"], out["x2"] = res.top2(f"top{sa}")
    elif row_count(m):
        if f"rtop{a}" in res.cols:  # rows per holding, from the holding pass
            out["x1"], out["x2"] = res.top2(f"rtop{a}")
        else:  # a holding has one row here (or bounds replace this: see _refine)
            out["x1"], out["x2"] = ones_top2(n)
    return out


def row_count(m: Any) -> bool:
    """A count of rows: a holding may contribute several (dominance and p % apply)."""
    return bool(m.kind == "count" and m.count != "holdings")


def ones_top2(n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The two largest contributions when every holding contributes one row."""
    return np.minimum(n, 1).astype(np.float64), (n >= 2).astype(np.float64)


def _concentrated(n: np.ndarray, mr: np.ndarray, policy: Any) -> np.ndarray:
    """Row-count cells whose dominance or p % status the bound ``mr`` (most rows of one
    holding) cannot settle: with x1, x2 <= mr the rules pass once n is large enough."""
    clear = max(2 * 100.0 / policy.dominance_k, 2 + policy.p_percent / 100.0)
    return (mr > 1) & (n < clear * mr)


def _bounded_top2(s: dict[str, np.ndarray], mr: np.ndarray) -> None:
    """Where holdings repeat (mr > 1), the most rows of one holding bounds both contributions:
    the rules pass on these bounds only where the true contributions pass too."""
    rep = mr > 1
    bound = np.minimum(mr, s["n"]).astype(np.float64)
    s["x1"] = np.where(rep, np.maximum(bound, s["x1"]), s["x1"])
    s["x2"] = np.where(rep, np.maximum(bound, s["x2"]), s["x2"])


def _uncleared(res: _Result, j: int, m: Any, policy: Any) -> np.ndarray:
    """Cells the bounds cannot settle: rows of one holding repeat in the cell and either the
    value needs exact holdings (distinct counts, sums) or Σ 1/rows stays under the threshold
    while the rows reach it (fewer rows than the threshold fail it whatever the holdings)."""
    repeated = res.col(f"mr{j}") > 1
    if m.kind == "sum" or m.count == "holdings":
        return repeated
    rows = res.col(f"n{j}")
    unsettled = _unsettled(res.col(f"lb{j}"), rows, policy)
    return repeated & (unsettled | _concentrated(rows, res.col(f"mr{j}"), policy))


def _unsettled(lb: np.ndarray, rows: np.ndarray, policy: Any) -> np.ndarray:
    """Row-count cells whose threshold status needs exact holdings: the lower bound is under
    the threshold, and the rows are not (with fewer rows than the threshold, the holdings are
    fewer too: the cell fails either way, and its contributor count stays the lower bound,
    which nothing published depends on — unless suppression costs are contributor counts)."""
    unsure = lb < policy.threshold
    if policy.secondary_cost == "contributors":
        return unsure
    return unsure & (rows >= policy.threshold)


def _literal(v: Any) -> str:
    return str(int(v)) if isinstance(v, int | np.integer) else "'" + str(v).replace("'", "''") + "'"


def _refine_where(
    grid: np.ndarray,
    cells: np.ndarray,
    part: Part,
    items: tuple[Item, ...],
    axes: Mapping[str, RoleAxis],
) -> str:
    """A superset of the uncleared cells' rows: per item, its keys among those cells (an IN
    list, a cheap hash probe), unless one of them is a total over the item. Every row of every
    uncleared cell passes, so their exact statistics are exact; an OR of per-cell conditions
    cost up to 4x a full holding pass on 2 M rows."""
    coords = grid[cells]
    keys = [
        axes[role].levels[items[i].level].keys
        for i, role in zip(part.items, part.roles, strict=True)
    ]
    conds = []
    for d, level_keys in enumerate(keys):
        col = coords[:, d]
        if (col < 0).any():
            continue  # a total over this item needs all its members' rows
        members = sorted({_literal(level_keys[c]) for c in col.tolist() if c < len(level_keys)})
        if len(members) < len(level_keys):
            conds.append(f"k{d} IN ({', '.join(members) or 'NULL'})")
    return "WHERE " + " AND ".join(conds) if conds else ""


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
        per = [_stats(res, ps, j, holding=True) for j in range(len(ps.measures))]
    elif ps.strategy == "distinct":
        res = _Result(con, ps.one_pass, grid, maps)
        per = [_stats(res, ps, j, holding=True) for j in range(len(ps.measures))]
    elif ps.strategy in ("split", "rollup"):
        per = _split(con, ps, grid, maps)
    elif ps.strategy == "rollup_bounds":
        per = _rollup_bounds(con, ps, part, items, grid, axes, maps)
    else:
        res = _Result(con, ps.one_pass, grid, maps)
        per = [_stats(res, ps, j, holding=False) for j in range(len(ps.measures))]
        if ps.strategy == "bounds":
            _refine(con, ps, part, items, grid, axes, maps, res, per)
    return {m.id: _measure_stats(m, s) for m, s in zip(ps.measures, per, strict=True)}


def _split(
    con: Backend, ps: PartSql, grid: np.ndarray, maps: list[_KeyIndex]
) -> list[dict[str, np.ndarray]]:
    """Holdings with one row in the year (``hr = 1``) are exact per row; the rest go through
    the holding pass (from the facts, or from a rollup's singles and multis tables). The two
    sets of holdings are disjoint (cells lie within one year), so counts, keys and sums add,
    and the two largest contributions are the two largest of both."""
    singles = _Result(con, ps.one_pass, grid, maps)
    if ps.strategy == "rollup" and not ps.multis:  # every holding has one row in its year
        return [_stats(singles, ps, j, holding=False) for j in range(len(ps.measures))]
    where = "" if ps.strategy == "rollup" else "WHERE hr > 1"  # a rollup's multis are apart
    multis = _Result(con, ps.holding.format(where=where), grid, maps)
    per = []
    for j in range(len(ps.measures)):
        a, b = _stats(singles, ps, j, holding=False), _stats(multis, ps, j, holding=True)
        out = {"n": a["n"] + b["n"], "c": a["c"] + b["c"]}
        out["key"] = (a["key"] + b["key"]) % KEY_MOD
        if "s" in a:
            out["s"] = _add_units(a["s"], b["s"])
        if "x1" in a:
            tops = -np.sort(-np.stack([a["x1"], a["x2"], b["x1"], b["x2"]], axis=1), axis=1)
            out["x1"], out["x2"] = tops[:, 0].copy(), tops[:, 1].copy()
        per.append(out)
    return per


def _rollup_bounds(con, ps, part, items, grid, axes, maps) -> list[dict[str, np.ndarray]]:  # type: ignore[no-untyped-def]
    """Row counts from a rollup: singles exact; multis first as bounds (counts and keys add,
    Σ 1/rows is a lower bound on their holdings), then through the holding pass only for the
    cells whose threshold status the bounds cannot settle."""
    singles = _Result(con, ps.one_pass, grid, maps)
    bound = _Result(con, ps.bounds, grid, maps)
    policy = part.cube.policy
    per, todo, single_n, singles_top = [], [], [], []
    for j, m in enumerate(ps.measures):
        a = ps.alias[j]
        s = _stats(singles, ps, j, holding=False)
        lb = s["n"] + bound.col(f"lb{a}")
        repeated = bound.col(f"mr{a}") > 1
        c = np.where(repeated, np.ceil(lb - 1e-9).astype(np.int64), s["n"])
        key = (s["key"] + bound.col(f"key{a}", np.int64)) % KEY_MOD
        n = s["n"] + bound.col(f"n{a}", np.int64)
        out = {"n": n, "c": c, "key": key}
        mp = policy.for_measure(m.id)
        undecided = _unsettled(lb, n, mp)
        if row_count(m):
            mr = bound.col(f"mr{a}")
            out["x1"], out["x2"] = ones_top2(n)
            _bounded_top2(out, mr)
            undecided = undecided | _concentrated(n, mr, mp)
        per.append(out)
        todo.append(repeated & undecided)
        zeros = np.zeros(len(s["n"]))
        singles_top.append((s.get("x1", zeros), s.get("x2", zeros)))
        single_n.append(s["n"])
    cells = np.nonzero(np.any(todo, axis=0))[0] if todo else np.zeros(0, dtype=np.int64)
    if len(cells) == 0:
        return per
    where = _refine_where(grid, cells, part, items, axes)
    exact = _Result(con, ps.holding.format(where=where), grid, maps)
    for j, s in enumerate(per):
        fixed = _stats(exact, ps, j, holding=True)
        s["c"][cells] = single_n[j][cells] + fixed["c"][cells]
        if "x1" in s:  # the singles' ones and the multis' exact rows per holding
            t1, t2 = singles_top[j]
            tops = -np.sort(-np.stack([t1, t2, fixed["x1"], fixed["x2"]], axis=1), axis=1)
            s["x1"][cells], s["x2"][cells] = tops[cells, 0], tops[cells, 1]
    return per


def _add_units(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a + b for sums the SQL computed as exact integers of 1/SUM_SCALE units: add the integers,
    then divide once, so the result is bit for bit what one exact sum gives (another strategy
    or engine reaching the same cell gets the same value and the same noise)."""
    units = np.rint(a * SUM_SCALE) + np.rint(b * SUM_SCALE)  # exact integers below 2**53
    return units / SUM_SCALE


def _refine(con, ps, part, items, grid, axes, maps, res, per) -> None:  # type: ignore[no-untyped-def]
    policy = part.cube.policy
    todo = [
        _uncleared(res, ps.alias[j], m, policy.for_measure(m.id)) for j, m in enumerate(ps.measures)
    ]
    cells = np.nonzero(np.any(todo, axis=0))[0] if todo else np.zeros(0, dtype=np.int64)
    for j, s in enumerate(per):  # cleared cells: Σ 1/rows is a lower bound on holdings
        a = ps.alias[j]
        lb = np.ceil(res.col(f"lb{a}") - 1e-9).astype(np.int64)
        s["c"] = np.where(res.col(f"mr{a}") > 1, lb, s["c"])
        if "x1" in s and row_count(ps.measures[j]):
            _bounded_top2(s, res.col(f"mr{a}"))
    if len(cells) == 0:
        return
    where = _refine_where(grid, cells, part, items, axes)
    exact = _Result(con, ps.holding.format(where=where), grid, maps)
    for j, s in enumerate(per):
        fixed = _stats(exact, ps, j, holding=True)
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
