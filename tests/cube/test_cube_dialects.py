"""Statements as trees (``cube.dialects``): placeholders bound as literal nodes, one table of
per-dialect functions, and a new dialect as one entry of that table."""

from __future__ import annotations

from dataclasses import fields

import duckdb
import pytest
import sqlglot
from sqlglot import exp

from cube import run
from cube.backend import DuckDbBackend
from cube.backends.spark import to_spark
from cube.dialects import (
    DIALECTS,
    FUNCTIONS,
    Dialect,
    DialectError,
    hole,
    keep,
    member_list,
    render,
)
from cube.plan import make_plan
from cube.query import Cut, Query
from cube.statement import Statement
from tests.cube.test_cube_sql_snapshots import CASES

CODES = ["it's", "back\\slash", "\\'", "'; DROP TABLE codes; --", "a''b", "tab\there"]
DECOYS = ["it", "s", "back", "slash", "\\", "'", "a'b", "ab"]


def _where_in(codes_hole: str) -> Statement:
    """``SELECT code FROM codes WHERE code IN (:<hole>)``, built as a tree."""
    select = exp.select("code").from_("codes")
    return Statement(select.where(exp.In(this=exp.column("code"), expressions=[hole(codes_hole)])))


@pytest.mark.parametrize("code", CODES)
def test_a_member_code_with_a_quote_or_backslash_is_bound_exactly_on_duckdb(code):
    con = duckdb.connect()
    con.execute("CREATE TABLE codes (code VARCHAR)")
    con.executemany("INSERT INTO codes VALUES (?)", [(c,) for c in {*CODES, *DECOYS}])
    bound = _where_in("cut0").bind(cut0=(code,))
    _, rows = DuckDbBackend(con.cursor()).rows(bound)
    assert rows == [(code,)]


@pytest.mark.parametrize("code", CODES)
def test_a_member_code_with_a_quote_or_backslash_is_bound_exactly_on_spark(code):
    """Spark reads backslashes in string literals as escapes (DuckDB does not): the rendered
    text, read back as Spark SQL, holds the very code."""
    text = to_spark(_where_in("cut0").bind(cut0=(code, "x")))
    (found,) = sqlglot.parse_one(text, read="spark").find_all(exp.In)
    assert [lit.this for lit in found.expressions] == [code, "x"]
    escaped = code.replace("\\", "\\\\").replace("'", "\\'").replace("\t", "\\t")
    assert f"IN ('{escaped}', 'x')" in text


def test_a_shape_template_binds_such_codes_into_every_statement(engine):
    """The engine's own template (the shape of a cut on a text-coded dimension) bound to codes
    with quotes and backslashes: each statement of the strategy holds them as literals, on
    DuckDB and on Spark alike, no placeholder is left, and the text is the bound tree's."""
    q = Query(
        "drug_suspects",
        ("suspects",),
        ("sex", "drug_type"),
        cuts=(Cut("drug_type", "drug_type", ("cannabis", "cocaine")),),
    )
    plan = make_plan(q, engine.catalog, engine.axes_for, engine.store, engine.max_cells)
    (part,) = plan.parts
    shape, fills = run._shape(part)
    assert shape is not None and set(fills) == {"cut0"}
    template = run._open(
        run.choose(
            run.target(engine.context, plan, shape), run.situation_of(engine.context, plan, part)
        ),
        list(fills),
    )
    assert template is not None
    filled = run._fill(template, {"cut0": tuple(CODES)})
    statements = [
        getattr(filled, f.name)
        for f in fields(filled)
        if isinstance(getattr(filled, f.name), Statement)
    ]
    assert statements
    for statement in statements:
        bound = statement.bind(where=None)
        assert not bound.holes()
        for name, dialect in DIALECTS.items():
            text = bound.render(name)
            assert text == render(bound.bound_tree(), dialect)  # the tree, literals and all
            tree = sqlglot.parse_one(text, read=dialect.sqlglot)
            lists = [
                [lit.this for lit in node.expressions]
                for node in tree.find_all(exp.In)
                if all(isinstance(e, exp.Literal) and e.is_string for e in node.expressions)
            ]
            assert CODES in lists, name


def test_a_statement_with_an_open_placeholder_is_never_rendered():
    with pytest.raises(DialectError, match="placeholder"):
        _where_in("cut0").render("duckdb")


