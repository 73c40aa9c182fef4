"""Operations: /health, /ready, /metrics, /openapi.yaml and the offline API page /docs."""

from __future__ import annotations

from pathlib import Path
from typing import cast

from flask import Blueprint, Response, jsonify, request

from cube.errors import Problem
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
    """Readiness: a release is loaded, its files are those its manifest names (size and
    SHA-256) and the state store (audit log, limits, risk memory) can be written (503
    otherwise, every problem listed)."""
    svc = service()
    release = svc.engines.release_id
    if release is None:
        return error_response(503, error_body("no_release", "no data release is loaded yet"))
    found = svc.release_files.problems(svc.home, release)
    found.extend(svc.store.problems())
    if found:
        problems = [Problem("ready", p) for p in found]
        body = error_body("not_ready", "the service cannot answer safely", problems)
        return _no_store(error_response(503, body))
    if svc.worker is None:
        return _no_store(jsonify(status="ready", release=release))
    return _no_store(jsonify(status="ready", release=release, worker=svc.worker))


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/metrics")
def metrics() -> Response:
    return Response(service().metrics.render(), content_type=CONTENT_TYPE)


@bp.get("/openapi.yaml")
def openapi() -> Response:
    return _file(OPENAPI, "application/yaml")


@bp.get("/docs")
def docs() -> Response:
    return _file(STATIC / "docs.html", "text/html; charset=utf-8")


def _file(path: Path, content_type: str) -> Response:
    response = Response(path.read_bytes(), content_type=content_type)
    response.headers["Cache-Control"] = "public, max-age=60"
    response.add_etag()
    return cast(Response, response.make_conditional(request))
