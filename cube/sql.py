"""SQL for one plan part, built as a sqlglot tree: Ibis's tree of the row projection
(``facts_tree``) under aggregate and ``GROUPING SETS`` nodes (Ibis 12 has none), computing the
values *and* the disclosure statistics in one pass. ``cube.dialects`` renders the tree per
dialect; placeholders (a cut's members, a restriction of the rows) are nodes bound there.

Two shapes, which the execution strategies (``cube/strategies/``) combine:

- **one pass** (``one_pass``): values and statistics straight from the rows; exact when every
  holding has one row in each cell (then distinct contributors equal row counts);
- **holding pass** (``holding_pass``): rows are first summed per holding within each grouping
  set, then per cell — exact distinct contributors and the largest two holding contributions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cube.axes import RoleAxis
from cube.model import FLAG_PREFIX, flag_column
from cube.plan import Item, Part
from measures.model import Filter, Measure

if TYPE_CHECKING:  # Ibis and sqlglot are imported when SQL is first compiled, not at start-up
    from ibis.expr.types import BooleanValue, Table, Value
    from sqlglot import exp

    from cube.statement import Statement

KEY_MOD = 2**32
# Magnitudes are summed as integers of 1/SUM_SCALE units: a floating-point sum depends on the
# order of its rows (DuckDB's own parallel sums differ between runs, Spark's differ again), an
# integer sum does not, so every engine and run gives the same value, key and noise. Rounding to
# 1/10,000 keeps cents exact; the conversions back (int64 → double, ÷) are exact IEEE steps.
SUM_SCALE = 10_000


@dataclass(frozen=True, slots=True)
class Columns:
    """Which aggregate columns each measure of a part reads: measure j reads the count, key and
    bound columns of measure ``alias[j]`` (the first with the same filters) and, for sums, the
    sum and top columns of ``sum_alias[j]`` (same filters and column): measures sharing a
    filter cost one set of aggregates, not one each."""

    measures: tuple[Measure, ...]
    alias: tuple[int, ...]
    sum_alias: tuple[int, ...]


def columns_of(measures: tuple[Measure, ...]) -> Columns:
    return Columns(measures, *aliases(measures))


def aliases(measures: tuple[Measure, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    first: dict[object, int] = {}
    first_sum: dict[object, int] = {}
    alias, sum_alias = [], []
    for j, m in enumerate(measures):
        alias.append(first.setdefault(m.filters, j))
        key = (m.filters, m.column) if m.kind == "sum" else None
        sum_alias.append(first_sum.setdefault(key, j) if key else j)
    return tuple(alias), tuple(sum_alias)


def _filter_expr(t: Table, f: Filter) -> BooleanValue:
    col = t[f.column]
    value = f.value
    match f.op:
        case "eq":
            return col == value
        case "ne":
            return col != value
        case "in":
            return col.isin(list(value))  # type: ignore[arg-type]
        case "lt":
            return col < value
        case "le":
            return col <= value
        case "gt":
            return col > value
        case "ge":
            return col >= value
    raise ValueError(f.op)


def projection(
    part: Part,
    items: tuple[Item, ...],
    schema: Mapping[str, str],
    axes: Mapping[str, RoleAxis],
    source: Source | None = None,
) -> Table:
    """Filtered fact rows with the cell keys and the measure inputs, as an Ibis expression;
    with ``source``, the rows of a rollup table instead (``cube.rollups``). A column the
    source lacks raises ``IbisTypeError``: the rollup does not cover the part."""
    import ibis

    if source is None:
        t = ibis.table(schema, name=part.cube.fact)
    else:
        t = ibis.table(source.schema(schema), name=source.table, database=source.database)
    if part.shift:
        t = t.mutate(year=t["year"].cast("int32") - part.shift)  # int16 would overflow keys
    for kf in part.filters:
        key = axes[kf.role].levels[kf.level].expr(t)
        inside = key.isin(list(kf.keys))
        t = t.filter(~inside if kf.exclude else inside)
    cols = {}
    for i, (item_idx, role) in enumerate(zip(part.items, part.roles, strict=True)):
        cols[f"k{i}"] = axes[role].levels[items[item_idx].level].expr(t)
    if source is None:
        cols["holding"] = t["holding"]
        cols["record_key"] = t["record_key"]
        cols["hr"] = t["holding_rows_year"]
    elif source.bounds:
        for name in ("n", "rk", "lb", "mr", "mh", "hc"):
            cols[name] = t[name]
    else:
        if source.multis:
            cols["holding"] = t["holding"]
            cols |= _alone(part, items, axes, t, source)
        cols["n"], cols["rk"] = t["n"], t["rk"]
    alias, sum_alias = aliases(part.measures)
    for j, m in enumerate(part.measures):
        if m.filters and alias[j] == j:  # no column for an unfiltered measure: no FILTER
            flag = flag_column(m.filters)
            if source is not None and flag in source.columns:  # the rollup's outcome of them
                cols[f"f{j}"] = t[flag]
            else:
                cond: BooleanValue = ibis.literal(True)
                for f in m.filters:
                    cond = cond & _filter_expr(t, f)
                cols[f"f{j}"] = cond.fill_null(False)
        if m.kind == "sum" and sum_alias[j] == j:
            if source is not None:
                cols[f"x{j}"] = t[f"sx_{m.column}"]
                if not source.multis:
                    cols[f"t1_{j}"], cols[f"t2_{j}"] = t[f"t1_{m.column}"], t[f"t2_{m.column}"]
                continue
            col = t[m.column]  # type: ignore[index]
            if col.type().is_integer():  # exact already: the same units without the doubles
                cols[f"x{j}"] = col.cast("int64").fill_null(0) * SUM_SCALE
            else:
                x = col.cast("float64").fill_null(0)
                cols[f"x{j}"] = (x * SUM_SCALE + 0.5).floor().cast("int64")
    return t.select(**cols)


def _alone(
    part: Part, items: tuple[Item, ...], axes: Mapping[str, RoleAxis], t: Table, source: Source
) -> dict[str, Value]:
    """``a{i}`` for each key ``k{i}`` that is a region column the multis flag (``alone_<col>``):
    whether the row is its holding's only one in its year and that key's member. Sound
    because multis are read only for cells within one year (a rollup has multis only where
    holdings repeat in a year, and then the rollup strategies apply to one-year cells)."""
    out = {}
    for i, (item_idx, role) in enumerate(zip(part.items, part.roles, strict=True)):
        axis = axes[role]
        level = items[item_idx].level
        if not axis.role.prefix or level not in axis.levels:
            continue
        column = axis.role.column(level)
        if column in source.alone and axis.levels[level].expr(t).equals(t[column]):
            out[f"a{i}"] = t[f"alone_{column}"]
    return out


@dataclass(frozen=True, slots=True)
class Source:
    """A rollup table to read instead of the facts: its grouping ``columns`` (typed as in the
    fact table) and its aggregates (``cube.rollups`` describes both tables)."""

    database: str
    table: str
    columns: tuple[str, ...]
    sums: tuple[str, ...]
    multis: bool  # the multis table (per holding), else the singles
    bounds: bool = False  # the bounds table: multis without holdings, with Σ 1/rows and max rows
    # the multis' region columns with an ``alone_<col>`` flag: the row is its holding's only
    # one in its year and that region
    alone: tuple[str, ...] = ()

    def schema(self, fact_schema: Mapping[str, str]) -> dict[str, str]:
        out = {c: "boolean" if c.startswith(FLAG_PREFIX) else fact_schema[c] for c in self.columns}
        if self.bounds:
            bounds = {"lb": "float64", "mr": "int64", "mh": "int64", "hc": "int64"}
            return out | {"n": "int64", "rk": "int64"} | bounds
        if self.multis:
            out["holding"] = "int64"
            out |= {f"alone_{c}": "boolean" for c in self.alone}
        out |= {"n": "int64", "rk": "int64"}
        for c in self.sums:
            out[f"sx_{c}"] = "int64"
            if not self.multis:
                out[f"t1_{c}"], out[f"t2_{c}"] = "int64", "int64"
        return out


def _filtered(agg: exp.Expr, m: Measure, cond: exp.Expr) -> exp.Expr:
    """``agg`` with measure ``m``'s FILTER clause; none for an unfiltered measure, because a
    FILTER clause, even one always true, keeps DuckDB off its fast aggregation path (measured:
    a one-pass query over 240,000 rows took 420 ms with and 90 ms without)."""
    from sqlglot import exp

    return exp.Filter(this=agg, expression=exp.Where(this=cond)) if m.filters else agg


def _col(name: str) -> exp.Column:
    from sqlglot import exp

    return exp.column(name)


def _num(value: int) -> exp.Expr:
    from sqlglot import exp

    return exp.Literal.number(value)


def _as(node: exp.Expr, name: str) -> exp.Expr:
    from sqlglot import exp

    return exp.alias_(node, name)


def _units(total: exp.Expr) -> exp.Expr:
    """An exact integer sum of 1/SUM_SCALE units back to a double (BIGINT first: DuckDB sums
    BIGINT as HUGEINT, and BIGINT → DOUBLE converts alike everywhere)."""
    from sqlglot import exp

    double = exp.cast(exp.cast(total, "BIGINT"), "DOUBLE")
    return exp.Div(this=double, expression=_num(SUM_SCALE), typed=False, safe=False)


def _sum(x: exp.Expr) -> exp.Sum:
    from sqlglot import exp

    return exp.Sum(this=x)


def _count_star() -> exp.Count:
    from sqlglot import exp

    return exp.Count(this=exp.Star(), big_int=True)


def _coalesce0(x: exp.Expr) -> exp.Coalesce:
    from sqlglot import exp

    return exp.Coalesce(this=x, expressions=[_num(0)])


def _top(x: exp.Expr, n: int) -> exp.Expr:
    """The ``n`` largest values, descending (``top_n`` in ``cube.dialects``)."""
    from sqlglot import exp

    return exp.Max(this=x, count=_num(n))


def _key(total: exp.Expr) -> exp.Expr:
    """The record-key sum modulo ``KEY_MOD`` (``key_mod`` in ``cube.dialects``): its low bits
    by a mask, which DuckDB computes on its 128-bit sums several times faster than ``%``."""
    from sqlglot import exp

    from cube.dialects import KEY_MASK

    return exp.cast(exp.BitwiseAnd(this=total, expression=_num(KEY_MASK)), "BIGINT")


def _sets(sets: tuple[tuple[int, ...], ...], n_items: int, extra: str = "") -> exp.Group:
    """``GROUP BY GROUPING SETS (...)``; one set of every item is a plain ``GROUP BY`` (see
    ``_grouping``)."""
    from sqlglot import exp

    if _plain(sets, n_items):
        keys = [_col(f"k{i}") for i in range(n_items)] + ([_col(extra)] if extra else [])
        return exp.Group(expressions=keys)
    tuples = [
        exp.Tuple(expressions=[_col(f"k{i}") for i in gs] + ([_col(extra)] if extra else []))
        for gs in sets
    ]
    return exp.Group(expressions=[exp.GroupingSets(expressions=tuples)])


def _plain(sets: tuple[tuple[int, ...], ...], n_items: int) -> bool:
    """One grouping set holding every item: no totals, so no grouping sets and no grouping
    bits (``g`` is 0 on every row): DuckDB runs a plain ``GROUP BY`` faster (the monthly
    plantations at scale 0.1: 0.98 instead of 1.28 ms)."""
    return len(sets) == 1 and n_items > 0 and sorted(sets[0]) == list(range(n_items))


def _grouping(n_items: int, sets: tuple[tuple[int, ...], ...]) -> exp.Expr:
    """The grouping bits of a row (``GROUPING(k0, k1, ...)``, first item most significant)."""
    from sqlglot import exp

    if n_items == 0 or _plain(sets, n_items):
        return _num(0)
    return exp.Grouping(expressions=[_col(f"k{i}") for i in range(n_items)])


def _select(
    columns: list[exp.Expr],
    source: str,
    group: exp.Group,
    where: exp.Expr | None = None,
) -> exp.Select:
    from sqlglot import exp

    select = exp.Select(expressions=columns).from_(source, copy=False)
    if where is not None:
        select.set("where", exp.Where(this=where))
    select.set("group", group)
    return select


def _with(select: exp.Select, ctes: list[tuple[str, exp.Expr]]) -> exp.Select:
    for name, body in ctes:
        select = select.with_(name, as_=body.copy(), copy=False)
    return select


def rows_of_holding(op: str) -> exp.Expr:
    """``hr = 1`` (rows of holdings with one row in their year) or ``hr > 1`` (the others)."""
    from sqlglot import exp

    node = {"=": exp.EQ, ">": exp.GT}[op]
    return node(this=_col("hr"), expression=_num(1))


def counted_rows(cols: Columns, refined: tuple[int, ...]) -> exp.Expr | None:
    """The rows any of the measures ``refined`` counts: the OR of their filter columns in the
    holding pass's rows (``f{alias}``); ``None`` when one of them counts every row. The
    other measures' statistics from a pass so restricted are wrong and must not be read."""
    from sqlglot import exp

    if not refined or any(not cols.measures[j].filters for j in refined):
        return None
    names = sorted({cols.alias[j] for j in refined})
    return exp.or_(*(_col(f"f{a}") for a in names))


