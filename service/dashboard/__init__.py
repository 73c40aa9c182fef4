"""The dashboard web page: ``/`` (the page), ``/dashboard/<asset>`` and the map geometry.

The page is static HTML/JS/CSS that talks to the public API only; nothing here computes or
sees a cell value. Every asset ships in ``static/`` (the vendored d3 bundle included) so the
page works offline; the gemeente and provincie boundaries come from ``dimensions/data``.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path
from typing import cast

from flask import Blueprint, Response, request

from cube.errors import NotFound, Problem

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


@bp.get("/api/v1/geometry/<level>")
def geometry(level: str) -> Response:
    """Boundaries of a region level as GeoJSON (WGS84, simplified), with the attribution."""
    if level not in GEOMETRY:
        raise NotFound(
            "no geometry for this level",
            [Problem("path.level", f"one of: {', '.join(sorted(GEOMETRY))}")],
        )
    response = Response(_geometry_bytes(level), content_type="application/geo+json")
    response.headers["Cache-Control"] = "public, max-age=86400"
    response.headers["X-Attribution"] = ATTRIBUTION
    response.add_etag()
    return cast(Response, response.make_conditional(request))
