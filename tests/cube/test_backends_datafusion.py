"""The DataFusion backend on small Parquet directories of its own: what it is given, how it
binds member codes, exact integer sums, errors that echo nothing and ``interrupt()``. The
answers on a whole release are the conformance suite's (``tests/conformance``)."""

from __future__ import annotations

import threading
import time

import duckdb
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest
import sqlglot
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlglot import exp

from cube.backend import BackendError, DuckDbBackend, Interrupted
from cube.backends import open_backend
from cube.backends.datafusion import DataFusionBackend, open_datafusion, to_datafusion
from cube.dialects import DIALECTS, hole, render
from cube.statement import Statement

pytest.importorskip("datafusion")  # the test extra installs it

CODES = ["it's", "back\\slash", "\\'", "'; DROP TABLE codes; --", "a''b", "tab\there"]
DECOYS = ["it", "s", "back", "slash", "\\", "'", "a'b", "ab"]
BIG = 2**62  # three of them overflow a 64-bit sum


def _export(tmp_path, tables: dict[str, pa.Table]) -> str:
    for name, table in tables.items():
        (tmp_path / name).mkdir(parents=True)
        pq.write_table(table, tmp_path / name / "part-0.parquet")
    return str(tmp_path)


def _backend(tmp_path, tables: dict[str, pa.Table]) -> DataFusionBackend:
    factory = open_datafusion(
        tmp_path / "db", tuple(tables), {"parquet_dir": _export(tmp_path, tables)}
    )
    return factory(None)


def _duckdb(tables: dict[str, pa.Table]) -> DuckDbBackend:
    con = duckdb.connect()
    for name, table in tables.items():
        con.register(f"{name}_arrow", table)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM {name}_arrow")
    return DuckDbBackend(con.cursor())


@pytest.fixture
def codes(tmp_path):
    return _backend(tmp_path, {"codes": pa.table({"code": sorted({*CODES, *DECOYS})})})


@pytest.mark.parametrize("code", CODES)
def test_a_member_code_with_a_quote_or_backslash_is_bound_exactly(codes, code):
    select = exp.select("code").from_("codes")
    statement = Statement(select.where(exp.In(this=exp.column("code"), expressions=[hole("c")])))
    _, rows = codes.rows(statement.bind(c=(code,)))
    assert rows == [(code,)]


def test_integer_sums_are_exact_where_64_bits_wrap(tmp_path):
    """DataFusion's own 64-bit sum wraps silently; the entry sums integers as DECIMAL(38, 0),
    so a cell key (a sum mod 2^32) is DuckDB's, and a sum that does not fit a BIGINT fails the
    query as DuckDB's cast does, never a wrapped value."""
    tables = {"t": pa.table({"g": [1, 1, 1, 2], "x": [BIG, BIG, BIG, 5], "d": [0.5, 0.25, 1, 2]})}
    df, dd = _backend(tmp_path, tables), _duckdb(tables)
    sql = (
        "SELECT g, CAST(SUM(x) % 4294967296 AS BIGINT) AS k, COUNT(*) AS n,"
        " SUM(CAST(d AS DOUBLE)) AS s, SUM(1.0 / x) AS inv FROM t GROUP BY g"
    )
    assert sorted(df.rows(sql)[1]) == sorted(dd.rows(sql)[1])
    assert sorted(df.rows(sql)[1])[0][1] == (3 * BIG) % 2**32
    assert sorted(df.rows(sql)[1])[0][3] == 1.75  # a sum of doubles is not made an integer
    for backend in (df, dd):
        with pytest.raises((BackendError, duckdb.ConversionException, duckdb.OutOfRangeException)):
            backend.rows("SELECT CAST(SUM(x) AS BIGINT) AS s FROM t")


