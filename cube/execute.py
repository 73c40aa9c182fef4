"""Read a part's SQL results into per-cell statistics: the machinery every execution strategy
(``cube/strategies/``) shares — results aligned with the part's cell grid (empty cells →
zeros), a measure's statistics from its columns, and the bounds that settle most cells without
exact holdings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from cube.axes import PerAxis, RoleAxis
from cube.backend import Backend
from cube.plan import Item, Part
from cube.sql import SUM_SCALE, Columns
from sdc.table import MeasureStats, dense_codes

if TYPE_CHECKING:
    from sqlglot import exp

    from cube.statement import Statement

Stats = dict[str, np.ndarray]  # one measure's per-cell n, c, key and, where it has them, s, x1, x2


@dataclass(frozen=True, slots=True, eq=False)
class Cells:
    """The cells one part is run for: the part, the answer's items, the part's own grid (the
    answer's cells on the part's items), its cube's axes and the key maps of its items."""

    part: Part
    items: tuple[Item, ...]
    grid: np.ndarray
    axes: Mapping[str, RoleAxis]
    maps: list[KeyIndex]

    @classmethod
    def of(
        cls, part: Part, items: tuple[Item, ...], grid: np.ndarray, axes: Mapping[str, RoleAxis]
    ) -> Cells:
        return cls(part, items, grid, axes, key_maps(part, items, axes))

    def result(self, backend: Backend, sql: Statement) -> Result:
        return Result(fetch_columns(backend, sql), self.grid, self.maps)

    def results(self, backend: Backend, sql: Statement) -> list[Result]:
        """The results of statements run as one (``cube.sql.together``): each with the rows
        and the columns of its own statement."""
        from cube.sql import result_columns

        names = sql.memo.get("branches")
        if names is None:  # a statement read from disk without them
            names = sql.memo["branches"] = [result_columns(b) for b in _branches(sql)]
        cols = fetch_columns(backend, sql)
        src = np.asarray(np.ma.getdata(cols["src"]), dtype=np.int64)
        out = []
        for i, own in enumerate(names):
            rows = src == i
            mine = [k for c in own for k in (c, f"{c}[1]", f"{c}[2]") if k in cols]
            out.append(Result({k: cols[k][rows] for k in mine}, self.grid, self.maps))
        return out

    def refine_where(self, cells: np.ndarray, rows: exp.Expr | None = None) -> exp.Expr:
        """The rows of ``cells`` (a superset), and of those only ``rows`` if given."""
        where = refine_where(self.grid, cells, self.part, self.items, self.axes)
        if rows is None:
            return where
        from sqlglot import exp

        return exp.and_(where, rows)


