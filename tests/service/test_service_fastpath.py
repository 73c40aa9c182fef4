"""The fast path for cached GETs (service/fastpath.py) answers exactly as the Flask view does.

Two apps on identical data homes, one with ``fast_path`` and one without, get the same
requests; every response must match in status, headers (but ``Date``) and body, and leave the
same audit records, cache counters, rate-limit state and metrics. A spy on the Flask side
proves which requests the fast path answered itself.
"""

from __future__ import annotations

import json

import pytest

from service.formats import MEDIA_TYPES
from tests.service.zicht_fakes import make_app

AGG = "/api/v1/cubes/drug_suspects/aggregate"
QUERY = "measures=suspects,suspects_per_10k&drilldown=residence@gemeente&totals=grand"


class Pair:
    """The same requests to a fast-path app and a Flask-only app."""

    def __init__(self, tmp_path, **settings):
        self.fast_app = make_app(tmp_path / "fast", fast_path=True, **settings)
        self.slow_app = make_app(tmp_path / "slow", fast_path=False, **settings)
        self.fast, self.slow = self.fast_app.test_client(), self.slow_app.test_client()
        middleware = self.fast_app.wsgi_app
        flask_app, self.to_flask = middleware.next, []

        def spy(environ, start_response):
            self.to_flask.append(environ["PATH_INFO"])
            return flask_app(environ, start_response)

        middleware.next = spy

    def get(self, url, headers=None):
        """GET on both; assert identical responses; return (response, answered fast?)."""
        before = len(self.to_flask)
        a = self.fast.get(url, headers=headers or {})
        b = self.slow.get(url, headers=headers or {})
        assert a.status == b.status
        assert _headers(a) == _headers(b)
        assert a.data == b.data
        return a, len(self.to_flask) == before

    def audit(self, app):
        records = app.extensions["zicht"].store.recent_audit(1000)
        return [{k: v for k, v in r.items() if k not in ("time", "duration_ms")} for r in records]

    def assert_same_state(self):
        fast, slow = self.fast_app.extensions["zicht"], self.slow_app.extensions["zicht"]
        assert self.audit(self.fast_app) == self.audit(self.slow_app)
        assert (fast.cache.hits, fast.cache.misses) == (slow.cache.hits, slow.cache.misses)
        assert fast.limiter.refused == slow.limiter.refused
        assert fast.monitor.summary() == slow.monitor.summary()
        assert _metrics(self.fast) == _metrics(self.slow)


def _headers(response):
    return [(k, v) for k, v in response.headers.to_wsgi_list() if k != "Date"]


def _metrics(client):
    """Request and cell counters (the duration histogram's buckets differ by nature)."""
    text = client.get("/metrics").data.decode()
    keep = ("zicht_http_requests_total", "zicht_answer_cells_total", "zicht_cache_lookups_total")
    return sorted(line for line in text.splitlines() if line.startswith(keep))


@pytest.mark.parametrize("fmt", list(MEDIA_TYPES))
@pytest.mark.parametrize("ask", ["param", "accept"])
def test_cached_answers_are_identical_on_both_paths(tmp_path, fmt, ask):
    pair = Pair(tmp_path, rate_limit_per_minute=0)
    if ask == "param":
        url, headers = f"{AGG}?{QUERY}&format={fmt}", {}
    else:
        url, headers = f"{AGG}?{QUERY}", {"Accept": MEDIA_TYPES[fmt]}
    first, fast = pair.get(url, headers)
    assert first.status_code == 200 and first.headers["X-Zicht-Cache"] == "miss" and not fast
    again, fast = pair.get(url, headers)
    assert again.status_code == 200 and again.headers["X-Zicht-Cache"] == "hit" and fast
    assert again.headers["Content-Type"] == MEDIA_TYPES[fmt]
    assert "Content-Security-Policy" in again.headers and "ETag" in again.headers
    tag = again.headers["ETag"]
    not_modified, fast = pair.get(url, {**headers, "If-None-Match": tag})
    assert not_modified.status_code == 304 and not_modified.data == b"" and fast
    pair.assert_same_state()


def test_json_answer_without_accept_or_format(tmp_path):
    pair = Pair(tmp_path, rate_limit_per_minute=0)
    pair.get(f"{AGG}?{QUERY}")
    response, fast = pair.get(f"{AGG}?{QUERY}")
    assert fast and response.json["cube"] == "drug_suspects"
    assert response.json["rows"][2]["cells"]["suspects"]["value"] is None  # suppressed
    pair.assert_same_state()


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://dashboard.example"},  # CORS headers: Flask's hook
        {"If-None-Match": 'W/"x", "y"'},  # a list of tags: werkzeug compares
        {"If-Modified-Since": "Wed, 21 Oct 2015 07:28:00 GMT"},
        {"Range": "bytes=0-10"},
        {"Accept": "image/png"},  # 406 from Flask
        {"X-API-Key": "nope"},  # 401 from Flask
    ],
)
def test_unusual_requests_go_to_flask_and_still_match(tmp_path, headers):
    pair = Pair(tmp_path, rate_limit_per_minute=0, cors_origins="https://dashboard.example")
    pair.get(f"{AGG}?{QUERY}")
    _, fast = pair.get(f"{AGG}?{QUERY}", headers)
    assert not fast
    pair.assert_same_state()


