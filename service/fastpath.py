"""A lean path for cached GET aggregate answers (target: ≥ 1,000 cached requests/s).

Once an answer is cached, Flask's request handling (contexts, routing, hooks, response and
header objects) costs more than everything else the request needs. This WSGI middleware
answers a GET aggregate request itself when it can give exactly the response the Flask view
would (same status, headers and body; only ``Date`` is the clock's) with the same effects, in
the same order and through the same calls: release poll, client id, rate limit, cache
counters, audit record (fsync'ed before the response is returned), risk monitor, metrics.

Anything else goes to Flask untouched, and before any of those effects: a query string not
seen validating before (``service.prepared``), an answer not in the cache, CORS (``Origin``),
an API key, a trusted ``X-Forwarded-For``, conditional or range headers other than an
``If-None-Match`` equal to the answer's ETag, an ``Accept`` that fits no format, a rate-limited
client. ``tests/service/test_service_fastpath.py`` compares both paths for every format.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from werkzeug.datastructures import MIMEAccept
from werkzeug.http import http_date, parse_accept_header

from service import sdmx
from service.audit import client_id
from service.cache import etag
from service.errors import NotAcceptable
from service.formats import MEDIA_TYPES, choose_format, content_disposition

if TYPE_CHECKING:
    from flask import Flask

    from service.state import Service

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

PATH = re.compile(r"/api/v1/cubes/([a-z][a-z0-9_]*)/aggregate")
ROUTE = "/api/v1/cubes/<cube>/aggregate"  # the Flask rule, as /metrics labels it
# Set when the fast path took the client's rate-limit token and then left the request to
# Flask after all (the answer left the cache meanwhile): Flask must not take a second one.
RATE_CHECKED = "zicht.rate_checked"
# Headers whose handling is left to Flask (werkzeug's make_conditional, CORS, API keys).
SLOW_HEADERS = (
    "HTTP_ORIGIN",
    "HTTP_X_API_KEY",
    "HTTP_IF_MATCH",
    "HTTP_IF_MODIFIED_SINCE",
    "HTTP_IF_UNMODIFIED_SINCE",
    "HTTP_IF_RANGE",
    "HTTP_RANGE",
)


class CachedGets:
    """WSGI middleware in front of the Flask app: ``app.wsgi_app = CachedGets(app, svc)``."""

    def __init__(self, app: Flask, svc: Service):
        self.app, self.next, self.svc = app, app.wsgi_app, svc
        from service.app import SECURITY_HEADERS

        self.security = list(SECURITY_HEADERS.items())
        self.cache_control = f"public, max-age={svc.settings.http_max_age_s}"
        self._last_date = (0, "")

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        started = time.perf_counter()
        svc = self.svc
        if environ.get("REQUEST_METHOD") != "GET":
            return self.next(environ, start_response)
        match = PATH.fullmatch(environ.get("PATH_INFO", ""))
        if match is None or any(h in environ for h in SLOW_HEADERS):
            return self.next(environ, start_response)
        if svc.settings.trust_forwarded_for and "HTTP_X_FORWARDED_FOR" in environ:
            return self.next(environ, start_response)
        svc.follow_current()  # as Flask's before_request does, first
        cube = match[1]
        remembered = svc.queries.get(cube, environ.get("QUERY_STRING", "").encode("latin1"))
        release = svc.engines.release_id
        if remembered is None or release is None:
            return self.next(environ, start_response)
        prepared = remembered.prepared
        try:
            accept = parse_accept_header(environ.get("HTTP_ACCEPT"), MIMEAccept)
            fmt = choose_format(remembered.format_param, accept)
        except NotAcceptable:
            return self.next(environ, start_response)
        if not sdmx.fits(prepared.query, fmt):
            return self.next(environ, start_response)  # Flask refuses it (406)
        if not svc.cache.contains(release, prepared.canonical):
            return self.next(environ, start_response)
        tag = etag(release, prepared.canonical, fmt)
        if environ.get("HTTP_IF_NONE_MATCH", tag) != tag:
            return self.next(environ, start_response)  # werkzeug compares lists, W/, *
        client = client_id(environ.get("REMOTE_ADDR") or "unknown", svc.salt)
        if not svc.limiter.try_take(client):
            return self.next(environ, start_response)  # Flask refuses it: 429, counted
        # From here on the request has had effects: it is answered here, or by Flask without
        # a second rate-limit token.
        try:
            answered = svc.answer_cached(prepared, client, fmt)
        except Exception as exc:
            return self._error(environ, start_response, exc, started)
        if answered is None:  # evicted, expired or a release switch since the check above
            environ[RATE_CHECKED] = True
            return self.next(environ, start_response)
        data, tag = answered.entry.body(fmt)
        headers = [
            ("Content-Type", MEDIA_TYPES[fmt]),
            ("Content-Length", str(len(data))),
            ("Vary", "Accept"),
            ("X-Zicht-Release", answered.release),
            ("X-Zicht-Cache", "hit"),
            ("Cache-Control", self.cache_control),
            ("ETag", tag),
            ("Date", self._date()),
            *self.security,
        ]
        if svc.worker is not None:
            headers.append(("X-Zicht-Worker", str(svc.worker)))
        disposition = content_disposition(prepared.query, answered.release, fmt)
        if disposition:
            headers.insert(5, ("Content-Disposition", disposition))
        status, body = 200, [data]
        if environ.get("HTTP_IF_NONE_MATCH") == tag:
            status, body, headers = 304, [], headers[2:]
        svc.metrics.observe(ROUTE, "GET", status, time.perf_counter() - started)
        start_response("200 OK" if status == 200 else "304 NOT MODIFIED", headers)
        return body

    def _date(self) -> str:
        """``http_date()`` (as werkzeug sets it), formatted once per second, not per request."""
        second = int(time.time())
        when, text = self._last_date
        if when != second:
            text = http_date(second)
            self._last_date = (second, text)
        return text

    def _error(
        self,
        environ: dict[str, Any],
        start_response: Callable[..., Any],
        exc: Exception,
        started: float,
    ) -> Iterable[bytes]:
        """The error response Flask's handlers give (``service.errors``), hooks included."""
        from flask import g

        with self.app.request_context(environ):
            g.started = started
            response = self.app.make_response(self.app.handle_user_exception(exc))
            response = self.app.process_response(response)
            return response(environ, start_response)