def local_sets(part: Part, sets: tuple[tuple[int, ...], ...]) -> tuple[tuple[int, ...], ...]:
    """The answer's grouping sets projected on the part's items (local indexes), deduplicated."""
    local = {item: i for i, item in enumerate(part.items)}
    out: list[tuple[int, ...]] = []
    for gs in sets:
        projected = tuple(local[i] for i in gs if i in local)
        if projected not in out:
            out.append(projected)
    return tuple(out)


def one_pass(
    proj: exp.Expr,
    part: Part,
    n: int,
    sets: tuple[tuple[int, ...], ...],
    bounds: bool,
    where: exp.Expr | None = None,
    pre: bool = False,
    distinct: bool = False,
) -> Statement:
    """Values and statistics straight from the rows (exact when holdings are unique per cell;
    with ``bounds``, also Σ 1/rows-of-holding-in-year (a lower bound on distinct holdings) and
    the largest rows-of-holding, which says whether the row counts are exact). Row counts are
    the contributor counts here, so ``c`` is not computed (the reader takes ``n``). With
    ``pre``, the rows are a rollup's singles (``cube.rollups``): counts, key sums and sums add
    up, and the two largest values are the largest two of the groups' top twos. With
    ``distinct`` (counts only), distinct holdings are counted directly: exact whatever the
    cells, without the holding pass (row counts and key sums need no holdings). ``where``
    restricts the rows."""
    from sqlglot import exp

    from cube.statement import Statement

    if staged(part, n, sets, bounds or distinct):
        return _staged_pass(proj, part, n, sets, where, pre)
    alias, sum_alias = aliases(part.measures)
    aggs: list[exp.Expr] = []
    for j, m in enumerate(part.measures):
        cond = _col(f"f{alias[j]}")

        def w(agg: exp.Expr, m: Measure = m, cond: exp.Expr = cond) -> exp.Expr:
            return _filtered(agg, m, cond.copy())

        if alias[j] == j:
            count = _sum(_col("n")) if pre else _count_star()
            key = _col("rk") if pre else _col("record_key")
            aggs += [_as(w(count), f"n{j}"), _as(_key(_coalesce0(w(_sum(key)))), f"key{j}")]
            if distinct:
                holdings = exp.Count(this=exp.Distinct(expressions=[_col("holding")]), big_int=True)
                aggs.append(_as(w(holdings), f"c{j}"))
            if bounds and pre:  # a rollup's bounds table: Σ 1/rows and max rows per group
                aggs += [
                    # a sum of doubles, marked as one (integer sums are exact: cube.dialects)
                    _as(w(_sum(exp.cast(_col("lb"), "DOUBLE"))), f"lb{j}"),
                    _as(w(exp.Max(this=_col("mr"))), f"mr{j}"),
                    # one holding's rows in the cell: at most the groups' most, added up;
                    # its holdings: at least those of its largest group
                    _as(w(_sum(_col("mh"))), f"mh{j}"),
                    _as(w(exp.Max(this=_col("hc"))), f"hc{j}"),
                ]
            elif bounds:
                inverse = exp.Div(
                    this=exp.cast(_num(1), "DOUBLE"), expression=_col("hr"), typed=False, safe=False
                )
                aggs += [
                    _as(w(_sum(inverse)), f"lb{j}"),
                    _as(w(exp.Max(this=_col("hr"))), f"mr{j}"),
                ]
        if m.kind == "sum" and sum_alias[j] == j:
            aggs.append(_as(_units(_coalesce0(w(_sum(_col(f"x{j}"))))), f"s{j}"))
            if pre:  # the groups' two largest firsts and largest second (Result.top2)
                aggs.append(_as(w(_top(_units(_col(f"t1_{j}")), 2)), f"top{j}"))
                aggs.append(_as(w(exp.Max(this=_units(_col(f"t2_{j}")))), f"sec{j}"))
            else:
                aggs.append(_as(w(_top(_units(_col(f"x{j}")), 2)), f"top{j}"))
    keys: list[exp.Expr] = [_col(f"k{i}") for i in range(n)]
    select = _select([*keys, _as(_grouping(n, sets), "g"), *aggs], "f", _sets(sets, n), where)
    return Statement(_with(select, [("f", proj)]), memo={"list_columns": list_columns(select)})


