"""Operations: /health, /ready, /metrics, /openapi.yaml and the offline API page /docs."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, jsonify, send_file

from service.app import STATIC, service
from service.errors import error_body, error_response
from service.metrics import CONTENT_TYPE

bp = Blueprint("ops", __name__)

OPENAPI = Path(__file__).resolve().parents[2] / "openapi.yaml"


@bp.get("/health")
def health() -> Response:
    """Liveness: the process answers."""
    return jsonify(status="ok")


@bp.get("/ready")
def ready() -> Response:
    """Readiness: a release is loaded (503 until then)."""
    release = service().engines.release_id
    if release is None:
        return error_response(503, error_body("no_release", "no data release is loaded yet"))
    response = jsonify(status="ready", release=release)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/metrics")
def metrics() -> Response:
    return Response(service().metrics.render(), content_type=CONTENT_TYPE)


@bp.get("/openapi.yaml")
def openapi() -> Response:
    response = send_file(OPENAPI, mimetype="application/yaml", max_age=60)
    return response


@bp.get("/docs")
def docs() -> Response:
    return send_file(STATIC / "docs.html", mimetype="text/html", max_age=60)
