"""Admin resources under ``/api/v1/admin``: bearer token from the settings, compared in
constant time; 401 when missing, 403 when wrong (or when no token is configured)."""

from __future__ import annotations

import hmac

from flask import Blueprint, Response, jsonify, request

from service.app import service
from service.errors import Forbidden, Unauthorized
from service.schemas import AdminListArgs, load_args

bp = Blueprint("admin", __name__)


@bp.before_request
def require_token() -> None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("a bearer token is required")
    expected = service().settings.admin_token
    # compare_digest on equal-type bytes: the time taken does not depend on where they differ.
    if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
        raise Forbidden("the token is not valid for admin resources")


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/releases/<release_id>/activate")
def activate(release_id: str) -> Response:
    svc = service()
    previous = svc.engines.release_id
    release = svc.activate(release_id)
    return _no_store(jsonify(serving=release.id, previous=previous))


@bp.post("/releases/rollback")
def rollback() -> Response:
    svc = service()
    previous = svc.engines.release_id
    release = svc.rollback()
    return _no_store(jsonify(serving=release.id, previous=previous))


@bp.get("/audit")
def audit() -> Response:
    args = load_args(AdminListArgs(), request.args)
    records = service().store.recent_audit(args["limit"], args.get("client"))
    return _no_store(jsonify(records=records))


@bp.get("/risk")
def risk() -> Response:
    args = load_args(AdminListArgs(), request.args)
    svc = service()
    flags = svc.monitor.flags(args["limit"], args.get("client"))
    return _no_store(jsonify(summary=svc.monitor.summary(), flags=flags))