def staged(part: Part, n: int, sets: tuple[tuple[int, ...], ...], special: bool) -> bool:
    """Whether ``one_pass`` first sums its rows per cell of the finest grouping set: where
    there are several sets (totals) and every statistic is a count or a key sum, which add up
    exactly. DuckDB runs each grouping set over every row; summed first, the sets run over
    the finest cells instead (the population's profile rollup, 39 M rows, by sex x tenure x
    politie-eenheid x year with margins: 1.6 s in one pass, 0.5 s staged). Not for
    sums (their two largest values), bounds (Σ 1/rows is a sum of doubles, whose last bits
    depend on the order of adding) or distinct counts (holdings are not additive)."""
    return (
        not special
        and len(sets) > 1
        and not _plain(sets, n)
        and all(m.kind != "sum" for m in part.measures)
    )


def _staged_pass(
    proj: exp.Expr,
    part: Part,
    n: int,
    sets: tuple[tuple[int, ...], ...],
    where: exp.Expr | None,
    pre: bool,
) -> Statement:
    """``one_pass`` for counts with totals, in two steps: rows summed per cell of every item
    (``p``), then those sums per grouping set. The same columns and values as one pass."""
    from sqlglot import exp

    from cube.statement import Statement

    alias, _ = aliases(part.measures)
    inner: list[exp.Expr] = []
    outer: list[exp.Expr] = []
    for j, m in enumerate(part.measures):
        if alias[j] != j:
            continue
        cond = _col(f"f{j}")
        count = _sum(_col("n")) if pre else _count_star()
        key = _col("rk") if pre else _col("record_key")
        inner += [
            _as(_filtered(count, m, cond.copy()), f"n{j}"),
            _as(_filtered(_sum(key), m, cond.copy()), f"r{j}"),
        ]
        # a sum of counts is a wider integer in DuckDB: back to the one pass's BIGINT
        total = _sum(_col(f"n{j}")) if pre else exp.cast(_sum(_col(f"n{j}")), "BIGINT")
        outer += [_as(total, f"n{j}"), _as(_key(_coalesce0(_sum(_col(f"r{j}")))), f"key{j}")]
    keys: list[exp.Expr] = [_col(f"k{i}") for i in range(n)]
    finest = _select([*keys, *inner], "f", exp.Group(expressions=[k.copy() for k in keys]), where)
    select = _select(
        [*(k.copy() for k in keys), _as(_grouping(n, sets), "g"), *outer], "p", _sets(sets, n)
    )
    return Statement(
        _with(select, [("f", proj), ("p", finest)]), memo={"list_columns": list_columns(select)}
    )


