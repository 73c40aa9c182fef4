"""Errors a user may read. Messages never contain a cell value, a contributor, SQL or a trace.

Every user error has a stable ``error_type`` and a list of ``Problem`` items so that all
problems of one request are reported at once (Cubes' ``validate()``, datasette's ``errors``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a request: where (a dotted path into the query) and what."""

    location: str
    message: str


class UserError(Exception):
    """Base of errors whose message is safe to show to the client (HTTP 4xx)."""

    error_type = "bad_request"
    http_status = 400

    def __init__(self, message: str, problems: tuple[Problem, ...] | list[Problem] = ()):
        super().__init__(message)
        self.message = message
        self.problems = tuple(problems)


class InvalidQuery(UserError):
    """The query names unknown things or combines them in a way the model does not allow."""

    error_type = "invalid_query"


class NotFound(UserError):
    error_type = "not_found"
    http_status = 404


class CubeNotInRelease(NotFound):
    """The model has the cube but the serving release was published without it."""

    error_type = "cube_not_in_release"


class TooManyCells(UserError):
    """The answer would exceed the configured maximum number of cells."""

    error_type = "too_many_cells"
    http_status = 422


class QueryTimeout(UserError):
    error_type = "query_timeout"
    http_status = 503


class NoRelease(UserError):
    error_type = "no_release"
    http_status = 503
