"""Public resources under ``/api/v1``: cubes, model, members, aggregate, neighbours, releases."""

from __future__ import annotations

from typing import Any, cast

from flask import Blueprint, Response, g, jsonify, request

from cube.errors import Problem
from loaders import releases
from service import sdmx
from service.app import service
from service.errors import UserError
from service.formats import MEDIA_TYPES, choose_format, content_disposition
from service.prepared import Prepared, Remembered, prepare
from service.query_params import parse_args
from service.schemas import FormatOnlyArgs, MembersArgs, load_args, load_query
from service.state import Service

bp = Blueprint("public", __name__)


class BadBody(UserError):
    error_type = "invalid_query"


def _cacheable(response: Response) -> Response:
    """Public, cacheable metadata: ETag from the body, 304 on a matching If-None-Match."""
    response.headers["Cache-Control"] = f"public, max-age={service().settings.http_max_age_s}"
    response.add_etag()
    return cast(Response, response.make_conditional(request))


@bp.get("/cubes")
def cubes() -> Response:
    with service().engines.use() as engine:
        return _cacheable(jsonify(release=engine.release_id, cubes=engine.cubes()))


@bp.get("/cubes/<cube>")
def cube_model(cube: str) -> Response:
    with service().engines.use() as engine:
        return _cacheable(jsonify(engine.cube(cube)))


@bp.get("/cubes/<cube>/members/<dimension>")
def members(cube: str, dimension: str) -> Response:
    args = load_args(MembersArgs(), request.args)
    with service().engines.use() as engine:
        items, total = engine.members(cube, dimension, **args)
        body = {"cube": cube, "dimension": dimension, "level": args.get("level")}
        body.update(members=items, total=total, limit=args["limit"], offset=args["offset"])
        return _cacheable(jsonify(body))


def _json_body() -> Any:
    if not request.is_json:
        raise BadBody(
            "expected a JSON body",
            [Problem("header.Content-Type", "use application/json")],
        )
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # json's decoder recurses per level: a deep body would be a 500
        problem = Problem("body", "nested too deeply")
        raise BadBody("the body is nested too deeply", [problem]) from None
    if body is None:
        raise BadBody("the body is not valid JSON", [Problem("body", "not valid JSON")])
    return body


@bp.route("/cubes/<cube>/aggregate", methods=["GET", "POST"])
def aggregate(cube: str) -> Response:
    svc = service()
    if request.method == "GET":
        prepared, fmt = _get_query(svc, cube)
    else:
        load_args(FormatOnlyArgs(), request.args)
        body = _json_body()
        fmt = choose_format(request.args.get("format"), request.accept_mimetypes)
        prepared = prepare(load_query(cube, body))
    sdmx.check(prepared.query, fmt)
    answered = svc.answer(prepared, g.client, fmt)
    data, tag = answered.entry.body(fmt)
    response = Response(data, mimetype=None, content_type=MEDIA_TYPES[fmt])
    response.vary.add("Accept")
    response.headers["X-Zicht-Release"] = answered.release
    response.headers["X-Zicht-Cache"] = "hit" if answered.cached else "miss"
    disposition = content_disposition(prepared.query, answered.release, fmt)
    if disposition:
        response.headers["Content-Disposition"] = disposition
    if request.method == "GET":
        response.headers["Cache-Control"] = f"public, max-age={svc.settings.http_max_age_s}"
        response.set_etag(tag.strip('"'))
        return cast(Response, response.make_conditional(request))
    response.headers["Cache-Control"] = "no-store"
    return response


def _get_query(svc: Service, cube: str) -> tuple[Prepared, str]:
    """The GET form's query and format; a query string that validated before is not parsed
    and validated again (``service.prepared``). Problems are found in the same order either
    way: parameters, then the format, then the query."""
    remembered = svc.queries.get(cube, request.query_string)
    if remembered is not None:
        return remembered.prepared, choose_format(remembered.format_param, request.accept_mimetypes)
    body, problems = parse_args(request.args)
    format_param = request.args.get("format")
    fmt = choose_format(format_param, request.accept_mimetypes)
    prepared = prepare(load_query(cube, body, problems))
    svc.queries.put(cube, request.query_string, Remembered(prepared, format_param))
    return prepared, fmt


@bp.get("/regions/<code>/neighbours")
def neighbours(code: str) -> Response:
    with service().engines.use() as engine:
        return _cacheable(jsonify(code=code, neighbours=engine.neighbours(code)))


@bp.get("/releases")
def list_releases() -> Response:
    svc = service()
    serving = svc.engines.release_id
    items = [
        {"id": r.id, "created": r.created, "serving": r.id == serving}
        for r in releases.list_releases(svc.home)
    ]
    response = jsonify(serving=serving, releases=items)
    response.headers["Cache-Control"] = "no-cache"
    return response
