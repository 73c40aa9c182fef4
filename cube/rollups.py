"""Rollups: pre-aggregated facts beside a release, and how the engine finds them.

A rollup (``Rollup`` in the cube model) groups a fact table by some of its columns. Because the
disclosure statistics must stay exact, every rollup is stored as two tables:

- ``…_s`` (*singles*): the rows of holdings with one row in their year (``holding_rows_year =
  1``), grouped by the columns: row count ``n`` (= contributors), record-key sum ``rk`` and,
  per summed column, the exact sum ``sx_<col>`` and the two largest row values ``t1_<col>``,
  ``t2_<col>`` (in 1/``SUM_SCALE`` units, as the engine sums them);
- ``…_m`` (*multis*): the other rows, grouped by the columns **and the holding**: ``n``,
  ``rk`` and ``sx_<col>`` per holding, so the holding pass still sees whole holdings; and per
  region column ``<col>`` of the rollup, ``alone_<col>``: whether this is the holding's only
  row of the table in its year and that region (a landlord's dwellings in one buurt, all of
  one owner type). In a cell within one year and one such region (or a finer one) that row
  *is* the holding's whole contribution, so the holding pass takes it as it is instead of
  summing it per holding: at scale 1, 99 % of the gemeente rollup's multis in a gemeente
  and 81 % of the buurt rollup's in a wijk;
- ``…_b`` (*bounds*): the same rows grouped by the columns only, with Σ 1/rows-of-holding
  (``lb``, a lower bound on distinct holdings), the largest rows-of-holding in the year
  (``mr``), and from the multis the most rows one holding has in the group (``mh``) and its
  holdings (``hc``): for row counts, most cells are cleared by these bounds and only the
  rest need the multis. A cell made of groups holds at least the holdings of its largest
  group, and one holding has at most the sum of the groups' ``mh`` rows in it.

A cell that lies within one year gets from the two tables exactly what the split strategy
gets from the facts (``cube.execute``), bit for bit: counts, contributors, cell keys, sums and
the two largest contributions. The tables live in ``rollups.duckdb`` in the release's
directory, written atomically by ``build`` (``zicht rollups``; ``zicht load`` and ``zicht demo``
build them before publishing), with a ``rollup_catalog`` table the engine reads at start.
A release without the file, or with one built for another release, is answered from its facts.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from cube.model import Catalog, Cube, Rollup
from cube.sql import SUM_SCALE
from layout.durable import replace_synced
from layout.facts import ROLLUP_FORMAT
from measures.model import Filter

log = logging.getLogger("zicht.cube")

FILE = "rollups.duckdb"
SCHEMA = "zicht_rollups"  # the name the engine attaches the file under
FORMAT = ROLLUP_FORMAT  # the layout of the tables; a file of another layout is ignored


@dataclass(frozen=True, slots=True)
class RollupTable:
    """One rollup as the engine sees it: where it is and what it holds."""

    cube: str
    name: str
    singles: str  # table names inside the rollup file
    multis: str
    bounds: str
    columns: tuple[str, ...]
    sums: tuple[str, ...]
    rows: int  # singles + multis: the engine prefers the smallest rollup that covers a part
    multi_rows: int
    alone: tuple[str, ...] = ()  # the region columns with an ``alone_<col>`` flag in the multis


def region_columns(cube: Cube, columns: tuple[str, ...]) -> tuple[str, ...]:
    """Those of ``columns`` that hold a level of one of the cube's region roles."""
    regional = {r.column(lv.id) for r in cube.roles if r.prefix for lv in r.dimension.levels}
    return tuple(c for c in columns if c in regional)


def table_names(cube: Cube, rollup: Rollup) -> tuple[str, str, str]:
    base = f"ru_{cube.id}_{rollup.name}"
    return f"{base}_s", f"{base}_m", f"{base}_b"


def _units(col: str) -> str:
    """A fact value in exact integer units, as ``cube.sql.projection`` computes it."""
    return f'CAST(floor(coalesce(CAST("{col}" AS DOUBLE), 0) * {SUM_SCALE} + 0.5) AS BIGINT)'