def test_the_sum_entry_keeps_filters_and_sums_of_doubles():
    tree = sqlglot.parse_one(
        "SELECT SUM(x) FILTER (WHERE c) AS a, SUM(CAST(y AS DOUBLE)) AS b, SUM(1 / h) AS i FROM t",
        read="duckdb",
    )
    text = render(tree, DIALECTS["datafusion"])
    assert "SUM(CAST(x AS DECIMAL(38, 0))) FILTER(WHERE c)" in text
    assert "SUM(CAST(y AS DOUBLE PRECISION))" in text and "DECIMAL(38, 0)) AS i" not in text
    assert render(tree, DIALECTS["duckdb"]) == tree.sql(dialect="duckdb")


def test_top_n_reads_as_on_duckdb(tmp_path):
    """``max(x, n) [FILTER]``: NULLs left out, largest first, an empty filter NULL; the same
    lists as DuckDB's."""
    tables = {
        "t": pa.table(
            {
                "g": [1, 1, 1, 2, 2, 3],
                "x": [3.0, None, 7.5, 1.0, 1.0, None],
                "c": [True, True, True, False, True, True],
            }
        )
    }
    sql = "SELECT g, max(x, 2) FILTER (WHERE c) AS top, max(x, 2) AS every FROM t GROUP BY g"
    got = sorted(_backend(tmp_path, tables).rows(sql)[1])
    want = sorted(_duckdb(tables).rows(sql)[1])
    assert [(g, t or [], e or []) for g, t, e in got] == [(g, t or [], e or []) for g, t, e in want]
    assert got[0][1:] == ([7.5, 3.0], [7.5, 3.0]) and got[1][1:] == ([1.0], [1.0, 1.0])


def test_an_error_never_echoes_the_statement_or_its_literals(codes):
    with pytest.raises(BackendError) as err:
        codes.rows("SELECT no_such_column FROM codes WHERE code = 'secret-member'")
    assert "secret" not in str(err.value) and "no_such_column" not in str(err.value)
    assert str(err.value).startswith("DataFusion could not run the query (")


def test_interrupt_returns_at_once(tmp_path):
    backend = _backend(tmp_path, {"r": pa.table({"v": list(range(30_000))})})
    sql = "SELECT count(*) AS n FROM r a, r b WHERE a.v + b.v < 0"  # ~9e8 pairs: seconds
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            backend.rows(sql)
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    time.sleep(0.3)
    started = time.monotonic()
    backend.interrupt()
    worker.join(timeout=10)
    assert not worker.is_alive() and time.monotonic() - started < 1.0
    assert isinstance(outcome[0], Interrupted) or outcome[0] is None  # None: it finished first


def test_every_problem_of_the_options_is_reported_at_once(tmp_path):
    options = {
        "parquet_dir": str(tmp_path),
        "encrypted_columns": "holding,record_key",
        "target_partitions": "0",
        "memory_limit_mb": "lots",
        "exported_rollups": "ru_x_s",
    }
    with pytest.raises(BackendError) as err:
        open_backend("datafusion", tmp_path / "db", ("fact_a", "fact_b"), options)
    text = str(err.value)
    for part in (
        "clear keys only",
        "target_partitions",
        "memory_limit_mb",
        "fact_a, fact_b, zicht_rollups.ru_x_s",
    ):
        assert part in text, text


def test_datafusion_settings_pass_through_and_a_bad_one_is_refused_by_key(tmp_path):
    export = _export(tmp_path, {"t": pa.table({"x": [1, 2]})})
    factory = open_datafusion(
        tmp_path / "db", ("t",), {"parquet_dir": export, "datafusion.execution.batch_size": "1024"}
    )
    (row,) = factory(None).rows("SELECT count(*) AS n FROM t")[1]
    assert row == (2,)
    setting = "datafusion.execution.no_such_setting"
    with pytest.raises(BackendError, match=f"DataFusion refused setting {setting}$"):
        open_datafusion(tmp_path / "db", ("t",), {"parquet_dir": export, setting: "x"})


