"""SQL as a tree, rendered per dialect from one table.

The planner builds every statement as a sqlglot tree (``cube/sql.py``: Ibis's tree of the row
projection under aggregate and ``GROUPING SETS`` nodes). Its vocabulary is sqlglot's nodes as
they read DuckDB, the reference dialect. A few functions mean something other dialects write
differently; ``DIALECTS`` says, per dialect, how each of them is written there:

- ``top_n``: ``max(x, n) [FILTER (WHERE c)]``, the ``n`` largest non-NULL values, descending;
  Spark: ``slice(sort_array(collect_list(x) [FILTER ...], false), 1, n)``;
- ``grouping``: ``GROUPING(a, b, ...)``, bits with the first column most significant; Spark:
  ``shiftright(grouping_id(a, b, ..., rest), len(rest))`` over every grouping column;
- ``sum``: ``SUM(x) [FILTER (WHERE c)]``, exact over integers (DuckDB sums BIGINT as HUGEINT;
  Spark in ANSI mode fails on overflow); a sum of doubles says so in the tree,
  ``SUM(CAST(x AS DOUBLE))`` or ``SUM(a / b)``. Spark: as is;
- ``key_mod``: ``x & 4294967295``, a non-negative integer sum modulo 2^32 (record keys) by its
  low bits; Spark: as is.

DataFusion (``cube/backends/datafusion.py``) is written by sqlglot's PostgreSQL generator, which
its parser reads: ``array_agg(x) FILTER (WHERE ...)`` sorted and sliced for ``top_n`` and
``x % 4294967296`` for ``key_mod``; its 64-bit integer sums wrap silently
on overflow, so integers are summed as ``DECIMAL(38, 0)`` (the backend reads such results back
as 64-bit integers, failing loudly where one does not fit, as DuckDB's cast to BIGINT does).

Everything else (casts, ``FILTER``, ``GROUPING SETS``, list sorting and filtering, quoting of
literals) is sqlglot's own generator for the dialect. A function the tree names that a dialect
has no entry for is refused (``DialectError``), never guessed. A new dialect is one
``Dialect`` entry: its sqlglot name and a rendering of each function.

Placeholders are tree nodes too: a cut's member list (``IN (:cut0)``) and a restriction of the
rows (``WHERE :where``) are bound with ``Statement.bind`` to literal nodes, which the
generator quotes per dialect.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, SqlglotError

from cube.statement import DialectError

Rewrite = Callable[[exp.Expr], exp.Expr]


def keep(node: exp.Expr) -> exp.Expr:
    """The dialect writes the function as the tree has it."""
    return node


def _top_n_parts(node: exp.Expr) -> tuple[exp.Max, exp.Expr | None]:
    if isinstance(node, exp.Filter):
        return node.this, node.expression
    assert isinstance(node, exp.Max)
    return node, None


def spark_top_n(node: exp.Expr) -> exp.Expr:
    """``max(x, n) [FILTER (WHERE c)]`` → ``slice(sort_array(collect_list(x) [FILTER ...],
    false), 1, n)``: Spark filters only aggregates, so the filter moves onto ``collect_list``.
    Both drop NULLs; an empty cell is NULL on DuckDB and ``[]`` on Spark (read alike)."""
    agg, where = _top_n_parts(node)
    n = agg.args["count"]
    if not isinstance(n, exp.Literal) or n.is_string:
        raise DialectError("max(x, n) with a non-constant n")
    collected: exp.Expr = exp.Anonymous(this="collect_list", expressions=[agg.this.copy()])
    if where is not None:
        collected = exp.Filter(this=collected, expression=where.copy())
    ordered = exp.Anonymous(this="sort_array", expressions=[collected, exp.false()])
    return exp.Anonymous(this="slice", expressions=[ordered, exp.Literal.number(1), n.copy()])


def _grouping_columns(select: exp.Select) -> list[str]:
    """Every column of the select's GROUP BY (grouping sets included), in order."""
    group = select.args.get("group")
    names: list[str] = []
    for col in group.find_all(exp.Column) if group else ():
        if col.name not in names:
            names.append(col.name)
    return names


