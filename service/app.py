"""The Flask app factory: ``create_app(settings)``.

Settings are passed in explicitly; the app's state (engine holder, cache, audit log, risk
monitor, limits, metrics) is one ``Service`` object in ``app.extensions["zicht"]``.
"""

from __future__ import annotations

import hmac
import logging
import time
from pathlib import Path

from flask import Flask, Request, Response, current_app, g, request

from cube.errors import Problem
from loaders.releases import data_home
from service.audit import client_id
from service.errors import Unauthorized, register_error_handlers
from service.fastpath import RATE_CHECKED, CachedGets
from service.settings import Settings
from service.state import EngineFactory, Service, open_engine

STATIC = Path(__file__).parent / "static"
UNLIMITED = frozenset({"/health", "/ready", "/metrics"})
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    # The docs page loads only its vendored assets; Swagger UI sets inline styles and data:
    # images, nothing else may load.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
}
CORS_HEADERS = "Authorization, Content-Type, If-None-Match, X-API-Key"


def service() -> Service:
    svc: Service = current_app.extensions["zicht"]
    return svc


def client_of(req: Request, svc: Service) -> str:
    """``key:<id>`` for a known API key, else ``addr:<salted hash>`` of the address."""
    key = req.headers.get("X-API-Key")
    if key is not None:
        for known, key_id in svc.api_keys.items():
            if hmac.compare_digest(known.encode(), key.encode()):
                return client_id("", svc.salt, key_id)
        raise Unauthorized("unknown API key", [Problem("header.X-API-Key", "not a known key")])
    address = req.remote_addr or "unknown"
    if svc.settings.trust_forwarded_for and req.access_route:
        address = req.access_route[0]
    return client_id(address, svc.salt)


def _before() -> None:
    g.started = time.perf_counter()
    svc = service()
    svc.follow_current()
    limited = request.path not in UNLIMITED and request.method != "OPTIONS"
    try:
        g.client = client_of(request, svc)
    except Unauthorized:
        # Guessing keys is rate limited too, by address.
        if limited:
            svc.limiter.check(client_id(request.remote_addr or "unknown", svc.salt))
        raise
    if limited and not request.environ.get(RATE_CHECKED):
        svc.limiter.check(g.client)


def _cors(response: Response, origins: str) -> None:
    origin = request.headers.get("Origin")
    allowed = [o.strip() for o in origins.split(",") if o.strip()]
    if not origin or not allowed:
        return
    if "*" in allowed:
        response.headers["Access-Control-Allow-Origin"] = "*"
    elif origin in allowed:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.vary.add("Origin")
    else:
        return
    response.headers["Access-Control-Expose-Headers"] = "ETag, Retry-After"
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = CORS_HEADERS
        response.headers["Access-Control-Max-Age"] = "600"


def _after(response: Response) -> Response:
    svc = service()
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    _cors(response, svc.settings.cors_origins)
    if svc.worker is not None:
        response.headers["X-Zicht-Worker"] = str(svc.worker)
    started = g.get("started")
    if started is not None:
        route = request.url_rule.rule if request.url_rule else "unmatched"
        svc.metrics.observe(
            route, request.method, response.status_code, time.perf_counter() - started
        )
    return response


def create_app(settings: Settings, *, engine_factory: EngineFactory | None = None) -> Flask:
    """Build the app; loads the current release if there is one (else /ready answers 503)."""
    from service import guidance
    from service.api import admin, ops, public, sdmx
    from service.dashboard import bp as dashboard_bp

    logging.getLogger("zicht").setLevel(settings.log_level.upper())
    app = Flask(__name__, static_folder=str(STATIC), static_url_path="/static")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    home = data_home(settings.home or None)
    svc = Service(settings, home, engine_factory or open_engine)
    svc.load_current()
    app.extensions["zicht"] = svc
    register_error_handlers(app)
    app.before_request(_before)
    app.after_request(_after)
    app.register_blueprint(public.bp, url_prefix="/api/v1")
    app.register_blueprint(sdmx.bp, url_prefix="/api/v1/sdmx")
    app.register_blueprint(admin.bp, url_prefix="/api/v1/admin")
    app.register_blueprint(ops.bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(guidance.bp, url_prefix="/api/v1")
    if settings.fast_path:
        app.wsgi_app = CachedGets(app, svc)  # type: ignore[method-assign]
    return app
