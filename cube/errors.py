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
    """Base of errors whose message is safe to show to the client. The engine knows nothing of
    HTTP: ``service/errors.py`` maps each error class to a status code."""

    error_type = "bad_request"

    def __init__(self, message: str, problems: tuple[Problem, ...] | list[Problem] = ()):
        super().__init__(message)
        self.message = message
        self.problems = tuple(problems)


class InvalidQuery(UserError):
    """The query names unknown things or combines them in a way the model does not allow."""

    error_type = "invalid_query"


class NotFound(UserError):
    error_type = "not_found"


class CubeNotInRelease(NotFound):
    """The model has the cube but the serving release was published without it."""

    error_type = "cube_not_in_release"


class TooManyCells(UserError):
    """The answer would exceed the configured maximum number of cells."""

    error_type = "too_many_cells"


class QueryTimeout(UserError):
    """The query ran over the time limit and was stopped (or given up on)."""

    error_type = "query_timeout"

    @classmethod
    def after(cls, seconds: float) -> QueryTimeout:
        """The one message of the one time limit, whichever layer enforces it."""
        return cls(
            f"the query took longer than {seconds:g} s and was stopped",
            [Problem("query", "narrow the query: fewer cells, a shorter period or a smaller area")],
        )


class NoRelease(UserError):
    error_type = "no_release"