# Σ 1/rows-of-holding, added exactly: each term to 17 decimals (fixed point, summed as
# integers), so every build gives the same last bits (doubles added by threads in any order
# did not) and the total is within 5e-18 per row of the true sum.
_LOWER_BOUND = "sum(CAST(1.0 / holding_rows_year AS DECIMAL(18, 17)))::DOUBLE"


def _passes(filters: tuple[Filter, ...]) -> str:
    """Whether a fact row passes every one of ``filters`` (NULL: it does not), as SQL: what
    ``cube.sql.projection`` tests on the facts."""
    from sqlglot import exp

    compare = {
        "eq": exp.EQ,
        "ne": exp.NEQ,
        "lt": exp.LT,
        "le": exp.LTE,
        "gt": exp.GT,
        "ge": exp.GTE,
    }
    tests: list[exp.Expr] = []
    for f in filters:
        col = exp.column(f.column, quoted=True)
        if f.op == "in":
            assert isinstance(f.value, tuple)
            tests.append(col.isin(*(exp.convert(v) for v in f.value)))
        else:
            tests.append(compare[f.op](this=col, expression=exp.convert(f.value)))
    return f"coalesce({exp.and_(*tests).sql('duckdb')}, FALSE)"


def _finer(con: duckdb.DuckDBPyConnection, cube: Cube, rollup: Rollup) -> Rollup | None:
    """A rollup of the cube built already in ``con`` with every column and sum of ``rollup``
    (the smallest such): its singles and multis regrouped give exactly ``rollup``'s."""
    built = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    found = [
        r
        for r in cube.rollups
        if r.name != rollup.name
        and set(rollup.grouped) <= set(r.grouped)
        and set(rollup.sums) <= set(r.sums)
        and set(table_names(cube, r)) <= built
    ]
    return min(found, key=lambda r: len(r.grouped)) if found else None