def test_a_statement_past_the_memory_limit_fails_and_the_next_one_runs(tmp_path):
    """A memory limit bounds what statements hold: grouping spills past it, a list it cannot
    spill (a top-n over one cell of 400,000 values) fails as a backend error, and the engine
    answers the next statement."""
    rows = 400_000
    table = pa.table({"g": list(range(rows)), "x": [float(i) for i in range(rows)]})
    export = _export(tmp_path, {"t": table})
    options = {"parquet_dir": export, "memory_limit_mb": "1"}
    backend = open_datafusion(tmp_path / "db", ("t",), options)(None)
    with pytest.raises(BackendError, match="DataFusion could not run the query"):
        backend.rows("SELECT max(x, 2) AS top FROM t")
    assert len(backend.rows("SELECT g, max(x, 2) AS top FROM t GROUP BY g")[1]) == rows
    unlimited = open_datafusion(tmp_path / "db", ("t",), {"parquet_dir": export})(None)
    assert unlimited.rows("SELECT max(x, 2) AS top FROM t")[1] == [([rows - 1.0, rows - 2.0],)]


@pytest.mark.parametrize(
    ("location", "problem"),
    [("", "no Parquet export: run `zicht export`"), ("s3://bucket/x", "a local Parquet export")],
)
def test_an_export_it_cannot_read_is_refused_by_name(tmp_path, location, problem):
    with pytest.raises(BackendError, match=problem):
        open_datafusion(tmp_path / "db", ("fact_a",), {"parquet_dir": location})


def test_text_is_read_as_duckdb_sql_and_tables_are_renamed():
    text = to_datafusion("SELECT n FROM zicht_rollups.ru_s", {"zicht_rollups.ru_s": "r"})
    assert '"r"' in text and "zicht_rollups" not in text


KEYS = st.integers(min_value=0, max_value=2**32 - 1)
ROWS = st.lists(
    st.tuples(
        st.integers(0, 3),  # a
        st.integers(0, 2),  # b
        st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False, width=32)),  # x
        st.booleans(),  # c
        st.one_of(KEYS, st.just(2**62)),  # k: record keys, and some that overflow 64 bits
    ),
    min_size=0,
    max_size=40,
)
PROPERTY_SQL = """
    SELECT a, b, GROUPING(a, b) AS g, COUNT(*) AS n, COUNT(*) FILTER (WHERE c) AS nc,
           CAST(COALESCE(SUM(k), 0) % 4294967296 AS BIGINT) AS key,
           CAST(COALESCE(SUM(k) FILTER (WHERE c), 0) % 4294967296 AS BIGINT) AS keyc,
           max(x, 2) AS top, max(x, 2) FILTER (WHERE c) AS topc,
           max(x) FILTER (WHERE NOT c) AS second
    FROM t GROUP BY GROUPING SETS ((a, b), (a), ())
"""


@settings(max_examples=60, deadline=None)
@given(ROWS)
def test_the_datafusion_entry_answers_as_duckdb_on_any_rows(rows):
    """Grouping bits, filtered counts, cell keys past 64 bits, top-n with and without a filter
    and a filtered maximum: the statement rendered for DataFusion reads every row as
    DuckDB reads it (an empty list and NULL alike, as the executor reads them)."""
    import datafusion

    columns = list(zip(*rows, strict=True)) if rows else [[], [], [], [], []]
    table = pa.table(
        {
            "a": pa.array(columns[0], pa.int64()),
            "b": pa.array(columns[1], pa.int64()),
            "x": pa.array(columns[2], pa.float64()),
            "c": pa.array(columns[3], pa.bool_()),
            "k": pa.array(columns[4], pa.int64()),
        }
    )
    context = datafusion.SessionContext()
    context.register_dataset("t", pads.dataset(table))
    got = DataFusionBackend(context, {}).rows(PROPERTY_SQL)
    want = _duckdb({"t": table}).rows(PROPERTY_SQL)
    assert got[0] == want[0]

    def normal(result):
        lists = {i for i, name in enumerate(result[0]) if name.startswith("top")}
        return sorted(
            (tuple((v or []) if i in lists else v for i, v in enumerate(row)) for row in result[1]),
            key=repr,
        )

    assert normal(got) == normal(want)
