"""Queries prepared once per query text, so a cached answer costs little more than its lookup.

Validating a query (marshmallow), writing its canonical text and digests and encoding its
audit fields cost far more than a cache lookup, and a dashboard asks the same queries over and
over. A ``Prepared`` query holds all of these, computed once. ``PreparedQueries`` remembers
what a GET query string validated to: parsing and validation are pure functions of the cube
and the query string (no release, no engine), so a repeated request gets exactly the query a
fresh validation would give. Only strings that validated are remembered; an invalid one is
checked, and refused, every time.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass

from cachetools import LRUCache

from cube.query import Query
from service.monitor import query_id, shapes
from service.querybody import canonical


@dataclass(frozen=True, slots=True)
class Prepared:
    query: Query
    canonical: str  # the cache key and the audit record's query
    query_id: str
    comparable: str  # the risk monitor's digests (``monitor.shapes``)
    shape: str
    audit_fields: str  # ``"cube": …, "query_id": …, "query": …`` as ``json.dumps`` writes them


def prepare(query: Query) -> Prepared:
    key = canonical(query)
    qid = query_id(key)
    fields = {"cube": query.cube, "query_id": qid, "query": json.loads(key)}
    return Prepared(query, key, qid, *shapes(query), encode_fields(fields))


def encode_fields(record: dict[str, object]) -> str:
    """A dict's ``json.dumps`` without its braces, to be joined with other encoded fields.

    >>> encode_fields({"a": 1, "b": [True, None]})
    '"a": 1, "b": [true, null]'
    """
    return json.dumps(record)[1:-1]


@dataclass(frozen=True, slots=True)
class Remembered:
    prepared: Prepared
    format_param: str | None  # the query string's ``format=``, if any


class PreparedQueries:
    """LRU of (cube, raw query string) → the prepared query it validated to."""

    def __init__(self, size: int):
        self._memo: LRUCache[tuple[str, bytes], Remembered] = LRUCache(maxsize=max(size, 1))
        self._lock = threading.Lock()

    def get(self, cube: str, query_string: bytes) -> Remembered | None:
        with self._lock:
            return self._memo.get((cube, query_string))

    def put(self, cube: str, query_string: bytes, remembered: Remembered) -> None:
        with self._lock:
            self._memo[(cube, query_string)] = remembered
