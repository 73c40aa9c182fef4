"""A Python client for partners: typed queries in, pandas or Arrow tables out.

Standalone (the standard library, plus ``pyarrow`` and ``pandas`` for tables): it imports
nothing of the server, so a partner may also copy this one file. The query types mirror the
``Query`` schema of ``openapi.yaml`` field for field (a test keeps them equal). What it does
for the caller:

- answers as a pandas ``DataFrame`` or an Arrow ``Table`` with, per measure, a value, a
  ``<measure>_status`` and a ``<measure>_reason`` column (the server's Parquet export: counts
  ``int64``, other measures ``float64``, null where suppressed);
- paging: ``aggregate(..., all_rows=True)`` and ``members()`` fetch page after page;
- ETags: every GET is sent with the ``If-None-Match`` of the copy it holds, and a ``304``
  reuses that copy;
- ``429`` (rate limited): waits ``Retry-After`` seconds and tries again, ``max_retries`` times;
- errors: ``ZichtError`` carries the API's error shape (``error_type``, ``message``,
  ``errors``, ``errors_omitted``) and the HTTP status.

>>> q = Query(cube="drug_suspects", measures=("suspects",), drilldown=("residence@gemeente",),
...           cuts=(Cut("period", "year", from_="2021", to="2023"),), totals="grand")
>>> q.params()  # doctest: +NORMALIZE_WHITESPACE
[('measures', 'suspects'), ('drilldown', 'residence@gemeente'),
 ('cut', 'period@year:2021..2023'), ('totals', 'grand')]
"""

from __future__ import annotations

import io
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

Totals = Literal["none", "grand", "margins"]


@dataclass(frozen=True, slots=True)
class Cut:
    """``Cut`` of ``openapi.yaml``: give ``members``, a range ``from_``/``to``, or a
    ``relation`` (``neighbours``, ``descendants``, ``peers``) with ``of``."""

    dimension: str
    level: str
    members: tuple[str, ...] = ()
    from_: str | None = None
    to: str | None = None
    relation: Literal["neighbours", "descendants", "peers"] | None = None
    of: str | None = None
    include_self: bool = False
    exclude: bool = False

    def param(self) -> str:
        """The GET form: ``[!]dimension@level:members|from..to|relation(of[,self])``."""
        if self.relation:
            body = f"{self.relation}({self.of}{',self' if self.include_self else ''})"
        elif self.from_ is not None or self.to is not None:
            body = f"{self.from_ or ''}..{self.to or ''}"
        else:
            body = ",".join(self.members)
        return f"{'!' if self.exclude else ''}{self.dimension}@{self.level}:{body}"


@dataclass(frozen=True, slots=True)
class Order:
    by: str
    desc: bool = False


@dataclass(frozen=True, slots=True)
class Derived:
    name: str
    numerator: str
    denominator: str
    per: float = 1.0


@dataclass(frozen=True, slots=True)
class Ranking:
    measures: tuple[str, ...]
    method: Literal["rank", "zscore"] = "rank"
    name: str = "composite"