def spark_grouping(node: exp.Expr) -> exp.Expr:
    """``GROUPING(a, b)`` → ``shiftright(grouping_id(a, b, rest...), len(rest))``: Spark's
    ``grouping_id`` must name every grouping column (the holding pass also groups by
    ``holding``); ``grouping(a)`` of one column is the same function on Spark."""
    select = node.find_ancestor(exp.Select)
    every = _grouping_columns(select) if select is not None else []
    if len(node.expressions) < 2 and len(every) > 1:
        return node
    named = [e.name for e in node.expressions]
    rest = [c for c in every if c not in named]
    args = [e.copy() for e in node.expressions] + [exp.column(c) for c in rest]
    gid: exp.Expr = exp.Anonymous(this="grouping_id", expressions=args)
    if rest:
        gid = exp.Anonymous(this="shiftright", expressions=[gid, exp.Literal.number(len(rest))])
    return gid


def datafusion_top_n(node: exp.Expr) -> exp.Expr:
    """``max(x, n) [FILTER (WHERE c)]`` → ``array_slice(array_sort(array_agg(x) FILTER (WHERE
    [c AND] NOT x IS NULL), 'DESC', 'NULLS LAST'), 1, n)``: the NULLs left out as DuckDB's
    ``max(x, n)`` leaves them; no row passing gives NULL on both. Collected unordered and sorted
    after: DataFusion's ``array_agg(x ORDER BY x)`` took over 30 s where this takes 1.2 s (2.3 M
    rows in 14,454 groups)."""
    agg, where = _top_n_parts(node)
    n = agg.args["count"]
    if not isinstance(n, exp.Literal) or n.is_string:
        raise DialectError("max(x, n) with a non-constant n")
    x = agg.this
    present: exp.Expr = exp.Not(this=exp.Is(this=x.copy(), expression=exp.Null()))
    if where is not None:
        present = exp.and_(exp.paren(where.this.copy(), copy=False), present)
    collected = exp.Filter(this=exp.ArrayAgg(this=x.copy()), expression=exp.Where(this=present))
    ordered = exp.Anonymous(
        this="array_sort",
        expressions=[collected, exp.Literal.string("DESC"), exp.Literal.string("NULLS LAST")],
    )
    return exp.Anonymous(this="array_slice", expressions=[ordered, exp.Literal.number(1), n.copy()])


def _sums_doubles(node: exp.Sum) -> bool:
    """The tree marks a sum of doubles: ``SUM(CAST(x AS DOUBLE))`` or ``SUM(a / b)``."""
    x = node.this
    if isinstance(x, exp.Div):
        return True
    return isinstance(x, exp.Cast) and x.to.this in (exp.DataType.Type.DOUBLE,)


def datafusion_sum(node: exp.Expr) -> exp.Expr:
    """``SUM(x) [FILTER ...]`` over integers → ``SUM(CAST(x AS DECIMAL(38, 0))) [FILTER ...]``:
    exact where DataFusion's 64-bit sum would wrap; a sum of doubles stays as it is."""
    agg = node.this if isinstance(node, exp.Filter) else node
    assert isinstance(agg, exp.Sum)
    if _sums_doubles(agg):
        return node
    exact = exp.Sum(this=exp.cast(agg.this.copy(), exp.DataType.build("DECIMAL(38, 0)")))
    if isinstance(node, exp.Filter):
        return exp.Filter(this=exact, expression=node.expression.copy())
    return exact


def datafusion_key_mod(node: exp.Expr) -> exp.Expr:
    """``x & mask`` → ``x % (mask + 1)``: DataFusion sums integers as decimals (``sum``), which
    have no bitwise operators; for the non-negative sums of record keys the two agree."""
    assert isinstance(node, exp.BitwiseAnd) and _is_key_mask(node.expression)
    return exp.Mod(this=node.this.copy(), expression=exp.Literal.number(KEY_MASK + 1))


FUNCTIONS = (
    "sum",
    "key_mod",
    "top_n",
    "grouping",
)  # what every dialect entry must render


@dataclass(frozen=True, slots=True)
class Dialect:
    """One dialect: the sqlglot dialect its text is generated in and, for each of
    ``FUNCTIONS``, how it writes the function (``keep``: as the tree has it)."""

    name: str
    sqlglot: str
    functions: Mapping[str, Rewrite]