def holding_pass(
    proj: exp.Expr,
    part: Part,
    n: int,
    sets: tuple[tuple[int, ...], ...],
    pre: bool = False,
) -> Statement:
    """Rows summed per holding within each grouping set, then per cell: exact distinct holdings
    and the two largest holding contributions. The placeholder ``where`` restricts the rows
    (bind it: ``None`` for every row). With ``pre``, the rows are a rollup's multis, already
    summed per holding and group; where they carry ``alone`` flags (``a{i}``, see
    ``cube.rollups``), a grouping set with such a key takes the rows flagged alone as whole
    holdings and sums only the others per holding (``_split_per_holding``)."""
    from sqlglot import exp

    from cube.dialects import hole
    from cube.statement import Statement

    alias, sum_alias = aliases(part.measures)
    inner: list[exp.Expr] = []
    rows: list[exp.Expr] = []  # ``inner`` for a group of one row
    outer: list[exp.Expr] = []
    for j, m in enumerate(part.measures):
        a = alias[j]
        cond = _col(f"f{a}")
        present = exp.GT(this=_col(f"n{a}"), expression=_num(0))
        if alias[j] == j:
            count = _sum(_col("n")) if pre else _count_star()
            key = _col("rk") if pre else _col("record_key")
            inner += [
                _as(_filtered(count, m, cond.copy()), f"n{j}"),
                _as(_coalesce0(_filtered(_sum(key), m, cond.copy())), f"r{j}"),
            ]
            rows += [
                _as(_row_filtered(_col("n"), m, cond.copy(), None), f"n{j}"),
                _as(_row_filtered(_coalesce0(_col("rk")), m, cond.copy(), 0), f"r{j}"),
            ]
            outer += [
                _as(_sum(_col(f"n{j}")), f"n{j}"),
                _as(_filtered(_count_star(), m, present.copy()), f"c{j}"),
                _as(_key(_sum(_col(f"r{j}"))), f"key{j}"),
                # rows per holding: the contributions of a count of rows (dominance, p %),
                # which may share these columns with any measure of the same filter
                _as(_filtered(_top(_col(f"n{j}"), 2), m, present.copy()), f"rtop{j}"),
            ]
        if m.kind == "sum" and sum_alias[j] == j:
            inner.append(_as(_coalesce0(_filtered(_sum(_col(f"x{j}")), m, cond.copy())), f"s{j}"))
            rows.append(_as(_row_filtered(_coalesce0(_col(f"x{j}")), m, cond.copy(), 0), f"s{j}"))
            outer += [
                _as(_units(_sum(_col(f"s{j}"))), f"s{j}"),
                _as(_filtered(_top(_units(_col(f"s{j}")), 2), m, present.copy()), f"top{j}"),
            ]
    keys: list[exp.Expr] = [_col(f"k{i}") for i in range(n)]
    named = set(proj.named_selects) if pre and isinstance(proj, exp.Select) else set()
    alone = tuple(i for i in range(n) if f"a{i}" in named)
    ctes: list[tuple[str, exp.Expr]] = [("f", proj)]
    if any(i in gs for gs in sets for i in alone):
        where = exp.Select(expressions=[exp.Star()]).from_("f", copy=False)
        where.set("where", exp.Where(this=hole("where")))
        ctes.append(("w", where))
        ctes.append(("h", _split_per_holding(n, sets, alone, inner, rows)))
    else:
        per_holding = _select(
            [*keys, _as(_grouping(n, sets), "g"), _col("holding"), *inner],
            "f",
            _sets(sets, n, "holding"),
            hole("where"),
        )
        ctes.append(("h", per_holding))
    group = exp.Group(expressions=[_col(f"k{i}") for i in range(n)] + [_col("g")])
    select = _select([*(k.copy() for k in keys), _col("g"), *outer], "h", group)
    return Statement(_with(select, ctes), memo={"list_columns": list_columns(select)})


