"""The dashboard web page: ``/`` (the page), ``/dashboard/<asset>`` and the map geometry.

The page is static HTML/JS/CSS that talks to the public API only; nothing here computes or
sees a cell value. Every asset ships in ``static/`` (the vendored d3 bundle included) so the
page works offline; the gemeente and provincie boundaries come from ``dimensions/data``, the
wijk and buurt boundaries from the serving release when its delivery had them.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path
from typing import cast

from flask import Blueprint, Response, jsonify, request
from marshmallow import Schema, ValidationError, fields, validate

from cube.errors import InvalidQuery, NotFound, Problem
from cube.metadata import BOUNDARY_LEVELS
from service.app import service

STATIC = Path(__file__).parent / "static"

# The page runs only its own scripts and styles: no inline code, no other origin. d3 sets
# styles through the CSSOM, which style-src does not restrict.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
# Boundary files shipped with the region reference data (CBS Gebiedsindelingen, CC BY 4.0).
GEOMETRY = {"gemeente": "gemeente_2025.geojson", "provincie": "provincie_2023.geojson"}
ATTRIBUTION = "Bron: CBS / PDOK (CBS Gebiedsindelingen 2023, 2025), CC BY 4.0"

bp = Blueprint(
    "dashboard",
    __name__,
    static_folder=str(STATIC),
    static_url_path="/dashboard",
)


@bp.after_request
def _strict_csp(response: Response) -> Response:
    # Set before the app's own headers (which only fill in what is missing).
    response.headers["Content-Security-Policy"] = PAGE_CSP
    if request.path.startswith("/dashboard/") and response.status_code == 200:
        response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.get("/")
def page() -> Response:
    """The dashboard page (Dutch by default; the page switches language itself)."""
    response = Response((STATIC / "index.html").read_bytes(), content_type="text/html")
    response.headers["Content-Type"] = "text/html; charset=utf-8"
    response.headers["Cache-Control"] = "no-cache"
    response.add_etag()
    return cast(Response, response.make_conditional(request))


@cache
def _geometry_bytes(level: str) -> bytes:
    name = GEOMETRY[level]
    return resources.files("dimensions").joinpath("data", name).read_bytes()


class GeometryArgs(Schema):
    gemeente = fields.String(validate=validate.Regexp(r"^GM[0-9]{4}$", error="a code like GM0363"))


@bp.get("/api/v1/geometry/<level>")
def geometry(level: str) -> Response:
    """Boundaries of a region level as GeoJSON (WGS84, simplified), with the attribution.
    ``wijk`` and ``buurt`` take ``?gemeente=GM....`` and answer the serving release's
    delivered boundaries of that gemeente (no features when none were delivered)."""
    if level not in GEOMETRY and level not in BOUNDARY_LEVELS:
        levels = sorted([*GEOMETRY, *BOUNDARY_LEVELS])
        raise NotFound(
            "no geometry for this level", [Problem("path.level", f"one of: {', '.join(levels)}")]
        )
    gemeente = _geometry_args(level)
    if gemeente is None:
        response = Response(_geometry_bytes(level), content_type="application/geo+json")
        response.headers["Cache-Control"] = "public, max-age=86400"
        response.headers["X-Attribution"] = ATTRIBUTION
    else:
        svc = service()
        with svc.engines.use() as engine:
            body = engine.boundaries(level, gemeente)
            release = engine.release_id
        response = jsonify(body)
        response.content_type = "application/geo+json"
        response.headers["Cache-Control"] = f"public, max-age={svc.settings.http_max_age_s}"
        response.headers["X-Zicht-Release"] = release
        if body["features"]:
            response.headers["X-Attribution"] = "Bron: CBS wijk- en buurtkaart (geleverd)"
    response.add_etag()
    return cast(Response, response.make_conditional(request))


def _geometry_args(level: str) -> str | None:
    """The gemeente asked for: required for wijk and buurt, refused for the national levels."""
    problems = [
        Problem(f"query.{k}", "give this parameter once")
        for k in request.args
        if len(request.args.getlist(k)) > 1
    ]
    try:
        args = GeometryArgs().load(request.args.to_dict())
    except ValidationError as exc:
        messages = cast(dict[str, list[str]], exc.messages)
        problems += [Problem(f"query.{k}", "; ".join(map(str, v))) for k, v in messages.items()]
        args = {}
    if (
        level in BOUNDARY_LEVELS
        and "gemeente" not in args
        and "query.gemeente" not in {p.location for p in problems}
    ):
        problems.append(Problem("query.gemeente", f"required for {level} boundaries"))
    if level in GEOMETRY and "gemeente" in request.args:
        problems.append(Problem("query.gemeente", "only for wijk and buurt boundaries"))
    if problems:
        raise InvalidQuery("the query parameters are not valid", problems)
    return args.get("gemeente")
