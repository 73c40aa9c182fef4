"""One SQL statement of the planner: a sqlglot tree (``cube.dialects``) with placeholders, its
bound member lists, and its text per dialect.

Member lists bound to a statement (``members``) stay beside its tree, so binding another
gemeente copies nothing: ``bound_tree()`` is the tree with them as literal nodes, and
``render`` gives exactly its text (``tests/cube/test_cube_dialects.py``): the tree's text
around the lists, rendered once per dialect, with each list written by that dialect's
generator. Integer keys are written as their decimal digits, which is what every dialect's
generator writes for an integer literal; so a template read from disk
(``cube/sqlcache.py``), with its DuckDB text around the lists, answers a query with integer
keys without importing sqlglot. Anything else (text keys, another dialect, a ``where`` to
bind) reads the tree, importing sqlglot then.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from sqlglot import exp


# What ``Statement.memo`` knows of the result's columns: still true of another tree with the
# same columns (members bound into it, a condition dropped or opened).
COLUMN_MEMO = ("branches", "list_columns")


class DialectError(Exception):
    """A statement that cannot be written in a dialect (a function without an entry, ...)."""


@dataclass(frozen=True, slots=True, eq=False)
class Statement:
    """``source``: the sqlglot tree, or sqlglot's serialisation of it (a template read from
    disk), loaded when first needed. Placeholders (``exp.Placeholder``): a cut's member list
    ``x IN (:cutN)``, a restriction of the rows ``WHERE :where``. ``memo`` keeps what was
    read or rendered (a cache, not state), shared by the statements binding other members to
    the same tree."""

    source: Any
    members: Mapping[str, Any] = field(default_factory=dict)  # keys (a tuple) or a condition
    memo: dict[Any, Any] = field(default_factory=dict, repr=False)

    @property
    def tree(self) -> exp.Expr:
        tree = self.memo.get("tree")
        if tree is None:
            if isinstance(self.source, list):  # sqlglot.serde's form
                from sqlglot import serde

                tree = serde.load(self.source)
            else:
                tree = self.source
            self.memo["tree"] = tree
        return cast("exp.Expr", tree)

    def placeholders(self) -> frozenset[str]:
        names = self.memo.get("holes")
        if names is None:
            from sqlglot import exp

            names = frozenset(str(p.name) for p in self.tree.find_all(exp.Placeholder))
            self.memo["holes"] = names
        return names  # type: ignore[no-any-return]

    def holes(self) -> frozenset[str]:
        """The placeholders not yet bound."""
        return self.placeholders() - self.members.keys()

    def bind(self, **values: Any) -> Statement:
        """The statement with placeholders bound: a tuple of keys to ``IN (:name)``, a
        condition (a tree) to ``WHERE :name``; ``None`` drops the ``WHERE :name`` it stands in.
        Placeholders not named stay open."""
        values = {k: v for k, v in values.items() if k in self.holes()}
        if not values:
            return self
        bound = {
            k: tuple(v) if isinstance(v, tuple | list) else v
            for k, v in values.items()
            if v is not None
        }
        dropped = {k: None for k, v in values.items() if v is None}
        if dropped:  # a new tree: rendered anew
            from cube.dialects import fill

            return self.with_tree(fill(self.tree, dropped), {**self.members, **bound})
        # the same tree: its text around what is bound is shared, rendered once per dialect
        return Statement(self.source, {**self.members, **bound}, self.memo)

    def with_tree(self, tree: exp.Expr, members: Mapping[str, Any] | None = None) -> Statement:
        """A statement of another tree with the same result columns: what the memo knows of
        them is kept, nothing else (its texts are of this tree)."""
        kept = {k: self.memo[k] for k in COLUMN_MEMO if k in self.memo}
        return Statement(tree, dict(members or {}), kept)

    def bound_tree(self) -> exp.Expr:
        """The tree with its member lists as literal nodes and its conditions in place."""
        if not self.members:
            return self.tree
        from cube.dialects import fill, fill_members

        lists = {k: v for k, v in self.members.items() if isinstance(v, tuple)}
        conditions = {k: v for k, v in self.members.items() if not isinstance(v, tuple)}
        tree = fill_members(self.tree, lists)
        return fill(tree, conditions) if conditions else tree

    def render(self, dialect: str, tables: Mapping[str, str] | None = None) -> str:
        """The statement's text in ``dialect`` (a name in ``cube.dialects.DIALECTS``);
        ``tables`` renames tables (a backend's views)."""
        if self.holes():
            raise DialectError("a statement with an unbound placeholder")
        key = pieces_key(dialect, tables, frozenset(self.members))
        parts = self.memo.get(key)
        if parts is None:
            from cube.dialects import DIALECTS, pieces

            parts = pieces(self.tree, key[2], DIALECTS[dialect], tables)
            self.memo[key] = parts
        out = [parts[0]]
        for name, text in zip(parts[1::2], parts[2::2], strict=True):
            out += [_listed(self.members[name], dialect), text]
        return "".join(out)

    def __str__(self) -> str:  # for reading (snapshots, logs): open placeholders as $name
        return self.bound_tree().sql(dialect="duckdb", pretty=True)


def pieces_key(
    dialect: str, tables: Mapping[str, str] | None, names: frozenset[str]
) -> tuple[str, tuple[tuple[str, str], ...], frozenset[str]]:
    return (dialect, tuple(sorted((tables or {}).items())), names)


def _integer(k: Any) -> bool:
    return (isinstance(k, int) and not isinstance(k, bool)) or type(k).__name__.startswith("int")


def _listed(keys: Any, dialect: str) -> str:
    """A member list's text, or a condition's (a tree) as the dialect writes it."""
    if isinstance(keys, tuple) and keys and all(_integer(k) for k in keys):
        return ", ".join(str(int(k)) for k in keys)
    from cube.dialects import DIALECTS, condition, listed

    if not isinstance(keys, tuple):
        return condition(keys, DIALECTS[dialect])
    return listed(keys, DIALECTS[dialect])