def _row_filtered(x: exp.Expr, m: Measure, cond: exp.Expr, otherwise: int | None) -> exp.Expr:
    """What ``_filtered`` of a sum gives over one row: ``x`` where the row passes measure
    ``m``'s filter, else ``otherwise`` (``None``: NULL, as a sum over no rows)."""
    from sqlglot import exp

    if not m.filters:
        return x
    default = exp.Null() if otherwise is None else _num(otherwise)
    return exp.Case(ifs=[exp.If(this=cond, true=x)], default=default)


def _split_per_holding(
    n: int,
    sets: tuple[tuple[int, ...], ...],
    alone: tuple[int, ...],
    inner: list[exp.Expr],
    rows: list[exp.Expr],
) -> exp.Expr:
    """The holding pass's rows per holding and grouping set, one branch per set (``UNION
    ALL``) over the rows ``w``: in a set with a key flagged ``alone`` (the first), the rows so
    flagged as they are (each is its holding's whole contribution to the cell) and only the
    others summed per holding; in a set without, every row summed per holding. Each branch
    names its set by its grouping bits ``g``, a constant (``only_sets`` keeps branches by it)."""
    from sqlglot import exp

    branches: list[exp.Select] = []
    for gs in sets:
        g = sum(1 << (n - 1 - d) for d in range(n) if d not in gs)
        keys = [_col(f"k{d}") if d in gs else _as(exp.Null(), f"k{d}") for d in range(n)]
        head = [*keys, _as(_num(g), "g"), _col("holding")]
        group = exp.Group(expressions=[_col(f"k{d}") for d in sorted(gs)] + [_col("holding")])
        flag = next((d for d in gs if d in alone), None)
        if flag is None:
            branches.append(_select([*head, *(e.copy() for e in inner)], "w", group))
            continue
        others = exp.not_(_col(f"a{flag}"))
        summed = _select([*head, *(e.copy() for e in inner)], "w", group, others)
        whole = exp.Select(expressions=[*(e.copy() for e in head), *(e.copy() for e in rows)])
        whole = whole.from_("w", copy=False).where(_col(f"a{flag}"), copy=False)
        branches += [summed, whole]
    out: exp.Expr = branches[0]
    for b in branches[1:]:
        out = exp.union(out, b, distinct=False)
    return out