def _build_one(con: duckdb.DuckDBPyConnection, cube: Cube, rollup: Rollup) -> RollupTable:
    singles, multis, bounds = table_names(cube, rollup)
    cols = ", ".join(f'"{c}"' for c in rollup.grouped)
    order = ", ".join(['"year"'] + [f'"{c}"' for c in rollup.grouped if c != "year"])
    keep = ", ".join([*(f'"{c}"' for c in rollup.grouped), "n", "rk"])
    # the fact columns and flags of each fact row
    row = ", ".join(
        [f'"{c}"' for c in rollup.columns]
        + [f'{_passes(filters)} AS "{name}"' for name, filters in rollup.flags]
    )
    keep += "".join(f', "sx_{c}"' for c in rollup.sums)
    tops = "".join(f', "tl_{c}"[1] AS "t1_{c}", "tl_{c}"[2] AS "t2_{c}"' for c in rollup.sums)
    finer = _finer(con, cube, rollup)
    if finer is None:
        units = "".join(f', {_units(c)} AS "u_{c}"' for c in rollup.sums)
        src = f'SELECT {row}, holding, record_key{units} FROM src."{cube.fact}"'
        s_src = f"{src} WHERE holding_rows_year = 1"
        m_src = f"{src} WHERE holding_rows_year > 1"
        counts = "count(*)::BIGINT AS n, sum(record_key)::BIGINT AS rk"
        s_aggs = "".join(
            f', sum("u_{c}")::BIGINT AS "sx_{c}", max("u_{c}", 2) AS "tl_{c}"' for c in rollup.sums
        )
        m_aggs = "".join(f', sum("u_{c}")::BIGINT AS "sx_{c}"' for c in rollup.sums)
    else:
        # Regrouping a finer rollup: counts and exact sums add up, and a cell's two largest
        # rows are the largest of its parts' largest and, second, the larger of the
        # runner-up among those and the parts' second largest (none in a cell of one row).
        f_singles, f_multis, _ = table_names(cube, finer)
        s_src, m_src = f'SELECT * FROM "{f_singles}"', f'SELECT * FROM "{f_multis}"'
        counts = "sum(n)::BIGINT AS n, sum(rk)::BIGINT AS rk"
        s_aggs = "".join(
            f', sum("sx_{c}")::BIGINT AS "sx_{c}", max("t1_{c}", 2) AS "f_{c}", '
            f'max("t2_{c}") AS "s_{c}"'
            for c in rollup.sums
        )
        tops = "".join(
            f', "f_{c}"[1] AS "t1_{c}", greatest("f_{c}"[2], "s_{c}") AS "t2_{c}"'
            for c in rollup.sums
        )
        m_aggs = "".join(f', sum("sx_{c}")::BIGINT AS "sx_{c}"' for c in rollup.sums)
    # grouped and sorted in one statement: no unsorted copy is written and read back
    con.execute(
        f'CREATE TABLE "{singles}" AS SELECT {keep}{tops} FROM (SELECT {cols}, {counts}'
        f"{s_aggs} FROM ({s_src}) GROUP BY {cols}) ORDER BY {order}"
    )
    # Whether a row is its holding's only one in its year and region (``alone_<col>``).
    alone = region_columns(cube, rollup.columns)
    flags = "".join(
        f', count(*) OVER (PARTITION BY "year", "{c}", holding) = 1 AS "alone_{c}"' for c in alone
    )
    con.execute(
        f'CREATE TABLE "{multis}" AS SELECT *{flags} FROM (SELECT {cols}, holding, {counts}'
        f"{m_aggs} FROM ({m_src}) GROUP BY {cols}, holding) ORDER BY {order}, holding"
    )
    # The multis of each group, read back per holding: the most rows one holding has there
    # (``mh``) and how many holdings (``hc``). A group lies within every cell that holds it.
    same = " AND ".join(f'b."{c}" IS NOT DISTINCT FROM h."{c}"' for c in rollup.columns)
    con.execute(
        f'CREATE TABLE "{bounds}" AS SELECT b.*, h.mh, h.hc FROM (SELECT {cols}, '
        f"count(*)::BIGINT AS n, sum(record_key)::BIGINT AS rk, {_LOWER_BOUND} AS lb, "
        f"max(holding_rows_year)::BIGINT AS mr FROM (SELECT {row}, record_key, "
        f'holding_rows_year FROM src."{cube.fact}" WHERE holding_rows_year > 1) '
        f"GROUP BY ALL) AS b JOIN (SELECT {cols}, "
        f'max(n)::BIGINT AS mh, count(*)::BIGINT AS hc FROM "{multis}" GROUP BY ALL) AS h '
        f"ON {same} ORDER BY {', '.join('b.' + c for c in order.split(', '))}"
    )
    n_s = _count(con, singles)
    n_m = _count(con, multis)
    return RollupTable(
        cube.id,
        rollup.name,
        singles,
        multis,
        bounds,
        rollup.grouped,
        rollup.sums,
        n_s + n_m,
        n_m,
        alone,
    )


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    row = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()
    return int(row[0]) if row else 0


