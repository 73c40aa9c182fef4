"""The runner the backend benches share: both engines answer every query of the mix as asked
and with other members, and a pair is "same" only when every published thing is equal."""

from __future__ import annotations

import dataclasses

import pytest

from bench.compare import comparable, pairs
from bench.queries import MIX
from cube.engine import Engine


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    from tests.cube.cube_fixtures import build_release

    release = build_release(tmp_path_factory.mktemp("compare"))
    duck = Engine.open(release, answer_cache_size=0)
    other = Engine.open(release, answer_cache_size=0)
    yield duck, other
    duck.close()
    other.close()


def test_two_engines_on_one_release_give_the_same_answers(engines):
    """The small test release lacks some of the mix's members: those queries are refused by
    both engines and named as such; every query answered is the same on both."""
    got = list(pairs(*engines))
    assert [bq.name for bq, _ in got] == [bq.name for bq in MIX]
    answered = [p for _, both in got for p in both if p.error is None]
    assert len(answered) >= 10
    for bq, (first, cold) in got:
        assert (first.kind, cold.kind) == ("first", "cold")
        assert first.query == cold.query == bq.name
        for p in (first, cold):
            assert p.same == (p.error is None), (bq.name, p.kind)
            assert p.duckdb_s >= 0 and p.other_s >= 0
    assert sum(p.cells for p in answered) > 0
    assert all(p.duckdb_s > 0 and p.other_s > 0 for p in answered if p.cells)


class _Refusing:
    def answer(self, query):
        raise TimeoutError("over the limit")


def test_an_error_is_named_and_never_same(engines):
    duck, _ = engines
    first, cold = next(pairs(duck, _Refusing()))[1]  # type: ignore[arg-type]
    assert (first.same, first.error, first.cells) == (False, "TimeoutError", 0)
    assert (cold.same, cold.error) == (False, "TimeoutError")


def test_comparable_sees_a_value_one_bit_apart(engines):
    duck, _ = engines
    answer, at, row = next(
        (a, k, r)
        for a in _answers(duck)
        for k, r in enumerate(a.rows)
        if any(isinstance(v.value, float) for v in r.values)
    )
    i = next(i for i, v in enumerate(row.values) if isinstance(v.value, float))
    nudged_value = dataclasses.replace(
        row.values[i], value=float.fromhex(row.values[i].value.hex()) * (1 + 2**-52)
    )
    values = (*row.values[:i], nudged_value, *row.values[i + 1 :])
    rows = tuple(row._replace(values=values) if k == at else r for k, r in enumerate(answer.rows))
    assert comparable(dataclasses.replace(answer, rows=rows)) != comparable(answer)
    assert comparable(dataclasses.replace(answer)) == comparable(answer)


def _answers(engine):
    for bq in MIX:
        try:
            yield engine.answer(bq.query)
        except Exception:  # a member the small release lacks
            continue