def only_sets(statement: Statement, kept: set[tuple[int, ...]]) -> Statement:
    """A holding pass (``holding_pass``) over the grouping sets ``kept`` only (local item
    indexes), or ``statement`` itself when that is all of them or one is not among them. A
    refinement needs only the sets of the cells the bounds left (of the dwellings by owner
    type x doorsluis x gemeente with margins at scale 1, the four sets with the gemeente: 0.56
    instead of 0.88 s; the other cells are not read). Each row's ``g`` keeps its grouping
    bits, written one item at a time: an item no kept set groups by is a total on every row,
    a constant bit. The restricted tree is kept in the memo, so another filling of the shape
    (other members, another ``where``) reuses it and its rendered text."""
    from sqlglot import exp

    from cube.statement import COLUMN_MEMO, Statement

    split = _only_branches(statement, kept)
    if split is not None:
        return split
    holding = statement.tree.find(exp.GroupingSets)
    if holding is None:  # one plain set: nothing to leave out
        return statement
    tuples = holding.expressions
    items = [
        sorted(int(c.name[1:]) for c in t.find_all(exp.Column) if c.name != "holding")
        for t in tuples
    ]
    keep = [i for i, its in enumerate(items) if tuple(its) in kept]
    if not keep or len(keep) == len(tuples) or len(keep) < len(kept):  # or a set it lacks
        return statement
    key = ("only_sets", tuple(keep))
    found = statement.memo.get(key)
    if found is None:
        tree = statement.tree.copy()
        sets = tree.find(exp.GroupingSets)
        per_holding = sets.find_ancestor(exp.Select) if sets is not None else None
        grouping = per_holding.find(exp.Grouping) if per_holding is not None else None
        assert sets is not None and per_holding is not None and grouping is not None
        sets.set("expressions", [sets.expressions[i] for i in keep])
        grouped = {d for i in keep for d in items[i]}
        n = len(grouping.expressions)
        absent = {f"k{d}" for d in range(n)} - {f"k{d}" for d in grouped}
        for e in per_holding.expressions:  # an item no set groups by: NULL, as in a total
            if isinstance(e, exp.Column) and e.name in absent:
                e.replace(_as(exp.Null(), e.name))
        # One bit at a time: GROUPING may name grouped columns only, and Spark's grouping_id
        # (``cube.dialects.spark_grouping``) wants them in the order the sets name them.
        bits: list[exp.Expr] = []
        for d, col in enumerate(grouping.expressions):
            weight = _num(1 << (n - 1 - d))
            if d in grouped:
                one = exp.Grouping(expressions=[col.copy()])
                bits.append(exp.Mul(this=one, expression=weight))
            else:
                bits.append(weight)
        total = bits[0]
        for b in bits[1:]:
            total = exp.Add(this=total, expression=b)
        grouping.replace(exp.paren(total, copy=False))
        kept_memo = {k: statement.memo[k] for k in COLUMN_MEMO if k in statement.memo}
        found = statement.memo[key] = (tree, kept_memo)
    tree, memo = found
    return Statement(tree, dict(statement.members), memo)