DIALECTS: dict[str, Dialect] = {
    "duckdb": Dialect("duckdb", "duckdb", dict.fromkeys(FUNCTIONS, keep)),
    "spark": Dialect(
        "spark",
        "spark",
        {
            "top_n": spark_top_n,
            "grouping": spark_grouping,
            "sum": keep,
            "key_mod": keep,
        },
    ),
    "datafusion": Dialect(
        "datafusion",
        "postgres",
        {
            "sum": datafusion_sum,
            "key_mod": datafusion_key_mod,
            "top_n": datafusion_top_n,
            "grouping": keep,
        },
    ),
}


KEY_MASK = 2**32 - 1  # ``key_mod``: the low 32 bits of a record-key sum (``cube.sql`` KEY_MOD)


def _is_key_mask(node: exp.Expr) -> bool:
    """The literal ``KEY_MASK``: only ``x & KEY_MASK`` is ``key_mod``; any other bitwise AND is
    written as the tree has it, never turned into a modulo it does not mean."""
    return isinstance(node, exp.Literal) and node.is_number and node.name == str(KEY_MASK)


def _is_top_n(node: exp.Expr) -> bool:
    return isinstance(node, exp.Max) and node.args.get("count") is not None


def function_of(node: exp.Expr) -> str | None:
    """Which of ``FUNCTIONS`` (or which unknown function, by name) ``node`` is."""
    if isinstance(node, exp.Filter) and _is_top_n(node.this):
        return "top_n"
    if _is_top_n(node) and not isinstance(node.parent, exp.Filter):
        return "top_n"
    if isinstance(node, exp.Filter) and isinstance(node.this, exp.Sum):
        return "sum"
    if isinstance(node, exp.Sum) and not isinstance(node.parent, exp.Filter):
        return "sum"
    if isinstance(node, exp.Grouping):
        return "grouping"
    if isinstance(node, exp.BitwiseAnd) and _is_key_mask(node.expression):
        return "key_mod"
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    return None


def _rename_tables(tree: exp.Expr, tables: Mapping[str, str]) -> None:
    """Tables named in ``tables`` (``name`` or ``schema.name``) become the names there."""
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    for table in tree.find_all(exp.Table):
        name = f"{table.db}.{table.name}" if table.db else table.name
        if name in tables and not (table.name in ctes and not table.db):
            table.set("this", exp.to_identifier(tables[name], quoted=True))
            table.set("db", None)


def _bottom_up(node: exp.Expr, rewrite: Rewrite) -> None:
    """Rewrite ``node``'s subtree children first, so a rewritten function's arguments are
    already in the dialect (the ``sum`` inside ``key_mod``); nodes a rewrite creates are
    the dialect's own and are not visited again."""
    for child in list(node.iter_expressions()):
        _bottom_up(child, rewrite)
    new = rewrite(node)
    if new is not node:
        node.replace(new)


def render(
    tree: exp.Expr,
    dialect: Dialect,
    tables: Mapping[str, str] | None = None,
    pretty: bool = False,
) -> str:
    """``tree`` as text of ``dialect``; ``tables`` renames tables (a backend's views)."""
    if next(tree.find_all(exp.Placeholder), None) is not None:
        raise DialectError("a statement with an unbound placeholder")

    def rewrite(node: exp.Expr) -> exp.Expr:
        name = function_of(node)
        if name is None:
            return node
        fn = dialect.functions.get(name)
        if fn is None:
            raise DialectError(f"function {name[:40]} has no rendering on {dialect.name}")
        return fn(node)

    out = tree.copy()
    _bottom_up(out, rewrite)
    if tables:
        _rename_tables(out, tables)
    try:
        return out.sql(dialect=dialect.sqlglot, unsupported_level=ErrorLevel.RAISE, pretty=pretty)
    except SqlglotError as exc:
        raise DialectError(f"not supported on {dialect.name}: {str(exc)[:120]}") from None


_PLAIN = (exp.And, exp.In, exp.Column, exp.Identifier, exp.Literal, exp.Boolean, exp.Null)


