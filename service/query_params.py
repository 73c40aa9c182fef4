"""The GET form of an aggregate query → the dict of the POST form (``service.schemas``).

Syntax (documented in ``openapi.yaml``, which gives each parameter's pattern)::

    measures=suspects,population.inhabitants      comma list, parameter may repeat
    drilldown=residence@gemeente,period@year
    cut=residence@provincie:PV30,PV31              members (a set)
    cut=period@year:2019..2023                     inclusive range; open ends `2019..`, `..2023`
    cut=!sector@section:K                          leading `!` excludes (inverts) the cut
    cut=residence@gemeente:neighbours(GM0363)      relation: neighbours | descendants | peers
    cut=residence@gemeente:neighbours(GM0363,self) ... including the member itself
    totals=none|grand|margins   order=-suspects,period@year   limit=100   offset=0
    derived=rate:suspects/population.inhabitants*1000   (name:numerator/denominator[*per])
    ranking=m1,m2  ranking_method=rank|zscore  ranking_name=composite
    option=key:value   lang=nl|en   format=json|csv|csv-nl|arrow|parquet|sdmx-csv|sdmx-csv-1|
                                     sdmx-json|statline

Every malformed parameter is reported (location ``query.<name>[i]``), together with the
problems the query schema finds afterwards.
"""

from __future__ import annotations

import re
from typing import Any

from werkzeug.datastructures import MultiDict

from cube.errors import Problem
from cube.suggest import did_you_mean
from service.querybody import CODE

LIST_PARAMS = ("measures", "drilldown")
SCALAR_PARAMS = ("totals", "limit", "offset", "lang")
REPEATED_PARAMS = ("cut", "order", "derived", "option")
RANKING_PARAMS = ("ranking", "ranking_method", "ranking_name")
ALLOWED = frozenset((*LIST_PARAMS, *SCALAR_PARAMS, *REPEATED_PARAMS, *RANKING_PARAMS, "format"))

_CUT = re.compile(r"^(?P<neg>!)?(?P<dim>[^@:]+)@(?P<level>[^:]+):(?P<body>.+)$")
_RELATION = re.compile(
    r"^(?P<rel>neighbours|descendants|peers)\((?P<of>[^,()]+)(?P<self>,self)?\)$"
)
_CODE = re.compile(CODE)
_NAME = re.compile(r"[a-z][a-z0-9_]*")
_PER = re.compile(r"[0-9]*[1-9][0-9]*(\.[0-9]+)?|[0-9]+\.[0-9]*[1-9][0-9]*")
_DERIVED = re.compile(r"^(?P<name>[^:]+):(?P<num>[^/]+)/(?P<den>[^*]+)(\*(?P<per>.+))?$")


HINTED = 20  # unknown parameters that get a "did you mean" (the error lists few more)
ALIASES = {"measure": "measures", "drilldowns": "drilldown", "cuts": "cut"}
ALIASES |= {"fmt": "format", "sort": "order", "order_by": "order", "page_size": "limit"}


def unknown_parameter(name: str) -> str:
    """ "unknown parameter" with a "did you mean" for a near or alias name.

    >>> unknown_parameter("measure")
    "unknown parameter; did you mean 'measures'?"
    """
    alias = ALIASES.get(name.casefold())
    if alias is not None:
        return f"unknown parameter; did you mean {alias!r}?"
    return "unknown parameter" + did_you_mean(name[:60], sorted(ALLOWED))


def _split(
    values: list[str], location: str = "", problems: list[Problem] | None = None
) -> list[str]:
    """Comma lists → items. An empty item or one with spaces around it is a problem (reported
    when ``problems`` is given): ``openapi.yaml`` describes each list with a pattern that allows
    neither, and the server accepts exactly what it describes."""
    items = [item for v in values for item in v.split(",")]
    if problems is not None and any(not item or item != item.strip() for item in items):
        problems.append(Problem(location, "an empty item, or spaces around an item"))
    return [item.strip() for item in items if item.strip()]


