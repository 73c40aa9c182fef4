"""Requests → the frozen ``Query`` (normalised once, at the boundary).

The POST body is the query as JSON (``Query`` in ``openapi.yaml``); the GET form is parsed into
the same dict by ``service.query_params`` and validated by the same schema, so both have
identical semantics.
Every problem is collected (marshmallow reports all fields at once); unknown fields are rejected.
``load_query`` lives in ``service.querybody``, which parses the common valid bodies without
importing marshmallow and hands every other body to ``load_checked`` here.
"""

from __future__ import annotations

import re
from typing import Any

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from cube.errors import InvalidQuery, Problem
from cube.query import Cut, Derived, Order, Query, Ranking
from cube.suggest import did_you_mean
from service.querybody import (
    CODE_RE,
    DRILL_RE,
    LANGS,
    MAX_DRILLDOWN,
    MAX_ITEMS,
    MAX_LIMIT,
    MAX_MEMBERS,
    MAX_OFFSET,
    MEASURE_RE,
    NAME,
    TOTALS,
    canonical,
    load_query,
    query_to_dict,
)

__all__ = ["canonical", "load_query", "query_to_dict"]  # kept here too for their importers

_name = validate.Regexp(rf"^{NAME}$", error="must be a snake_case identifier")
_measure = validate.Regexp(MEASURE_RE, error="must be `measure` or `cube.measure`")
_drill = validate.Regexp(DRILL_RE, error="must be `role@level`")
_order_by = validate.Regexp(
    rf"^{NAME}([.@]{NAME})?$", error="must be a measure or a drill-down item `role@level`"
)
_CODE_TEXT = "must be a member code (letters, digits, - _ . +)"
_code_pattern = validate.Regexp(CODE_RE, error=_CODE_TEXT)


def _code(value: str) -> None:
    """A member code; one with a space where a '+' would make it one ('95 ' for '95+') came
    through a URL, where '+' means a space: say so."""
    if value.endswith(" ") and re.match(CODE_RE, value.replace(" ", "+")):
        raise ValidationError(f"{_CODE_TEXT}; in a URL a '+' is a space: write it as %2B")
    _code_pattern(value)


def _list(inner: fields.Field, *, required: bool = False, most: int = MAX_ITEMS) -> fields.List:
    return fields.List(inner, required=required, validate=validate.Length(max=most))


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class CutSchema(_Strict):
    dimension = fields.String(required=True, validate=_name)
    level = fields.String(required=True, validate=_name)
    members = _list(fields.String(validate=_code), most=MAX_MEMBERS)
    from_ = fields.String(data_key="from", validate=_code, allow_none=True)
    to = fields.String(validate=_code, allow_none=True)
    # null is "not given" (the answer echoes a cut with ``relation`` and ``of`` null)
    relation = fields.String(
        validate=validate.OneOf(["neighbours", "descendants", "peers"]), allow_none=True
    )
    of = fields.String(validate=_code, allow_none=True)
    include_self = fields.Boolean()
    # `exclude` is also an attribute of marshmallow's Schema: declare under another name.
    exclude_ = fields.Boolean(data_key="exclude")

    @validates_schema
    def one_form(self, data: dict[str, Any], **kwargs: Any) -> None:
        data = {k: v for k, v in data.items() if not (k in ("relation", "of") and v is None)}
        forms = [
            bool(data.get("members")),
            data.get("from_") is not None or data.get("to") is not None,
            "relation" in data,
        ]
        if sum(forms) != 1:
            raise ValidationError(
                "give exactly one of `members`, a range `from`/`to`, or a `relation` with `of`"
            )
        if "relation" in data and "of" not in data:
            raise ValidationError("a `relation` needs `of` (the member it is relative to)", "of")
        if "relation" not in data and ("of" in data or data.get("include_self")):
            raise ValidationError("`of` and `include_self` belong to a `relation` cut", "of")

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> Cut:
        data = {k: v for k, v in data.items() if not (k in ("relation", "of") and v is None)}
        if "members" in data:
            data["members"] = tuple(dict.fromkeys(data["members"]))
        if "exclude_" in data:
            data["exclude"] = data.pop("exclude_")
        return Cut(role=data.pop("dimension"), **data)


class OrderSchema(_Strict):
    by = fields.String(required=True, validate=_order_by)
    desc = fields.Boolean(load_default=False)

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> Order:
        return Order(**data)


class DerivedSchema(_Strict):
    name = fields.String(required=True, validate=_name)
    numerator = fields.String(required=True, validate=_measure)
    denominator = fields.String(required=True, validate=_measure)
    per = fields.Float(load_default=1.0, validate=validate.Range(min=0, min_inclusive=False))

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> Derived:
        return Derived(**data)


class RankingSchema(_Strict):
    measures = fields.List(
        fields.String(validate=_measure), required=True, validate=validate.Length(2, MAX_ITEMS)
    )
    method = fields.String(load_default="rank", validate=validate.OneOf(["rank", "zscore"]))
    name = fields.String(load_default="composite", validate=_name)

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> Ranking:
        return Ranking(measures=tuple(data["measures"]), method=data["method"], name=data["name"])