def test_where_none_drops_the_restriction_and_an_expression_fills_it():
    statement = Statement(exp.select("a").from_("t").where(hole("where")))
    assert statement.bind(where=None).render("duckdb") == "SELECT a FROM t"
    gt = exp.GT(this=exp.column("hr"), expression=exp.Literal.number(1))
    assert statement.bind(where=gt).render("spark") == "SELECT a FROM t WHERE hr > 1"
    for name, dialect in DIALECTS.items():  # spliced into the text rendered around it
        bound = statement.bind(where=gt)
        assert bound.render(name) == render(bound.bound_tree(), dialect)
        assert not bound.holes()


def test_a_refinement_condition_is_spliced_as_its_tree_would_be_written():
    """Member lists joined by AND (written without the rewriting walk) and a condition with a
    comparison: the text around the placeholder plus the condition's text is the bound
    tree's text, in every dialect."""
    statement = Statement(exp.select("a").from_("t").where(hole("where")))
    lists = exp.and_(member_list("k0", [3, 1, 2]), member_list("k1", ["it's", "a\\b"]))
    for cond in (lists, exp.true(), exp.and_(lists, exp.column("hr").eq(1))):
        bound = statement.bind(where=cond)
        for name, dialect in DIALECTS.items():
            assert bound.render(name) == render(bound.bound_tree(), dialect), (name, cond)


def test_every_dialect_renders_every_function():
    for dialect in DIALECTS.values():
        assert set(dialect.functions) == set(FUNCTIONS), dialect.name


def test_a_function_a_dialect_has_no_entry_for_is_refused_by_name():
    tree = sqlglot.parse_one("SELECT max(x, 2) AS t FROM f", read="duckdb")
    with pytest.raises(DialectError, match="top_n has no rendering on bare"):
        render(tree, Dialect("bare", "duckdb", {}))


def _trino_top_n(node: exp.Expr) -> exp.Expr:
    """Trino's ``max(x, n)`` is DuckDB's (the n largest, descending); sqlglot's Trino writer
    has no ``count`` argument, so it is written as the plain function, filter kept."""
    agg = node.this if isinstance(node, exp.Filter) else node
    written = exp.Anonymous(this="max", expressions=[agg.this.copy(), agg.args["count"].copy()])
    if isinstance(node, exp.Filter):
        return exp.Filter(this=written, expression=node.expression.copy())
    return written


# What a Trino backend would add: one entry (and an opener, and a conformance run).
TRINO = Dialect(
    "trino",
    "trino",
    {
        "top_n": _trino_top_n,
        "grouping": keep,
        "sum": keep,
        "key_mod": keep,  # sqlglot writes Trino's bitwise_and(x, mask)
    },
)


@pytest.mark.parametrize("source", ["facts", "rollups"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_a_new_dialect_is_one_table_entry(engine, facts_engine, name, source):
    """Every statement of the snapshot queries renders in a dialect added as one entry: the
    text reads back as that dialect's SQL with every function written its way."""
    eng = engine if source == "rollups" else facts_engine
    q = CASES[name]
    plan = make_plan(q, eng.catalog, eng.axes_for, eng.store, eng.max_cells)
    for part in plan.parts:
        sql = run.compiled(eng.context, eng.caches, plan, part)
        for f in fields(sql):
            value = getattr(sql, f.name)
            if not isinstance(value, Statement):
                continue
            bound = value.bind(where=None)
            text = render(bound.bound_tree(), TRINO)
            tree = sqlglot.parse_one(text, read="trino")
            assert not [m for m in tree.find_all(exp.Max) if m.args.get("count") is not None]
            want = bound.render("duckdb").upper().count("MAX(")
            assert text.upper().count("MAX(") == want  # top-n as Trino's own max(x, n)


def test_only_the_key_mask_is_key_mod():
    """``x & 4294967295`` (the cell key: a record-key sum mod 2^32) is written as a modulo
    where a dialect has no bitwise AND on its sums; any other mask stays as the tree has it."""
    from cube.dialects import KEY_MASK
    from cube.sql import KEY_MOD

    assert KEY_MASK == KEY_MOD - 1
    key = sqlglot.parse_one(f"SELECT CAST(SUM(k) & {KEY_MASK} AS BIGINT) AS key FROM f")
    other = sqlglot.parse_one("SELECT flags & 255 AS low FROM f")
    datafusion = DIALECTS["datafusion"]
    assert f"% {KEY_MASK + 1}" in render(key, datafusion) and "&" not in render(key, datafusion)
    assert "flags & 255" in render(other, datafusion) and "%" not in render(other, datafusion)
    assert f"& {KEY_MASK}" in render(key, DIALECTS["duckdb"])