def parse_cut(text: str) -> dict[str, Any]:
    """One ``cut=`` value → the JSON cut dict; ValueError with a safe message if malformed."""
    m = _CUT.match(text)
    if not m:
        raise ValueError("expected `[!]dimension@level:members|from..to|relation(code[,self])`")
    cut: dict[str, Any] = {"dimension": m["dim"], "level": m["level"]}
    if m["neg"]:
        cut["exclude"] = True
    body = m["body"]
    rel = _RELATION.match(body)
    if rel:
        cut.update(relation=rel["rel"], of=rel["of"])
        if rel["self"]:
            cut["include_self"] = True
    elif body == "..":
        raise ValueError("a range needs at least one end: `from..`, `..to` or `from..to`")
    elif _is_range(body):
        lo, _, hi = body.partition("..")
        cut.update({"from": lo or None, "to": hi or None})
    else:
        cut["members"] = body.split(",")
        if not all(cut["members"]):
            raise ValueError("an empty member in the list")
    return cut


def _is_range(body: str) -> bool:
    """``from..to`` with member codes (or one end empty). A member code may itself hold dots,
    so a text whose ends are not codes is a member list, as ``openapi.yaml``'s pattern reads it.

    >>> [_is_range(t) for t in ("2019..2023", "2019..", "..2023", "v...", "A,B")]
    [True, True, True, False, False]
    """
    lo, sep, hi = body.partition("..")
    return bool(sep) and all(_CODE.fullmatch(end) for end in (lo, hi) if end)


def parse_order(
    text: str, location: str = "", problems: list[Problem] | None = None
) -> list[dict[str, Any]]:
    return [
        {"by": item[1:], "desc": True} if item.startswith("-") else {"by": item, "desc": False}
        for item in _split([text], location, problems)
    ]


def parse_derived(text: str) -> dict[str, Any]:
    m = _DERIVED.match(text)
    if not m:
        raise ValueError("expected `name:numerator/denominator` with optional `*per`")
    out: dict[str, Any] = {"name": m["name"], "numerator": m["num"], "denominator": m["den"]}
    if m["per"] is not None:
        if not _PER.fullmatch(m["per"]):
            raise ValueError("`per` must be a positive decimal number such as 1000 or 0.5")
        out["per"] = m["per"]
    return out


def parse_option(text: str) -> tuple[str, str]:
    key, sep, value = text.partition(":")
    if not sep or not key:
        raise ValueError("expected `key:value`")
    return key, value


def _repeated(args: MultiDict[str, str], body: dict[str, Any], problems: list[Problem]) -> None:
    parsers = {"cut": ("cuts", parse_cut), "derived": ("derived", parse_derived)}
    for param, (key, parse) in parsers.items():
        for i, text in enumerate(args.getlist(param)):
            try:
                body.setdefault(key, []).append(parse(text))
            except ValueError as exc:
                problems.append(Problem(f"query.{param}[{i}]", str(exc)))
    for i, text in enumerate(args.getlist("order")):
        body.setdefault("order", []).extend(parse_order(text, f"query.order[{i}]", problems))
    for i, text in enumerate(args.getlist("option")):
        try:
            k, v = parse_option(text)
            body.setdefault("options", {})[k] = v
        except ValueError as exc:
            problems.append(Problem(f"query.option[{i}]", str(exc)))


def parse_args(args: MultiDict[str, str]) -> tuple[dict[str, Any], list[Problem]]:
    """Query parameters → (POST-form dict, problems found while parsing)."""
    unknown = [name for name in args if name not in ALLOWED]
    problems = [
        Problem(
            f"query.{name[:60]}", unknown_parameter(name) if i < HINTED else "unknown parameter"
        )
        for i, name in enumerate(unknown)
    ]
    body: dict[str, Any] = {}
    for name in LIST_PARAMS:
        if name in args:
            body[name] = _split(args.getlist(name), f"query.{name}", problems)
    for name in SCALAR_PARAMS:
        values = args.getlist(name)
        if len(values) > 1:
            problems.append(Problem(f"query.{name}", "give this parameter once"))
        elif values:
            body[name] = values[0]
    _repeated(args, body, problems)
    if "ranking" in args:
        body["ranking"] = {"measures": _split(args.getlist("ranking"), "query.ranking", problems)}
        for name in ("method", "name"):
            if f"ranking_{name}" in args:
                body["ranking"][name] = args[f"ranking_{name}"]
    else:
        # Without ``ranking`` they mean nothing (as ``openapi.yaml`` says), but are still
        # checked, so that what is sent is what the document allows.
        for name, ok in (("method", ("rank", "zscore")), ("name", None)):
            value = args.get(f"ranking_{name}")
            if value is not None and not (value in ok if ok else _NAME.fullmatch(value)):
                problems.append(Problem(f"query.ranking_{name}", "not a valid value"))
    return body, problems