@dataclass(frozen=True, slots=True)
class Query:
    """``Query`` of ``openapi.yaml`` (with the cube, which the API takes in the path)."""

    cube: str
    measures: tuple[str, ...]
    drilldown: tuple[str, ...] = ()
    cuts: tuple[Cut, ...] = ()
    totals: Totals | None = None
    order: tuple[Order, ...] = ()
    limit: int | None = None
    offset: int | None = None
    derived: tuple[Derived, ...] = ()
    ranking: Ranking | None = None
    lang: Literal["nl", "en"] | None = None
    options: dict[str, str] = field(default_factory=dict)

    def params(self) -> list[tuple[str, str]]:
        """The GET form's query parameters (cacheable, so ETags apply)."""
        out = [("measures", ",".join(self.measures))]
        if self.drilldown:
            out.append(("drilldown", ",".join(self.drilldown)))
        out += [("cut", c.param()) for c in self.cuts]
        if self.totals:
            out.append(("totals", self.totals))
        if self.order:
            out.append(("order", ",".join(("-" if o.desc else "") + o.by for o in self.order)))
        for name in ("limit", "offset"):
            if getattr(self, name) is not None:
                out.append((name, str(getattr(self, name))))
        out += [
            ("derived", f"{d.name}:{d.numerator}/{d.denominator}*{_decimal(d.per)}")
            for d in self.derived
        ]
        if self.ranking:
            out += [
                ("ranking", ",".join(self.ranking.measures)),
                ("ranking_method", self.ranking.method),
                ("ranking_name", self.ranking.name),
            ]
        if self.lang:
            out.append(("lang", self.lang))
        out += [("option", f"{k}:{v}") for k, v in sorted(self.options.items())]
        return out

    def page(self, limit: int, offset: int) -> Query:
        return _replace(self, limit=limit, offset=offset)


def _decimal(value: float) -> str:
    """A positive number as the GET form writes it: decimal, no exponent.

    >>> [_decimal(10000.0), _decimal(0.5), _decimal(1e6)]
    ['10000', '0.5', '1000000']
    """
    return f"{value:.10f}".rstrip("0").rstrip(".")


def _replace(query: Query, **changes: Any) -> Query:
    from dataclasses import replace

    return replace(query, **changes)


class ZichtError(Exception):
    """An error answer of the API, in its one shape."""

    def __init__(self, status: int, body: dict[str, Any]):
        self.status = status
        self.error_type: str = body.get("error_type", "http_error")
        self.message: str = body.get("message", f"HTTP {status}")
        self.errors: list[dict[str, str]] = list(body.get("errors", []))
        self.errors_omitted: int = int(body.get("errors_omitted", 0))
        problems = "; ".join(f"{e.get('location')}: {e.get('message')}" for e in self.errors)
        super().__init__(
            f"{status} {self.error_type}: {self.message}" + (f" ({problems})" if problems else "")
        )


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class Stats:
    requests: int = 0
    not_modified: int = 0  # answered 304: the held copy was reused
    retried: int = 0  # 429s waited out