def _only_branches(statement: Statement, kept: set[tuple[int, ...]]) -> Statement | None:
    """``only_sets`` of a holding pass split per grouping set (``_split_per_holding``): its
    branches of the sets ``kept``; None when the pass is not split."""
    from sqlglot import exp

    from cube.statement import COLUMN_MEMO, Statement

    h = next((c for c in statement.tree.find_all(exp.CTE) if c.alias == "h"), None)
    if h is None or not isinstance(h.this, exp.Union):
        return None
    branches = _union_branches(h.this)

    def grouped(b: exp.Select) -> tuple[int, ...]:
        names = b.named_selects
        n = sum(1 for c in names if c[:1] == "k" and c[1:].isdigit())
        bits = next(int(e.this.name) for e in b.expressions if e.alias_or_name == "g")
        return tuple(d for d in range(n) if not bits >> (n - 1 - d) & 1)

    keep = [i for i, b in enumerate(branches) if grouped(b) in kept]
    if not keep or len(keep) == len(branches) or not kept <= {grouped(b) for b in branches}:
        return statement  # nothing to leave out, or a set it lacks
    key = ("only_sets", tuple(keep))
    found = statement.memo.get(key)
    if found is None:
        tree = statement.tree.copy()
        cte = next(c for c in tree.find_all(exp.CTE) if c.alias == "h")
        mine = _union_branches(cte.this)
        body: exp.Expr = mine[keep[0]]
        for i in keep[1:]:
            body = exp.union(body, mine[i], distinct=False)
        cte.set("this", body)
        kept_memo = {k: statement.memo[k] for k in COLUMN_MEMO if k in statement.memo}
        found = statement.memo[key] = (tree, kept_memo)
    tree, memo = found
    return Statement(tree, dict(statement.members), memo)


