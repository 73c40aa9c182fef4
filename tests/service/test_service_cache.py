"""The answer cache holds at most ``max_bytes`` (estimated) and ``size`` answers, rendered
bodies included; an answer too large for it is served and not kept."""

from __future__ import annotations

import tracemalloc
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cube.query import Query
from cube.result import Answer, MeasureInfo, Row, Rows, Summary, Value
from service.cache import AnswerCache, answer_bytes

COUNT = (MeasureInfo("suspects", "Verdachten", "persons", "count"),)


def answer(rows: int, tag: str = "", *, columns: bool = False) -> Answer:
    """``columns``: rows held as the engine holds them (``Rows``), values shared by equal
    rows; else a tuple of ``Row``, as built by hand."""
    query = Query("drug_suspects", ("suspects",), drilldown=("residence@buurt",))
    codes = [f"BU{tag}{i:08d}" for i in range(rows)]
    labels = [f"Buurt {tag} {i}" for i in range(rows)]
    if columns:
        shared = [(Value(float(v) + 0.5, "perturbed"),) for v in range(97)]
        body: Sequence[Row] = Rows([codes], [labels], shared, [i % 97 for i in range(rows)])
    else:
        body = tuple(
            Row((c,), (lb,), (Value(float(i % 97) + 0.5, "perturbed"),))
            for i, (c, lb) in enumerate(zip(codes, labels, strict=True))
        )
    summary = Summary.count(body, "default")
    return Answer(query, "r", ("residence@buurt",), COUNT, body, rows, False, summary)


@pytest.mark.parametrize("columns", [False, True], ids=["row tuples", "columns"])
def test_the_estimate_follows_what_the_rows_really_take(columns: bool) -> None:
    # Thousands of rows: small answers can reuse freed objects, which tracemalloc does not see.
    for rows in (2000, 6000):
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        built = answer(rows, "m", columns=columns)
        taken = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        assert 0.7 * taken <= answer_bytes(built) <= 1.5 * taken, (rows, taken)


def test_bytes_not_only_entries_bound_the_cache() -> None:
    one = answer_bytes(answer(1000))
    cache = AnswerCache(size=1000, ttl_s=600, max_bytes=int(one * 5.5))
    for n in range(20):
        cache.put("r", f"q{n}", answer(1000, str(n)))
        assert cache.bytes <= int(one * 5.5)
    assert 3 <= len(cache) <= 5  # not 20, though 1000 entries would be allowed
    assert cache.get("r", "q19") is not None and cache.get("r", "q0") is None  # LRU goes first


def test_rendered_bodies_count_and_can_push_others_out() -> None:
    one = answer_bytes(answer(1000))
    cache = AnswerCache(size=100, ttl_s=600, max_bytes=int(one * 3.2))
    entries = [cache.put("r", f"q{n}", answer(1000, str(n))) for n in range(3)]
    before = entries[2].size
    for fmt in ("json", "csv", "csv-nl"):
        entries[2].body(fmt)
    assert entries[2].size > before + 3 * 20_000  # the bodies are counted
    assert cache.bytes <= int(one * 3.2)
    assert cache.get("r", "q2") is entries[2]  # the one rendering stays, the oldest went
    assert cache.get("r", "q0") is None


def test_an_answer_larger_than_the_cache_is_served_not_kept() -> None:
    cache = AnswerCache(size=100, ttl_s=600, max_bytes=10_000)
    entry = cache.put("r", "big", answer(5000))
    assert entry.body("json")[0]  # still answered
    assert len(cache) == 0 and cache.too_large == 1 and cache.bytes == 0


def test_the_entry_count_still_holds() -> None:
    cache = AnswerCache(size=3, ttl_s=600, max_bytes=1 << 30)
    for n in range(10):
        cache.put("r", f"q{n}", answer(5, str(n)))
    assert len(cache) == 3


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 400), st.sampled_from(["", "json", "csv"])),
        min_size=1,
        max_size=30,
    ),
    st.integers(20_000, 400_000),
)
def test_never_above_either_bound(steps: list[tuple[int, str]], max_bytes: int) -> None:
    cache = AnswerCache(size=8, ttl_s=600, max_bytes=max_bytes)
    for n, (rows, fmt) in enumerate(steps):
        entry = cache.put("r", f"q{n % 11}", answer(rows, str(n)))
        if fmt:
            entry.body(fmt)
        assert cache.bytes <= max_bytes and len(cache) <= 8
