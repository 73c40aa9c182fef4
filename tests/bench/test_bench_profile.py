"""``bench.profile --statements``: the cold answer split into its statements alone, the same
statements prepared, and the rest (on the small cube-test release, whose years end in 2023:
the mix's queries of the years before answer on it)."""

from __future__ import annotations

import duckdb
import pytest

from bench import profile
from bench.queries import MIX
from cube.engine import Engine

BY_NAME = {bq.name: bq for bq in MIX}


@pytest.fixture(scope="module")
def opened(tmp_path_factory):
    from tests.cube.cube_fixtures import build_release

    release = build_release(tmp_path_factory.mktemp("profile"))
    engine = Engine.open(release)
    con = duckdb.connect(str(release.db_path), read_only=True)
    yield engine, con
    con.close()
    engine.close()


def _run_by_the_backend(engine: Engine, query, monkeypatch) -> list[str]:
    """The texts the DuckDB backend itself runs for ``query`` answered cold."""
    import cube.backend

    texts: list[str] = []
    real = cube.backend.executed_text

    def recording(sql):
        texts.append(real(sql))
        return texts[-1]

    engine.answer(query)
    engine.answer_cache.clear()
    engine.sql_cache.clear()
    monkeypatch.setattr(cube.backend, "executed_text", recording)
    engine.answer(query)
    monkeypatch.undo()
    return texts


@pytest.mark.parametrize("name", ["readme_rate", "transactions_quarterly"])
def test_the_split_times_the_statements_the_answer_runs(opened, name, monkeypatch):
    engine, con = opened
    bq = BY_NAME[name]
    ran = _run_by_the_backend(engine, bq.query, monkeypatch)
    assert profile.cold_statements(engine, bq.query) == ran and ran
    m = profile.split(engine, con, bq, rounds=3)
    assert m["statements"] == len(ran)
    assert all(m[k] > 0 for k in ("floor", "answer", "alone", "prepared"))
    line = profile.split_line(name, m)
    assert line.startswith(name) and f"[{m['statements']} statement(s)]" in line


def test_the_prepared_statements_are_gone_afterwards(opened):
    engine, con = opened
    profile.split(engine, con, BY_NAME["monthly_national"], rounds=1)
    with pytest.raises(duckdb.Error):
        con.execute("EXECUTE zicht_profile_0")


def test_a_statement_runs_with_its_list_columns_split_once_known(opened, monkeypatch):
    """After the first run, the two largest contributions come as two plain columns, not a
    list."""
    engine, con = opened
    texts = _run_by_the_backend(engine, BY_NAME["monthly_national"].query, monkeypatch)
    assert any('"top1"[1]' in t for t in texts)
    names = [d[0] for d in con.execute(texts[0]).description]
    assert "top1[1]" in names and "top1" not in names


def test_the_default_profile_times_each_statement_of_the_best_run(opened, monkeypatch):
    engine, con = opened
    bq = BY_NAME["readme_rate"]
    ran = _run_by_the_backend(engine, bq.query, monkeypatch)
    line = profile.best_cold(engine, con, bq, repeat=2, first=False)
    timed = line.split("SQL statements (ms): ")[1].split(", ")
    assert line.startswith(bq.name) and len(timed) == len(ran)