class Result:
    """One SQL result aligned with the grid: ``col(name)`` gives a per-cell array.

    Vectorised: the result arrives as numpy columns and its rows are matched to grid cells by
    sorted-key lookups, not per-row Python (big answers have tens of thousands of rows)."""

    def __init__(self, cols: dict[str, np.ndarray], grid: np.ndarray, maps: list[KeyIndex]):
        self.cols = cols
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

    def has(self, name: str) -> bool:
        """Whether the result holds column ``name`` (a list column perhaps as its elements)."""
        return name in self.cols or f"{name}[1]" in self.cols

    def top2(self, name: str, second: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The two largest contributions per cell from a column of lists (the largest first;
        NULL or short where fewer contributed; 0 fills). ``second`` names a column with one
        more candidate for second place (a rollup's singles: the largest of their groups'
        second values, beside the two largest firsts)."""
        x1, x2 = np.zeros(self.n), np.zeros(self.n)
        if f"{name}[1]" in self.cols:  # the lists' elements as columns (``DuckDbBackend``)
            x1[self.pos] = self._filled(f"{name}[1]", 0.0)
            if second is None:
                x2[self.pos] = self._filled(f"{name}[2]", 0.0)
                return x1, x2
            runner = self._filled(f"{name}[2]", np.nan)
        else:
            first, runner = self._listed(name, 0.0 if second is None else np.nan)
            x1[self.pos] = first
            if second is None:
                x2[self.pos] = runner
                return x1, x2
        extra = self.cols[second][self.hit]
        known = ~np.ma.getmaskarray(extra)
        value = np.ma.getdata(extra).astype(np.float64)
        both = ~np.isnan(runner) & known
        x2[self.pos] = np.where(
            both, np.maximum(runner, value), np.where(known, value, np.nan_to_num(runner))
        )
        return x1, x2

    def _filled(self, name: str, missing: float) -> np.ndarray:
        """Column ``name`` at the hit rows as floats, ``missing`` where NULL."""
        col = self.cols[name][self.hit]
        return np.ma.filled(np.ma.asarray(col).astype(np.float64), missing)

    def _listed(self, name: str, missing: float) -> tuple[np.ndarray, np.ndarray]:
        """The first and second elements of a column of lists (a backend without
        ``DuckDbBackend``'s split): 0 where a list is empty, ``missing`` where it is short."""
        col = self.cols[name][self.hit]  # lists; NULL (masked or None) when no row counted
        tops: list[Any] = [
            [] if m or t is None else t
            for t, m in zip(np.ma.getdata(col), np.ma.getmaskarray(col), strict=True)
        ]
        first = np.array([t[0] if len(t) > 0 else 0.0 for t in tops], dtype=np.float64)
        runner = np.array([t[1] if len(t) > 1 else missing for t in tops], dtype=np.float64)
        return first, runner


def _branches(sql: Statement) -> list[exp.Expr]:
    """The statements ``cube.sql.together`` combined, in order (the subquery of each branch)."""
    from sqlglot import exp

    out: list[exp.Expr] = []
    node: exp.Expr = sql.tree
    while isinstance(node, exp.Union):
        out.insert(0, node.expression.args["from_"].this.this)
        node = node.this
    out.insert(0, node.args["from_"].this.this)
    return out


def fetch_columns(backend: Backend, sql: Statement | str) -> dict[str, np.ndarray]:
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


class KeyIndex:
    """SQL member keys of one level → member indexes, by binary search over the sorted keys
    (ints or strings); a key the level lacks gives -2, so its rows match no cell."""

    def __init__(self, keys: tuple[Any, ...]):
        self.string = any(isinstance(k, str) for k in keys)
        arr = np.array([str(k) for k in keys]) if self.string else np.array(keys, dtype=np.int64)
        if arr.size == 0:
            arr = np.zeros(0, dtype=np.int64)
        self.order = np.argsort(arr, kind="stable")
        self.sorted = arr[self.order]
        # Integer keys close together (region ids, years, codes): a direct table, no search.
        self.low, self.table = 0, cast("np.ndarray | None", None)
        if not self.string and arr.size:
            self.low = int(self.sorted[0])
            span = int(self.sorted[-1]) - self.low + 1
            if span <= 4 * arr.size + 65_536:
                distinct, first = np.unique(self.sorted, return_index=True)  # first of equals
                table = np.full(span, -2, dtype=np.int64)
                table[distinct - self.low] = self.order[first]
                self.table = table

    def lookup(self, column: np.ndarray) -> np.ndarray:
        mask = np.ma.getmaskarray(column)
        data = np.ma.getdata(column)
        if self.string:
            values = np.array(["" if m else str(v) for v, m in zip(data, mask, strict=True)])
        else:
            values = np.where(mask, 0, data).astype(np.int64, copy=False)
        if self.table is not None:
            at = values - self.low
            inside = (at >= 0) & (at < len(self.table)) & ~mask
            return np.where(inside, self.table[np.where(inside, at, 0)], -2)
        if self.sorted.size == 0:
            return np.full(len(values), -2, dtype=np.int64)
        at = np.minimum(np.searchsorted(self.sorted, values), self.sorted.size - 1)
        found = (self.sorted[at] == values) & ~mask
        return np.where(found, self.order[at], -2)


def _grid_positions(grid: np.ndarray, coords: np.ndarray) -> np.ndarray:
    """For every result row, the index of its cell in ``grid`` (-1 when the grid lacks it)."""
    if grid.shape[1] == 0 or len(grid) == 0:
        # No items, or no cells at all (a cut on a region with no buurten in the release).
        return np.zeros(len(coords), dtype=np.int64) if len(grid) else -np.ones(len(coords), int)
    found = _table_positions(grid, coords)
    return found if found is not None else _searched_positions(grid, coords)


def _table_positions(grid: np.ndarray, coords: np.ndarray) -> np.ndarray | None:
    """``_grid_positions`` without a sort: each item's members renumbered densely over those
    the grid holds (a gemeente's 480 buurten, not the country's 14,000: ``dense_codes``), the
    result rows numbered alike and looked up in a table of the cells' numbers. None when the
    table would be much larger than the grid (items of one role nest: wijk x buurt)."""
    dense = dense_codes(grid + 2)  # -1 (a total) and -2 (no member) become >= 0
    if dense is None:
        return None
    g_code, ranks = dense
    r_code = np.zeros(len(coords), dtype=np.int64)
    known = np.ones(len(coords), dtype=bool)
    for (held, rank), r_col in zip(ranks, (coords + 2).T, strict=True):
        at = np.minimum(r_col, len(held) - 1)
        hit = (r_col < len(held)) & held[at]
        known &= hit
        r_code = r_code * (int(rank[-1]) + 1) + np.where(hit, rank[at], 0)
    span = int(np.prod([int(rank[-1]) + 1 for _, rank in ranks]))
    table = np.full(span, -1, dtype=np.int64)
    table[g_code] = np.arange(len(grid))
    return np.where(known, table[r_code], -1)


def _searched_positions(grid: np.ndarray, coords: np.ndarray) -> np.ndarray:
    """``_grid_positions`` by search: rows encoded as mixed-radix integers (-2 and -1 shifted
    to 0 and 1), the grid's sorted."""
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


_INDEX = PerAxis(512)


def _key_index(lax: Any) -> KeyIndex:
    """Per level, built once."""
    return _INDEX.get(lax, "keys", lambda: KeyIndex(lax.keys))  # type: ignore[no-any-return]


def key_maps(part: Part, items: tuple[Item, ...], axes: Mapping[str, RoleAxis]) -> list[KeyIndex]:
    return [
        _key_index(axes[role].levels[items[item_idx].level])
        for item_idx, role in zip(part.items, part.roles, strict=True)
    ]


def stats(res: Result, cols: Columns, j: int, holding: bool) -> dict[str, np.ndarray]:
    """Measure ``j``'s statistics, read from the columns it shares (``Columns.alias``); in
    the one pass a row count is also the contributor count."""
    m, a, sa = cols.measures[j], cols.alias[j], cols.sum_alias[j]
    n = res.col(f"n{a}", np.int64)
    out = {
        "n": n,
        "c": res.col(f"c{a}", np.int64) if holding else n.copy(),
        "key": res.col(f"key{a}", np.int64),
    }
    if m.kind == "sum":
        out["s"] = res.col(f"s{sa}")
        second = f"sec{sa}" if f"sec{sa}" in res.cols else None
        out["x1"], out["x2"] = res.top2(f"top{sa}", second)
    elif row_count(m):
        if res.has(f"rtop{a}"):  # rows per holding, from the holding pass
            out["x1"], out["x2"] = res.top2(f"rtop{a}")
        else:  # a holding has one row here (or bounds replace this: cube/strategies/bounds.py)
            out["x1"], out["x2"] = ones_top2(n)
    return out


def row_count(m: Any) -> bool:
    """A count of rows: a holding may contribute several (dominance and p % apply)."""
    return bool(m.kind == "count" and m.count != "holdings")


def ones_top2(n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The two largest contributions when every holding contributes one row."""
    return np.minimum(n, 1).astype(np.float64), (n >= 2).astype(np.float64)


def concentrated(n: np.ndarray, mr: np.ndarray, policy: Any) -> np.ndarray:
    """Row-count cells whose dominance or p % status the bound ``mr`` (most rows of one
    holding) cannot settle: with x1, x2 <= mr the rules pass once n is large enough."""
    clear = max(2 * 100.0 / policy.dominance_k, 2 + policy.p_percent / 100.0)
    return (mr > 1) & (n < clear * mr)


def bounded_top2(s: dict[str, np.ndarray], mr: np.ndarray) -> None:
    """Where holdings repeat (mr > 1), the most rows of one holding bounds both contributions:
    the rules pass on these bounds only where the true contributions pass too."""
    rep = mr > 1
    bound = np.minimum(mr, s["n"]).astype(np.float64)
    s["x1"] = np.where(rep, np.maximum(bound, s["x1"]), s["x1"])
    s["x2"] = np.where(rep, np.maximum(bound, s["x2"]), s["x2"])


def uncleared(res: Result, j: int, m: Any, policy: Any) -> np.ndarray:
    """Cells the bounds cannot settle: rows of one holding repeat in the cell and either the
    value needs exact holdings (distinct counts, sums) or Σ 1/rows stays under the threshold
    while the rows reach it (fewer rows than the threshold fail it whatever the holdings)."""
    repeated = res.col(f"mr{j}") > 1
    if m.kind == "sum" or m.count == "holdings":
        return repeated
    rows = res.col(f"n{j}")
    unsure = unsettled(res.col(f"lb{j}"), rows, policy)
    return repeated & (unsure | concentrated(rows, res.col(f"mr{j}"), policy))


def unsettled(lb: np.ndarray, rows: np.ndarray, policy: Any) -> np.ndarray:
    """Row-count cells whose threshold status needs exact holdings: the lower bound is under
    the threshold, and the rows are not (with fewer rows than the threshold, the holdings are
    fewer too: the cell fails either way, and its contributor count stays the lower bound,
    which nothing published depends on — unless suppression costs are contributor counts)."""
    unsure = lb < policy.threshold
    if policy.secondary_cost == "contributors":
        return unsure
    return unsure & (rows >= policy.threshold)


def refine_where(
    grid: np.ndarray,
    cells: np.ndarray,
    part: Part,
    items: tuple[Item, ...],
    axes: Mapping[str, RoleAxis],
) -> exp.Expr:
    """A superset of the uncleared cells' rows: per item, its keys among those cells (an IN
    list of literal nodes, a cheap hash probe), unless one of them is a total over the item;
    ``TRUE``: every row. Every row of every uncleared cell passes, so their exact statistics
    are exact; an OR of per-cell conditions cost up to 4x a full holding pass on 2 M rows."""
    from sqlglot import exp

    from cube.dialects import member_list

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
        members = sorted({level_keys[c] for c in col.tolist() if c < len(level_keys)}, key=repr)
        if len(members) < len(level_keys):
            conds.append(member_list(f"k{d}", members))
    return exp.and_(*conds) if conds else exp.true()


def all_stats(res: Result, cols: Columns, holding: bool) -> list[Stats]:
    """Every measure's statistics from one result."""
    return [stats(res, cols, j, holding) for j in range(len(cols.measures))]


def add_units(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a + b for sums the SQL computed as exact integers of 1/SUM_SCALE units: add the integers,
    then divide once, so the result is bit for bit what one exact sum gives (another strategy
    or engine reaching the same cell gets the same value and the same noise)."""
    units = np.rint(a * SUM_SCALE) + np.rint(b * SUM_SCALE)  # exact integers below 2**53
    return units / SUM_SCALE


def merge_top2(*pairs: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The two largest of several (largest, second largest) pairs, per cell."""
    tops = -np.sort(-np.stack([x for pair in pairs for x in pair], axis=1), axis=1)
    return tops[:, 0].copy(), tops[:, 1].copy()


def measure_stats(m: Any, s: dict[str, np.ndarray]) -> MeasureStats:
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