def _union_branches(node: exp.Expr) -> list[exp.Select]:
    """The selects of a chain of ``UNION ALL``, in order."""
    from sqlglot import exp

    if isinstance(node, exp.Union):
        return _union_branches(node.this) + _union_branches(node.expression)
    assert isinstance(node, exp.Select)
    return [node]


def together(*statements: Statement) -> Statement:
    """Statements that do not depend on each other as one (one round trip, one plan): the
    ``UNION ALL`` of their rows, each row tagged with its statement's index in ``src`` and
    padded with NULL for the columns only another has (``Cells.results`` splits them again).
    Their ``WITH`` tables are renamed apart and hoisted into one ``WITH``."""
    from sqlglot import exp

    from cube.statement import Statement

    trees, ctes = [], []
    for i, statement in enumerate(statements):
        tree = statement.bound_tree().copy()  # what is bound so far, in the tree
        names = {}
        for cte in tree.args["with_"].expressions if tree.args.get("with_") else ():
            names[cte.alias] = f"s{i}_{cte.alias}"
            cte.set("alias", exp.TableAlias(this=exp.to_identifier(names[cte.alias])))
            ctes.append(cte)
        for table in tree.find_all(exp.Table):
            if not table.db and table.name in names:
                table.set("this", exp.to_identifier(names[table.name]))
        tree.set("with_", None)
        trees.append(tree)
    columns = list(dict.fromkeys(c for t in trees for c in result_columns(t)))
    branches = []
    for i, tree in enumerate(trees):
        own = set(result_columns(tree))
        cols: list[exp.Expr] = [_as(_num(i), "src")]
        cols += [_col(c) if c in own else _as(exp.Null(), c) for c in columns]
        branches.append(exp.select(*cols).from_(exp.Subquery(this=tree, alias=f"t{i}")))
    union: exp.Query = branches[0]
    for branch in branches[1:]:
        union = exp.union(union, branch, distinct=False)
    union.set("with_", exp.With(expressions=ctes))
    # each statement's columns, which ``Cells.results`` reads its rows by
    lists = tuple(dict.fromkeys(c for t in trees for c in list_columns(t)))
    return Statement(
        union, memo={"branches": [result_columns(t) for t in trees], "list_columns": lists}
    )


def result_columns(tree: exp.Expr) -> list[str]:
    """The names of a statement's result columns."""
    return [e.alias_or_name for e in tree.expressions]


def list_columns(tree: exp.Expr) -> tuple[str, ...]:
    """The result columns that hold lists (``_top``: the largest values of a cell), which
    ``cube.backend.DuckDbBackend`` fetches as their elements."""
    from sqlglot import exp

    return tuple(
        e.alias_or_name
        for e in tree.expressions
        if any(m.args.get("count") is not None for m in e.find_all(exp.Max))
    )


def facts_tree(
    part: Part,
    items: tuple[Item, ...],
    schema: Mapping[str, str],
    axes: Mapping[str, RoleAxis],
    source: Source | None = None,
) -> exp.Expr:
    """The part's filtered rows (``projection``) as Ibis's sqlglot tree."""
    import ibis.backends.sql.compilers as sc

    tree = sc.duckdb.compiler.to_sqlglot(projection(part, items, schema, axes, source).unbind())
    return tree[0] if isinstance(tree, list) else tree