class QuerySchema(_Strict):
    cube = fields.String(validate=_name)
    measures = fields.List(
        fields.String(validate=_measure), required=True, validate=validate.Length(1, MAX_ITEMS)
    )
    drilldown = _list(fields.String(validate=_drill), most=MAX_DRILLDOWN)
    cuts = _list(fields.Nested(CutSchema))
    totals = fields.String(validate=validate.OneOf(TOTALS))
    order = _list(fields.Nested(OrderSchema), most=8)
    limit = fields.Integer(validate=validate.Range(1, MAX_LIMIT), allow_none=True)
    offset = fields.Integer(validate=validate.Range(0, MAX_OFFSET))
    derived = _list(fields.Nested(DerivedSchema), most=20)
    ranking = fields.Nested(RankingSchema, allow_none=True)
    lang = fields.String(validate=validate.OneOf(LANGS))
    options = fields.Dict(
        keys=fields.String(validate=_name),
        values=fields.String(validate=validate.Length(max=200)),
        validate=validate.Length(max=20),
    )

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        for name in ("measures", "drilldown", "cuts", "order", "derived"):
            if name in data:
                data[name] = tuple(data[name])
        if "options" in data:
            data["options"] = tuple(sorted(data["options"].items()))
        return data


_QUERY = QuerySchema()


def load_checked(cube: str, body: Any, problems: list[Problem] | None = None) -> Query:
    """Validate a query dict for ``cube`` with the schema; raise ``InvalidQuery`` listing every
    problem (``service.querybody.load_query`` is the entry point).

    ``problems`` are earlier problems (from parsing the GET form) reported together.
    """
    found = list(problems or [])
    data: dict[str, Any] = {}
    try:
        data = _QUERY.load(body if body is not None else {})
    except ValidationError as exc:
        found.extend(flatten(with_hints(exc.messages, _QUERY)))
    if isinstance(body, dict) and body.get("cube", cube) != cube:
        found.append(Problem("cube", "differs from the cube in the path"))
    if found:
        raise InvalidQuery("the query is not valid", found)
    data["cube"] = cube
    return Query(**data)


# Names other APIs use for a parameter or field of ours: suggested when one is sent.
ALIASES = {
    "q": "search",
    "query": "search",
    "name": "search",
    "page_size": "limit",
    "per_page": "limit",
    "size": "limit",
    "skip": "offset",
    "start": "offset",
    "measure": "measures",
    "drilldowns": "drilldown",
    "cut": "cuts",
    "member": "members",
    "fmt": "format",
}
UNKNOWN_FIELD = "Unknown field."


def field_hint(name: str, known: list[str]) -> str:
    """ "unknown field" with a "did you mean" when ``name`` resembles or aliases a known one."""
    alias = ALIASES.get(name.casefold())
    if alias in known:
        return f"unknown field; did you mean {alias!r}?"
    return "unknown field" + did_you_mean(name[:60], known)


def _data_keys(schema: Schema) -> dict[str, fields.Field]:
    return {f.data_key or name: f for name, f in schema.fields.items()}


def with_hints(messages: Any, schema: Schema) -> Any:
    """marshmallow's messages with "did you mean" for unknown fields, nested schemas too."""
    if not isinstance(messages, dict):
        return messages
    known = _data_keys(schema)
    out: dict[Any, Any] = {}
    for key, value in messages.items():
        if value == [UNKNOWN_FIELD] and isinstance(key, str) and key not in known:
            out[key] = [field_hint(key, list(known))]
            continue
        field = known.get(key) if isinstance(key, str) else None
        inner = field.inner if isinstance(field, fields.List) else field
        if isinstance(inner, fields.Nested) and isinstance(inner.schema, Schema):
            nested = inner.schema
            if isinstance(field, fields.List) and isinstance(value, dict):
                out[key] = {i: with_hints(v, nested) for i, v in value.items()}
            else:
                out[key] = with_hints(value, nested)
        else:
            out[key] = value
    return out


def flatten(messages: Any, location: str = "") -> list[Problem]:
    """marshmallow's nested error dict → flat ``Problem`` list with dotted locations."""
    if isinstance(messages, dict):
        out: list[Problem] = []
        for key, value in messages.items():
            if key == "_schema":
                sub = location or "body"
            elif isinstance(key, int):
                sub = f"{location}[{key}]"
            else:
                sub = f"{location}.{key}" if location else str(key)
            out.extend(flatten(value, sub))
        return out
    if isinstance(messages, list | tuple):
        return [p for m in messages for p in flatten(m, location)]
    return [Problem(location or "body", str(messages))]


class MembersArgs(_Strict):
    level = fields.String(validate=_name)
    search = fields.String(validate=validate.Length(1, 100))
    parent = fields.String(validate=_code)
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 1000))
    offset = fields.Integer(load_default=0, validate=validate.Range(0, 10_000_000))


class AdminListArgs(_Strict):
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 1000))
    client = fields.String(validate=validate.Length(1, 100))


class FormatOnlyArgs(_Strict):
    format = fields.String()


def load_args(schema: Schema, args: Any) -> dict[str, Any]:
    """Validate query parameters (each given once) with ``schema``; every problem reported."""
    problems = [
        Problem(f"query.{k}", "give this parameter once") for k in args if len(args.getlist(k)) > 1
    ]
    try:
        data: dict[str, Any] = schema.load(args.to_dict())
    except ValidationError as exc:
        problems.extend(flatten(with_hints(exc.messages, schema), "query"))
        data = {}
    if problems:
        raise InvalidQuery("the query parameters are not valid", problems)
    return data
