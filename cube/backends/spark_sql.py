"""DuckDB SQL (what the planner writes) → Spark SQL, with sqlglot plus the rewrites it lacks.

sqlglot translates the dialect (quoting, casts, functions); the passes below handle what it
does not, each a small function run in order from ``PASSES``:

- ``max(x, n)`` — DuckDB's top-n list aggregate, descending — becomes
  ``slice(sort_array(collect_list(x), false), 1, n)``; a ``FILTER (WHERE ...)`` moves onto
  ``collect_list``, the aggregate inside, since Spark only filters aggregates. Both drop NULLs;
  an empty cell gives NULL on DuckDB and ``[]`` on Spark, which the executor reads alike.
- ``GROUPING(a, b, ...)`` — Spark's ``grouping`` takes one column, and its ``grouping_id`` must
  name every grouping column: ``shiftright(grouping_id(a, b, ..., rest), len(rest))`` gives
  DuckDB's bits in DuckDB's order (first column = most significant bit).
- ``list_slice(x, b, e)`` (end included) becomes ``slice(x, b, e - b + 1)``; sqlglot already
  maps ``list_filter``, ``list_concat``, ``list_reverse_sort`` and list literals.
- fact and rollup tables are renamed to the backend's views of the release's Parquet export.

Semantics that need no rewrite (checked by the conformance suite against both engines): ``/``
is floating division and ``%`` takes the dividend's sign on both; ``FILTER`` clauses, ``GROUPING
SETS`` (also the empty set) and ``least`` (skips NULLs) mean the same. Record-key sums stay below
2⁶³ for fewer than 2³¹ rows, so Spark's BIGINT sum (which, unlike DuckDB's HUGEINT, fails on
overflow in ANSI mode) gives the same cell key; magnitudes are summed as integers
(``cube.sql.SUM_SCALE``), so their sums do not depend on the order each engine adds rows in.
Anything sqlglot cannot translate, and any function outside ``KNOWN_FUNCTIONS``, raises
``BackendError`` naming it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, SqlglotError

from cube.backend import BackendError

# Functions that reach Spark without a known translation: refuse rather than guess.
KNOWN_FUNCTIONS = frozenset({"grouping_id", "shiftright", "collect_list", "sort_array", "slice"})


def _top_n(node: exp.Expression) -> exp.Expression:
    """``max(x, n) [FILTER (WHERE c)]`` → ``slice(sort_array(collect_list(x) [FILTER ...],
    false), 1, n)``."""
    inner, where = node, None
    if isinstance(node, exp.Filter):
        inner, where = node.this, node.expression
    if not isinstance(inner, exp.Max) or inner.args.get("count") is None:
        return node
    n = inner.args["count"]
    if not isinstance(n, exp.Literal) or n.is_string:
        raise BackendError("max(x, n) with a non-constant n is not supported on Spark")
    collected: exp.Expression = exp.Anonymous(this="collect_list", expressions=[inner.this])
    if where is not None:
        collected = exp.Filter(this=collected, expression=where)
    ordered = exp.Anonymous(this="sort_array", expressions=[collected, exp.false()])
    return exp.Anonymous(this="slice", expressions=[ordered, exp.Literal.number(1), n.copy()])


def _list_slice(node: exp.Expression) -> exp.Expression:
    """DuckDB's ``list_slice(x, begin, end)`` (1-based, end included) → Spark's
    ``slice(x, begin, end - begin + 1)``; constant bounds only."""
    if not (isinstance(node, exp.Anonymous) and node.name.lower() == "list_slice"):
        return node
    items = node.expressions
    bounds = items[1:]
    if len(items) != 3 or not all(isinstance(b, exp.Literal) and b.is_int for b in bounds):
        raise BackendError("list_slice with other than two constant bounds is not supported")
    begin, end = (int(b.this) for b in bounds)
    length = exp.Literal.number(max(end - begin + 1, 0))
    return exp.Anonymous(this="slice", expressions=[items[0], exp.Literal.number(begin), length])


def _grouping_columns(select: exp.Select) -> list[str]:
    """Every column of the select's GROUP BY (grouping sets included), in order."""
    group = select.args.get("group")
    names: list[str] = []
    for col in group.find_all(exp.Column) if group else ():
        if col.name not in names:
            names.append(col.name)
    return names


def _grouping(node: exp.Expression) -> exp.Expression:
    """``GROUPING(a, b)`` → ``grouping_id(a, b, rest...) >> len(rest)``: Spark's ``grouping_id``
    must name every grouping column (the holding pass also groups by ``holding``)."""
    if not isinstance(node, exp.Select):
        return node
    every = _grouping_columns(node)
    for g in [g for e in node.expressions for g in e.find_all(exp.Grouping)]:
        if len(g.expressions) < 2 and len(every) > 1:
            continue  # grouping(col) of one column is the same function on Spark
        named = [e.name for e in g.expressions]
        rest = [c for c in every if c not in named]
        args = [e.copy() for e in g.expressions] + [exp.column(c) for c in rest]
        gid: exp.Expression = exp.Anonymous(this="grouping_id", expressions=args)
        if rest:
            gid = exp.Anonymous(this="shiftright", expressions=[gid, exp.Literal.number(len(rest))])
        g.replace(gid)
    return node


def _check_functions(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Anonymous) and node.name.lower() not in KNOWN_FUNCTIONS:
        raise BackendError(f"function {node.name[:40]} is not supported on Spark")
    return node


PASSES: tuple[Callable[[exp.Expression], exp.Expression], ...] = (
    _list_slice,  # a DuckDB list function sqlglot leaves as it is
    _check_functions,  # before the rewrites add functions of their own
    _top_n,
    _grouping,
)


def _rename_tables(tree: exp.Expr, tables: Mapping[str, str]) -> None:
    """Tables named in ``tables`` (``name`` or ``schema.name``) become the views named there."""
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    for table in tree.find_all(exp.Table):
        name = f"{table.db}.{table.name}" if table.db else table.name
        if name in tables and not (table.name in ctes and not table.db):
            table.set("this", exp.to_identifier(tables[name], quoted=True))
            table.set("db", None)


def to_spark(sql: str, tables: Mapping[str, str] | None = None) -> str:
    """Translate one DuckDB statement to Spark SQL; ``tables`` renames fact tables to views."""
    try:
        trees = sqlglot.parse(sql, read="duckdb")
    except SqlglotError:
        raise BackendError("the statement could not be parsed for translation") from None
    if len(trees) != 1 or trees[0] is None:
        raise BackendError("exactly one statement can be translated")
    tree = trees[0]
    for rewrite in PASSES:
        tree = tree.transform(rewrite)
    _rename_tables(tree, tables or {})
    try:
        return tree.sql(dialect="spark", unsupported_level=ErrorLevel.RAISE)
    except SqlglotError as exc:
        raise BackendError(f"not supported on Spark: {str(exc)[:120]}") from None