def build(
    db_path: Path,
    release_id: str,
    catalog: Catalog,
    out_dir: Path | None = None,
    memory_limit: str | None = None,
) -> tuple[Path, list[RollupTable], float]:
    """Build every rollup of the model from the release at ``db_path`` into
    ``out_dir/rollups.duckdb`` (default: the release's directory), atomically: the file appears
    complete or not at all. Returns the path, the tables and the seconds taken.
    ``memory_limit`` (DuckDB's ``memory_limit``, e.g. ``2GB``): beyond it DuckDB spills to a
    temporary directory beside the file instead of growing (the same tables either way)."""
    began = time.monotonic()
    out_dir = out_dir or db_path.parent
    final = out_dir / FILE
    tmp = out_dir / f".{FILE}.{os.getpid()}.tmp"
    spill = out_dir / f".{FILE}.{os.getpid()}.spill"
    tmp.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp))
    tables: list[RollupTable] = []
    try:
        con.execute("SET enable_progress_bar = false")  # not into the load's or demo's output
        if memory_limit:
            con.execute("SET memory_limit = $m", {"m": memory_limit})
            con.execute("SET temp_directory = $t", {"t": str(spill)})
        # every table is written with an ORDER BY, which is kept regardless; without the
        # setting, the unordered steps before the sort need not keep their input's order
        con.execute("SET preserve_insertion_order = false")
        con.execute(f"ATTACH '{db_path}' AS src (READ_ONLY)")
        present = {
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'src'"
            ).fetchall()
        }
        for cube in catalog.cubes.values():
            if cube.fact not in present:
                continue
            # the finer first: a coarser one is then regrouped from it (``_finer``)
            for rollup in sorted(cube.rollups, key=lambda r: -len(r.grouped)):
                tables.append(_build_one(con, cube, rollup))
        con.execute(
            "CREATE TABLE rollup_catalog (format INTEGER, release VARCHAR, sum_scale BIGINT, "
            "cube VARCHAR, name VARCHAR, singles VARCHAR, multis VARCHAR, bounds VARCHAR, "
            "columns VARCHAR[], sums VARCHAR[], rows BIGINT, multi_rows BIGINT, alone VARCHAR[])"
        )
        for t in tables:
            con.execute(
                "INSERT INTO rollup_catalog VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    FORMAT,
                    release_id,
                    SUM_SCALE,
                    t.cube,
                    t.name,
                    t.singles,
                    t.multis,
                    t.bounds,
                    list(t.columns),
                    list(t.sums),
                    t.rows,
                    t.multi_rows,
                    list(t.alone),
                ],
            )
        con.execute("DETACH src")
        con.close()
        replace_synced(tmp, final)
    except BaseException:
        con.close()
        tmp.unlink(missing_ok=True)
        Path(f"{tmp}.wal").unlink(missing_ok=True)
        raise
    finally:
        shutil.rmtree(spill, ignore_errors=True)
    return final, tables, time.monotonic() - began


def attach(con: duckdb.DuckDBPyConnection, db_path: Path, release_id: str) -> list[RollupTable]:
    """Attach the release's rollup file (read-only) to ``con`` and list its rollups; none when
    the file is missing, unreadable, of another layout, or built for another release or sum
    scale (the engine then answers from the facts, as it always can)."""
    path = db_path.parent / FILE
    if not path.is_file():
        log.info("release %s has no rollups: answering from its facts (zicht rollups)", release_id)
        return []
    # connections to one release file in one process share one database: a second engine on
    # the release (a rollback, a test) finds the rollups attached already and reads them
    attached = {
        r[0] for r in con.execute("SELECT database_name FROM duckdb_databases()").fetchall()
    }
    try:
        if SCHEMA not in attached:
            con.execute(f"ATTACH '{path}' AS {SCHEMA} (READ_ONLY)")
    except duckdb.Error:
        log.warning(
            "release %s: %s cannot be read, ignored (rebuild: zicht rollups)", release_id, FILE
        )
        return []
    try:
        # filtered here rather than bound as parameters: DuckDB imports pandas (~0.3 s of
        # start-up) to look at the types of Python parameters
        listed = con.execute(
            f"SELECT cube, name, singles, multis, bounds, columns, sums, rows, multi_rows, "
            f"alone, format, release, sum_scale FROM {SCHEMA}.rollup_catalog ORDER BY rows"
        ).fetchall()
        rows = [r[:10] for r in listed if tuple(r[10:]) == (FORMAT, release_id, SUM_SCALE)]
    except duckdb.Error:
        rows = []
    if not rows:
        con.execute(f"DETACH {SCHEMA}")
        log.warning(
            "release %s: %s was built for another release or layout, ignored "
            "(rebuild: zicht rollups)",
            release_id,
            FILE,
        )
        return []
    log.info("release %s: %d rollups", release_id, len(rows))
    return [
        RollupTable(c, n, s, m, b, tuple(cols), tuple(sums), int(r), int(mr), tuple(al))
        for c, n, s, m, b, cols, sums, r, mr, al in rows
    ]


def usable_tables(db_path: Path, release_id: str) -> tuple[Path, tuple[str, ...]] | None:
    """The release's rollup file and every table of the rollups the engine would use, for an
    export to another engine; None when the release has no usable rollups."""
    con = duckdb.connect(":memory:")
    try:
        found = attach(con, db_path, release_id)
    finally:
        con.close()
    if not found:
        return None
    return db_path.parent / FILE, tuple(t for r in found for t in (r.singles, r.multis, r.bounds))