def test_matching_etag_in_a_list_is_304_on_both(tmp_path):
    pair = Pair(tmp_path, rate_limit_per_minute=0)
    tag = pair.get(f"{AGG}?{QUERY}")[0].headers["ETag"]
    response, fast = pair.get(f"{AGG}?{QUERY}", {"If-None-Match": f'"other", {tag}'})
    assert response.status_code == 304 and not fast
    pair.assert_same_state()


def test_api_key_clients_are_audited_by_key_on_both(tmp_path):
    pair = Pair(tmp_path, rate_limit_per_minute=0, api_keys="team=k3y")
    pair.get(f"{AGG}?{QUERY}", {"X-API-Key": "k3y"})
    pair.get(f"{AGG}?{QUERY}", {"X-API-Key": "k3y"})
    assert {r["client"] for r in pair.audit(pair.fast_app)} == {"key:team"}
    pair.assert_same_state()


def test_invalid_queries_are_never_remembered(tmp_path):
    pair = Pair(tmp_path, rate_limit_per_minute=0)
    for _ in range(2):
        response, fast = pair.get(f"{AGG}?measures=Bad-Name")
        assert response.status_code == 400 and not fast
        response, fast = pair.get(f"{AGG}?{QUERY}&format=xml")
        assert response.status_code == 406 and not fast
    pair.assert_same_state()


def test_rate_limit_takes_one_token_per_request_on_both(tmp_path):
    pair = Pair(tmp_path, rate_limit_per_minute=1, rate_limit_burst=4)
    statuses = [pair.get(f"{AGG}?{QUERY}")[0].status_code for _ in range(6)]
    assert statuses == [200, 200, 200, 200, 429, 429]
    pair.assert_same_state()


def test_a_release_switch_reaches_the_fast_path(tmp_path):
    old, new = "20250101T000000Z-aaaaaaaa", "20250102T000000Z-bbbbbbbb"
    pair = Pair(tmp_path, rate_limit_per_minute=0, ids=(old, new))
    admin = {"Authorization": "Bearer s3cret-token"}
    for _ in range(2):
        assert pair.get(f"{AGG}?{QUERY}")[0].headers["X-Zicht-Release"] == new
    for client in (pair.fast, pair.slow):
        assert (
            client.post(f"/api/v1/admin/releases/{old}/activate", headers=admin).status_code == 200
        )
    response, fast = pair.get(f"{AGG}?{QUERY}")
    assert (
        response.headers["X-Zicht-Release"] == old and response.headers["X-Zicht-Cache"] == "miss"
    )
    response, fast = pair.get(f"{AGG}?{QUERY}")
    assert response.headers["X-Zicht-Release"] == old and fast
    pair.assert_same_state()


def test_audit_lines_are_plain_json_dumps_of_their_record(tmp_path):
    """Records are assembled from fields encoded once per query and answer: each line must be
    exactly what ``json.dumps`` of the whole record writes."""
    pair = Pair(tmp_path, rate_limit_per_minute=0)
    for fmt in MEDIA_TYPES:
        pair.get(f"{AGG}?{QUERY}&format={fmt}")
        pair.get(f"{AGG}?{QUERY}&format={fmt}")
    audit_dir = pair.fast_app.extensions["zicht"].home / "audit"
    lines = [ln for f in audit_dir.glob("audit-*.jsonl") for ln in f.read_text().splitlines()]
    assert len(lines) == 2 * len(MEDIA_TYPES)
    for line in lines:
        record = json.loads(line)
        assert line == json.dumps(record)
        assert list(record)[:4] == ["time", "client", "cube", "query_id"]
        assert record["engine_report"]["parts"]  # internal figures: audit only


def test_the_race_path_takes_no_second_token(tmp_path):
    """The race the fast path leaves to Flask: the answer was cached when it looked and gone
    (expired, switched) when it took it. The token it took is the request's only one, and
    the cache lookup is counted once."""
    pair = Pair(tmp_path, rate_limit_per_minute=1, rate_limit_burst=2)
    pair.get(f"{AGG}?{QUERY}")  # token 1, remembered and cached
    for app in (pair.fast_app, pair.slow_app):
        app.extensions["zicht"].cache.clear()
    pair.fast_app.extensions["zicht"].cache.contains = lambda release, key: True
    response, fast = pair.get(f"{AGG}?{QUERY}")  # token 2: fast path looks, Flask answers
    assert response.status_code == 200 and response.headers["X-Zicht-Cache"] == "miss"
    assert not fast
    pair.assert_same_state()
    assert pair.get(f"{AGG}?{QUERY}")[0].status_code == 429  # no third token
