"""A query's JSON body → ``Query`` and back, without marshmallow for the common valid bodies.

``load_query`` is the one entry point (``service.schemas`` re-exports it): a body made only of
fields this module can check exactly (cube, measures, drill-down, cuts by members, totals,
limit, offset, language; strings, integers and lists of the JSON types marshmallow itself
would accept unchanged) that passes every check becomes the ``Query`` directly. Anything else,
valid or not, goes to the marshmallow schema in ``service.schemas``, which reports every
problem. Importing marshmallow costs ~55 ms (its e-mail validator compiles a large Unicode
pattern at import), a fifth of a `zicht query` process; the HTTP service imports it anyway.
``tests/service/test_service_querybody.py`` checks that a body parsed here is exactly what the
schema makes of it.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from typing import Any

from cube.errors import Problem
from cube.plan import MAX_ITEMS as PLANNER_MAX_ITEMS
from cube.query import Cut, Query

NAME = r"[a-z][a-z0-9_]*"
MEASURE_RE = rf"^{NAME}(\.{NAME})?$"
DRILL_RE = rf"^{NAME}(@{NAME})?$"
# member codes: letters, digits and - _ . + ("95+", the oldest age band)
CODE = r"[A-Za-z0-9][A-Za-z0-9_.+\-]{0,39}"
CODE_RE = rf"^{CODE}$"
MAX_LIMIT = 100_000
MAX_OFFSET = 10_000_000
MAX_ITEMS = 50
MAX_MEMBERS = 1_000
MAX_DRILLDOWN = PLANNER_MAX_ITEMS  # the planner's limit: the schema says what the engine enforces
TOTALS = ("none", "grand", "margins")
LANGS = ("nl", "en")

# marshmallow's Regexp validator matches with ``re.match``: the same patterns, the same way
_NAME = re.compile(rf"^{NAME}$")
_MEASURE = re.compile(MEASURE_RE)
_DRILL = re.compile(DRILL_RE)
_CODE = re.compile(CODE_RE)
_PLAIN = frozenset({"cube", "measures", "drilldown", "cuts", "totals", "limit", "offset", "lang"})
_PLAIN_CUT = frozenset({"dimension", "level", "members", "exclude"})


def load_query(cube: str, body: Any, problems: list[Problem] | None = None) -> Query:
    """Validate a query dict for ``cube``; raise ``InvalidQuery`` listing every problem.

    ``problems`` are earlier problems (from parsing the GET form) reported together.
    """
    if not problems:
        query = plain_query(cube, body)
        if query is not None:
            return query
    from service.schemas import load_checked  # marshmallow: every problem, in its words

    return load_checked(cube, body, problems)


def plain_query(cube: str, body: Any) -> Query | None:
    """The ``Query`` of a body of plain fields that passes every check of the schema; None for
    any other body (the schema then decides)."""
    if type(body) is not dict or not body.keys() <= _PLAIN:
        return None
    data: dict[str, Any] = {"cube": cube}
    if "cube" in body and not (_text(body["cube"], _NAME) and body["cube"] == cube):
        return None
    measures = _texts(body.get("measures"), _MEASURE, 1, MAX_ITEMS)
    if measures is None:
        return None
    data["measures"] = measures
    if "drilldown" in body:
        drilldown = _texts(body["drilldown"], _DRILL, 0, MAX_DRILLDOWN)
        if drilldown is None:
            return None
        data["drilldown"] = drilldown
    if "cuts" in body:
        cuts = body["cuts"]
        if type(cuts) is not list or len(cuts) > MAX_ITEMS:
            return None
        parsed = [_cut(c) for c in cuts]
        if any(c is None for c in parsed):
            return None
        data["cuts"] = tuple(parsed)
    if "totals" in body:
        if type(body["totals"]) is not str or body["totals"] not in TOTALS:
            return None
        data["totals"] = body["totals"]
    if "limit" in body:
        limit = body["limit"]
        if limit is not None and not _integer(limit, 1, MAX_LIMIT):
            return None
        data["limit"] = limit
    if "offset" in body:
        if not _integer(body["offset"], 0, MAX_OFFSET):
            return None
        data["offset"] = body["offset"]
    if "lang" in body:
        if type(body["lang"]) is not str or body["lang"] not in LANGS:
            return None
        data["lang"] = body["lang"]
    return Query(**data)


def _cut(cut: Any) -> Cut | None:
    """A cut by members (``exclude`` optional); None for any other cut."""
    if type(cut) is not dict or not {"dimension", "level", "members"} <= cut.keys() <= _PLAIN_CUT:
        return None
    role, level = cut["dimension"], cut["level"]
    if not (_text(role, _NAME) and _text(level, _NAME)):
        return None
    members = _texts(cut["members"], _CODE, 1, MAX_MEMBERS)
    if members is None:
        return None
    exclude = cut.get("exclude", False)
    if type(exclude) is not bool:
        return None
    return Cut(role=role, level=level, members=tuple(dict.fromkeys(members)), exclude=exclude)


def _text(value: Any, pattern: re.Pattern[str]) -> bool:
    return type(value) is str and pattern.match(value) is not None


def _texts(values: Any, pattern: re.Pattern[str], least: int, most: int) -> tuple[str, ...] | None:
    if type(values) is not list or not least <= len(values) <= most:
        return None
    if not all(_text(v, pattern) for v in values):
        return None
    return tuple(values)


def _integer(value: Any, least: int, most: int) -> bool:
    return type(value) is int and least <= value <= most


def query_to_dict(query: Query) -> dict[str, Any]:
    """The JSON form of a ``Query`` (as a POST body would write it), defaults included."""
    data = asdict(query)
    data["cuts"] = [{"dimension": c.pop("role"), **c} for c in data["cuts"]]
    for cut in data["cuts"]:
        cut["from"] = cut.pop("from_")
    data["options"] = dict(query.options)
    return _lists(data)


def _lists(value: Any) -> Any:
    """Tuples → lists, recursively, so the dict equals its own JSON round trip."""
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_lists(v) for v in value]
    return value


def canonical(query: Query) -> str:
    """A stable text for the query: the cache key and the audit record.

    Cuts and cut members are sets, so they are sorted; everything else keeps its order
    (measures and drill-down order shape the answer).
    """
    data = query_to_dict(query)
    for cut in data["cuts"]:
        cut["members"] = sorted(cut["members"])
    data["cuts"] = sorted(data["cuts"], key=lambda c: json.dumps(c, sort_keys=True))
    return json.dumps(data, sort_keys=True, separators=(",", ":"))