def condition(tree: exp.Expr, dialect: Dialect) -> str:
    """A condition's text: member lists joined by AND (a refinement's ``WHERE``) need none of
    the dialect's functions, so sqlglot writes them without the rewriting walk; anything else
    is rendered in full."""
    if all(isinstance(node, _PLAIN) for node in tree.walk()):
        try:
            return tree.sql(dialect=dialect.sqlglot, unsupported_level=ErrorLevel.RAISE)
        except SqlglotError as exc:
            raise DialectError(f"not supported on {dialect.name}: {str(exc)[:120]}") from None
    return render(tree, dialect)


def parse_duckdb(sql: str) -> exp.Expr:
    """One statement written in DuckDB SQL (a probe, a test) as a tree."""
    try:
        trees = sqlglot.parse(sql, read="duckdb")
    except SqlglotError:
        raise DialectError("the statement could not be parsed") from None
    if len(trees) != 1 or trees[0] is None:
        raise DialectError("exactly one statement can be rendered")
    return trees[0]


def literal(value: Any) -> exp.Expr:
    """A member key as a literal node: ints as numbers, anything else as a string (the
    generator quotes and escapes it in each dialect's own way)."""
    if isinstance(value, bool):
        raise TypeError("a member key is never a boolean")
    if isinstance(value, int) or hasattr(value, "__index__"):
        return exp.Literal.number(int(value))
    return exp.Literal.string(str(value))


def member_list(column: str, keys: tuple[Any, ...] | list[Any]) -> exp.Expr:
    """``column IN (keys)``; no keys: ``column IN (NULL)``, true for no row."""
    items = [literal(k) for k in keys] or [exp.Null()]
    return exp.In(this=exp.column(column), expressions=items)


def fill(tree: exp.Expr, values: Mapping[str, Any]) -> exp.Expr:
    """``tree`` with the placeholders named in ``values`` replaced by their expressions;
    ``None`` drops the ``WHERE`` the placeholder stands in."""

    def replace(node: exp.Expr) -> exp.Expr | None:
        if not isinstance(node, exp.Placeholder) or node.name not in values:
            return node
        value = values[node.name]
        if value is None:
            return None
        if isinstance(value, exp.Expr):
            return value.copy()
        raise TypeError(f"placeholder {node.name} takes an expression or None")

    out = tree.transform(replace)
    assert out is not None  # only placeholders are dropped, never the statement
    for where in list(out.find_all(exp.Where)):
        if where.this is None:
            where.pop()
    return out


def fill_members(tree: exp.Expr, members: Mapping[str, tuple[Any, ...]]) -> exp.Expr:
    """``tree`` with each ``IN (:name)`` of ``members`` listing them as literal nodes."""

    def fill_in(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.In) and len(node.expressions) == 1:
            hole = node.expressions[0]
            if isinstance(hole, exp.Placeholder) and hole.name in members:
                items = [literal(k) for k in members[hole.name]] or [exp.Null()]
                return exp.In(this=node.this.copy(), expressions=items)
        return node

    return tree.transform(fill_in)


def listed(keys: tuple[Any, ...], dialect: Dialect) -> str:
    """Member keys as the dialect writes them in an ``IN`` list (``NULL`` for none)."""
    items = [literal(k) for k in keys] or [exp.Null()]
    return exp.Tuple(expressions=items).sql(dialect=dialect.sqlglot)[1:-1]


def pieces(
    tree: exp.Expr, names: frozenset[str], dialect: Dialect, tables: Mapping[str, str] | None
) -> list[str]:
    """The text of ``tree`` around its member lists ``names``: ``[text, name, text, ...]``."""

    def mark(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Placeholder) and node.name in names:
            return exp.Literal.string(f"{MARK}{node.name}")
        return node

    text = render(tree.transform(mark), dialect, tables)
    parts = re.split(f"'{MARK}([a-z0-9_]+)'", text)
    wanted = [str(p.name) for p in tree.find_all(exp.Placeholder) if p.name in names]
    if sorted(parts[1::2]) != sorted(wanted):
        raise DialectError("a member list was not rendered where its placeholder stands")
    return parts


MARK = "zicht-member-list-"  # a string literal no model or member text starts with


def hole(name: str) -> exp.Placeholder:
    return exp.Placeholder(this=name)