class Client:
    """``Client("http://127.0.0.1:8000")``; ``api_key`` is sent as ``X-API-Key``."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        timeout_s: float = 60.0,
        max_retries: int = 3,
        max_wait_s: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.base = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout_s, self.max_retries, self.max_wait_s = timeout_s, max_retries, max_wait_s
        self.sleep = sleep
        self.stats = Stats()
        self._held: dict[str, tuple[str, Response]] = {}  # url → (ETag, response)

    # -- HTTP -----------------------------------------------------------------------------
    def get(self, path: str, params: list[tuple[str, str]] | None = None) -> Response:
        """GET with ETag revalidation and 429 retries; ``ZichtError`` for an error answer."""
        url = self.base + path + ("?" + urllib.parse.urlencode(params) if params else "")
        for attempt in range(self.max_retries + 1):
            held = self._held.get(url)
            headers = {"Accept": "*/*"}
            if self.api_key:
                headers["X-API-Key"] = self.api_key
            if held:
                headers["If-None-Match"] = held[0]
            response = self._send(url, headers)
            if response.status == 304 and held:
                self.stats.not_modified += 1
                return held[1]
            if response.status == 429 and attempt < self.max_retries:
                wait = float(response.headers.get("retry-after", "1") or 1)
                self.stats.retried += 1
                self.sleep(min(max(wait, 0.0), self.max_wait_s))
                continue
            if response.status >= 400:
                raise ZichtError(response.status, _error_body(response.body))
            tag = response.headers.get("etag")
            if tag:
                self._held[url] = (tag, response)
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _send(self, url: str, headers: dict[str, str]) -> Response:
        self.stats.requests += 1
        request = urllib.request.Request(url, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as r:
                return Response(r.status, _lower(r.headers), r.read())
        except urllib.error.HTTPError as e:
            with e:
                return Response(e.code, _lower(e.headers), e.read())

    def json(self, path: str, params: list[tuple[str, str]] | None = None) -> Any:
        return json.loads(self.get(path, params).body)

    # -- resources ------------------------------------------------------------------------
    def cubes(self) -> list[dict[str, Any]]:
        cubes: list[dict[str, Any]] = self.json("/api/v1/cubes")["cubes"]
        return cubes

    def cube(self, cube: str) -> dict[str, Any]:
        model: dict[str, Any] = self.json(f"/api/v1/cubes/{_quote(cube)}")
        return model

    def members(
        self,
        cube: str,
        dimension: str,
        level: str | None = None,
        *,
        search: str | None = None,
        parent: str | None = None,
        page_size: int = 1000,
    ) -> list[dict[str, Any]]:
        """Every member (all pages) with code, labels and parents."""
        return list(
            self.iter_members(
                cube, dimension, level, search=search, parent=parent, page_size=page_size
            )
        )

    def iter_members(
        self,
        cube: str,
        dimension: str,
        level: str | None = None,
        *,
        search: str | None = None,
        parent: str | None = None,
        page_size: int = 1000,
    ) -> Iterator[dict[str, Any]]:
        offset = 0
        fixed = [(k, v) for k, v in (("level", level), ("search", search), ("parent", parent)) if v]
        while True:
            params = [*fixed, ("limit", str(page_size)), ("offset", str(offset))]
            body = self.json(f"/api/v1/cubes/{_quote(cube)}/members/{_quote(dimension)}", params)
            yield from body["members"]
            offset += len(body["members"])
            if not body["members"] or offset >= body["total"]:
                return

    def aggregate_json(self, query: Query) -> dict[str, Any]:
        """The answer as the API's JSON (``Answer`` in ``openapi.yaml``)."""
        answer: dict[str, Any] = self.json(_aggregate_path(query), query.params())
        return answer

    def arrow(self, query: Query, *, all_rows: bool = False, page_size: int = 10_000) -> Any:
        """The answer as an Arrow table (value, status and reason per measure). With
        ``all_rows``, pages through the answer (``limit``/``offset``) until every row is in."""
        import pyarrow as pa

        if not all_rows:
            return self._parquet(query)
        tables, offset = [], query.offset or 0
        while True:
            table = self._parquet(query.page(page_size, offset))
            tables.append(table)
            offset += table.num_rows
            meta = table.schema.metadata or {}
            total = int(meta.get(b"zicht.total_rows", b"0"))
            if table.num_rows == 0 or offset >= total:
                return pa.concat_tables(tables)

    def pandas(self, query: Query, *, all_rows: bool = False, page_size: int = 10_000) -> Any:
        """The answer as a pandas ``DataFrame``: nullable dtypes (counts ``Int64``, ``<NA>``
        where suppressed), statuses and reasons as categories."""
        import pandas as pd

        table = self.arrow(query, all_rows=all_rows, page_size=page_size)
        frame = table.to_pandas(
            types_mapper={_int64(): pd.Int64Dtype(), _float64(): pd.Float64Dtype()}.get
        )
        frame.attrs.update(
            {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
        )
        return frame

    def _parquet(self, query: Query) -> Any:
        import pyarrow.parquet as pq

        params = [*query.params(), ("format", "parquet")]
        return pq.read_table(io.BytesIO(self.get(_aggregate_path(query), params).body))


def _int64() -> Any:
    import pyarrow as pa

    return pa.int64()


def _float64() -> Any:
    import pyarrow as pa

    return pa.float64()


def _aggregate_path(query: Query) -> str:
    return f"/api/v1/cubes/{_quote(query.cube)}/aggregate"


def _quote(part: str) -> str:
    return urllib.parse.quote(part, safe="")


def _lower(headers: Any) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def _error_body(body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
