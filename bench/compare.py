"""The bench mix on DuckDB and on another backend over the release's Parquet export, every
answer compared: what ``bench.spark`` and ``bench.datafusion`` share.

Per query of ``bench.queries.MIX``: "first" is the query as the mix asks it (the first time an
engine sees its shape), "cold" the same shape with other members (another gemeente, provincie
or year), as a dashboard user meets it. Both engines answer each, in turn; the other backend's
answer must equal DuckDB's in every status, reason and value (``comparable``).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bench.queries import MIX, BenchQuery, sibling
from cube.engine import Engine
from loaders.export import ExportEntry, export_entry
from loaders.releases import Release, current_release


def comparable(answer: Any) -> tuple[Any, ...]:
    """Everything an answer publishes but its timings, and its disclosure-control reports;
    floats by their exact bits. The reports' smallest published contributor count is left
    out: where bounds settle a cell it is their lower bound on the cell's holdings, and a
    rollup's groups bound tighter than the facts' rows (what is published is the same)."""

    def value(v: Any) -> tuple[Any, ...]:
        x = v.value
        return (x.hex() if isinstance(x, float) else x, v.status, v.reason)

    rows = tuple((r.members, r.labels, tuple(value(v) for v in r.values)) for r in answer.rows)
    head = (answer.release, answer.drilldown, answer.measures, answer.total_rows, answer.truncated)
    summary = replace(answer.summary, parts=_without_bounds(answer.summary.parts))
    return head, rows, repr(summary)


def _without_bounds(report: Any) -> Any:
    if isinstance(report, dict):
        return {
            k: _without_bounds(v)
            for k, v in report.items()
            if k != "smallest_published_contributors"
        }
    return report


def timed(engine: Engine, query: Any) -> tuple[float, Any]:
    """Seconds ``engine`` took for ``query`` and its answer, or the exception it raised (a
    time-out or a refusal: reported, not fatal to the run)."""
    start = time.perf_counter()
    try:
        answer = engine.answer(query)
    except Exception as exc:
        return time.perf_counter() - start, exc
    return time.perf_counter() - start, answer


def exported_release(home: Path, how: str) -> tuple[Release, ExportEntry]:
    """The current release of ``home`` and its Parquet export; exits saying ``how`` to make
    one when there is none."""
    release = current_release(home)
    if release is None:
        sys.exit(f"no current release in {home}")
    entry = export_entry(release.path, release.manifest)
    if entry is None:
        sys.exit(f"the release has no Parquet export: run `{how}` first")
    return release, entry


def export_options(entry: ExportEntry) -> dict[str, str]:
    """The backend options naming what the export holds."""
    return {
        "parquet_dir": entry.location,
        "exported_facts": ",".join(entry.facts),
        "exported_rollups": ",".join(entry.rollups),
    }


@dataclass(frozen=True, slots=True)
class Pair:
    """One query asked of both engines: seconds each took, whether the answers are equal, and
    the other backend's error (a type name) when it gave none."""

    query: str
    kind: str  # "first" or "cold"
    duckdb_s: float
    other_s: float
    same: bool
    error: str | None
    cells: int


def pairs(duck: Engine, other: Engine) -> Iterator[tuple[BenchQuery, tuple[Pair, Pair]]]:
    """Each query of the mix with its two pairs: as asked, then with other members."""
    for bq in MIX:
        first = _pair(duck, other, bq, "first", bq.query)
        yield bq, (first, _pair(duck, other, bq, "cold", sibling(bq.query)))


def _pair(duck: Engine, other: Engine, bq: BenchQuery, kind: str, query: Any) -> Pair:
    d_s, d_answer = timed(duck, query)
    o_s, o_answer = timed(other, query)
    failed = isinstance(o_answer, Exception) or isinstance(d_answer, Exception)
    return Pair(
        bq.name,
        kind,
        round(d_s, 4),
        round(o_s, 4),
        not failed and comparable(o_answer) == comparable(d_answer),
        type(o_answer).__name__ if failed else None,
        0 if failed else sum(len(r.values) for r in o_answer.rows),
    )
