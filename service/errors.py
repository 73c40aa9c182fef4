"""One error shape, one handler (datasette's ``error_body()``; Cubes' user vs internal errors).

Every 4xx body is ``{"error_type", "message", "errors": [{"location", "message"}]}``. A 500 body
is generic. Messages come only from ``UserError`` (whose texts are written to be safe) or from
fixed texts here: an error never echoes a cell value, a contributor, SQL or a stack trace.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from cube.errors import (
    InvalidQuery,
    NoRelease,
    NotFound,
    Problem,
    QueryTimeout,
    TooManyCells,
    UserError,
)

if TYPE_CHECKING:
    from flask import Flask, Response
    from werkzeug.exceptions import HTTPException

# Flask is imported by the functions that answer HTTP: `zicht query` uses the error classes
# here without a web framework.

log = logging.getLogger("zicht.service")

INTERNAL_MESSAGE = "internal error; the incident has been logged"

# Fixed texts for errors werkzeug raises itself: its own descriptions can mention request
# details, so none of them is passed through.
_HTTP_ERRORS: dict[int, tuple[str, str]] = {
    400: ("bad_request", "the request could not be read"),
    401: ("unauthorized", "authentication required"),
    403: ("forbidden", "not allowed"),
    404: ("not_found", "no such resource"),
    405: ("method_not_allowed", "method not allowed on this resource"),
    406: ("not_acceptable", "no acceptable response format"),
    413: ("payload_too_large", "request body too large"),
    415: ("unsupported_media_type", "expected a JSON body (Content-Type: application/json)"),
    429: ("rate_limited", "too many requests"),
}


class Unauthorized(UserError):
    error_type = "unauthorized"
    http_status = 401


class Forbidden(UserError):
    error_type = "forbidden"
    http_status = 403


class NotAcceptable(UserError):
    error_type = "not_acceptable"
    http_status = 406


class ReleaseConflict(UserError):
    """A release cannot be activated or rolled back to (message is safe to show)."""

    error_type = "release_error"
    http_status = 409


class BadReleaseId(UserError):
    """A release id that cannot name a release (checked before any file is touched); 404 like
    any other id that names no release, with its own ``error_type``."""

    error_type = "invalid_release_id"
    http_status = 404


class RateLimited(UserError):
    error_type = "rate_limited"
    http_status = 429

    def __init__(self, retry_after_s: int):
        super().__init__("too many requests; retry later")
        self.retry_after_s = retry_after_s


# The engine's domain errors (cube/errors.py) know no HTTP: their status codes are decided here.
# Errors of the service itself carry their own ``http_status``.
ENGINE_STATUS: dict[type[UserError], int] = {
    InvalidQuery: 400,
    NotFound: 404,
    TooManyCells: 422,
    QueryTimeout: 503,
    NoRelease: 503,
}


def http_status(exc: UserError) -> int:
    """The status code of a user error: its nearest class the table or the class names."""
    for cls in type(exc).__mro__:
        if cls in ENGINE_STATUS:
            return ENGINE_STATUS[cls]
        own = cls.__dict__.get("http_status")
        if isinstance(own, int):
            return own
    return 400


MAX_PROBLEMS = 20  # problems listed in one error body; the rest are counted
MAX_TEXT = 200  # characters of a location or message


def _clip(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def error_body(error_type: str, message: str, problems: Iterable[Problem] = ()) -> dict[str, Any]:
    """The one JSON error shape of the API; a long problem list is cut, with a count, so that
    a request with thousands of mistakes still gets a small answer.

    >>> body = error_body("invalid_query", "bad", [Problem(f"q{i}", "unknown") for i in range(25)])
    >>> len(body["errors"]), body["errors_omitted"]
    (20, 5)
    """
    listed = list(problems)
    body: dict[str, Any] = {
        "error_type": error_type,
        "message": message,
        "errors": [
            {"location": _clip(p.location), "message": _clip(p.message)}
            for p in listed[:MAX_PROBLEMS]
        ],
    }
    if len(listed) > MAX_PROBLEMS:
        body["errors_omitted"] = len(listed) - MAX_PROBLEMS
    return body


def error_response(status: int, body: dict[str, Any]) -> Response:
    from flask import jsonify

    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def user_error_response(exc: UserError) -> Response:
    response = error_response(
        http_status(exc), error_body(exc.error_type, exc.message, exc.problems)
    )
    if isinstance(exc, RateLimited):
        response.headers["Retry-After"] = str(exc.retry_after_s)
    if isinstance(exc, Unauthorized):
        response.headers["WWW-Authenticate"] = 'Bearer realm="zicht-admin"'
    return response


def http_error_response(exc: HTTPException) -> Response:
    status = exc.code or 500
    if status >= 500:
        return error_response(500, error_body("internal_error", INTERNAL_MESSAGE))
    error_type, message = _HTTP_ERRORS.get(status, ("bad_request", "bad request"))
    response = error_response(status, error_body(error_type, message))
    if status == 405 and exc.valid_methods:  # type: ignore[attr-defined]
        response.headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
    return response


def internal_error_response(exc: BaseException) -> Response:
    # The trace goes to the server log only; the client gets a fixed text.
    log.error("internal error", exc_info=exc)
    return error_response(500, error_body("internal_error", INTERNAL_MESSAGE))


def register_error_handlers(app: Flask) -> None:
    from werkzeug.exceptions import HTTPException

    app.register_error_handler(UserError, user_error_response)
    app.register_error_handler(HTTPException, http_error_response)
    app.register_error_handler(Exception, internal_error_response)
