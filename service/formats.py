"""Serialise a protected ``Answer``: JSON (default), tidy CSV (plain or Dutch), Arrow IPC,
Parquet, SDMX-CSV, CBS-StatLine-like JSON.

Suppressed values are ``null`` in JSON, empty in the tidy CSV and null in Arrow/Parquet (with a
``status`` and ``reason`` column beside every value, ``service.tidy``), ``NaN`` with
``CONF_STATUS=C`` in SDMX-CSV and ``Value: null`` with ``ValueAttribute: Confidential`` in the
StatLine form. Period members are ISO (``2023``, ``2023-Q1``, ``2023-01``); the StatLine form
uses CBS period codes (``2023JJ00``, ``2023KW01``, ``2023MM01``).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections import Counter
from collections.abc import Callable
from typing import Any

from werkzeug.datastructures import MIMEAccept

from cube.query import Query
from cube.result import Answer, Row, Value
from service import tidy
from service.errors import NotAcceptable
from service.schemas import query_to_dict

MEDIA_TYPES: dict[str, str] = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8; header=present",
    "csv-nl": "text/csv; charset=utf-8; header=present; dialect=nl",
    "arrow": "application/vnd.apache.arrow.stream",
    "parquet": "application/vnd.apache.parquet",
    "sdmx-csv": "application/vnd.sdmx.data+csv; version=1.0.0; charset=utf-8",
    "statline": "application/vnd.zicht.statline+json",
}
_ACCEPT = {
    "application/json": "json",
    "text/csv": "csv",
    "application/vnd.apache.arrow.stream": "arrow",
    "application/vnd.apache.parquet": "parquet",
    "application/vnd.sdmx.data+csv": "sdmx-csv",
    "application/vnd.zicht.statline+json": "statline",
}
SUPPRESSED = "x"  # CBS symbol for a confidential ("geheim") value
PERIOD_DIMENSION = "period"
TOTAL_CODE = "_T"  # SDMX code for "total over this dimension"


def choose_format(param: str | None, accept: MIMEAccept) -> str:
    """``format=`` wins; else the best match of ``Accept``; JSON when nothing is asked for."""
    if param:
        if param not in MEDIA_TYPES:
            raise NotAcceptable(f"unknown format; use one of {', '.join(MEDIA_TYPES)}")
        return param
    if not accept:
        return "json"
    # Parameters (``;version=1.0.0``) do not decide the format: match on the bare media type.
    for value, quality in sorted(accept, key=lambda vq: -vq[1]):
        bare, _, params = value.lower().partition(";")
        bare = bare.strip()
        if quality <= 0:
            continue
        if bare == "text/csv" and re.search(r"dialect\s*=\s*\"?nl", params):
            return "csv-nl"
        if bare in _ACCEPT:
            return _ACCEPT[bare]
        if bare in ("*/*", "application/*"):
            return "json"
        if bare == "text/*":
            return "csv"
    raise NotAcceptable("no acceptable response format; see openapi.yaml")


def cbs_period(code: str) -> str:
    """ISO period → CBS period code.

    >>> [cbs_period(c) for c in ("2023", "2023-Q1", "2023-01")]
    ['2023JJ00', '2023KW01', '2023MM01']
    """
    if re.fullmatch(r"\d{4}", code):
        return f"{code}JJ00"
    m = re.fullmatch(r"(\d{4})-Q([1-4])", code)
    if m:
        return f"{m[1]}KW0{m[2]}"
    m = re.fullmatch(r"(\d{4})-(\d{2})", code)
    if m:
        return f"{m[1]}MM{m[2]}"
    return code


def _role(item: str) -> str:
    return item.partition("@")[0]


def _number(value: float | None) -> float | int | None:
    # Counts arrive as floats from numpy; publish integral values as integers.
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return int(value) if float(value).is_integer() else float(value)


def _cell(v: Value) -> dict[str, Any]:
    shown = None if v.status == "suppressed" else _number(v.value)
    return {"value": shown, "status": v.status, "reason": v.reason}


def cell_summary(answer: Answer) -> dict[str, Any]:
    """Cells by status and by suppression reason, counted from the published rows."""
    statuses: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    for row in answer.rows:
        for v in row.values:
            statuses[v.status] += 1
            if v.reason:
                reasons[v.reason] += 1
    return {
        "cells": sum(statuses.values()),
        "by_status": dict(sorted(statuses.items())),
        "by_reason": dict(sorted(reasons.items())),
    }


def public_report(answer: Answer) -> dict[str, Any]:
    """The disclosure report a client may see: policy id and cells by status and rule.

    The engine's own report also holds risk figures (smallest contributor count of a published
    cell, largest perturbation deviation) that would narrow down true values: those go to the
    audit log only, never into an answer.
    """
    policy = answer.report.get("policy") if isinstance(answer.report, dict) else None
    return {"policy": policy if isinstance(policy, str) else None, **cell_summary(answer)}


def to_json(answer: Answer) -> dict[str, Any]:
    """The default JSON answer (schema ``Answer`` in ``openapi.yaml``)."""
    items, ids = answer.drilldown, [m.id for m in answer.measures]
    return {
        "cube": answer.query.cube,
        "release": answer.release,
        "query": query_to_dict(answer.query),
        "drilldown": list(items),
        "measures": [
            {"id": m.id, "label": m.label, "unit": m.unit, "kind": m.kind} for m in answer.measures
        ],
        "rows": [
            {
                "members": dict(zip(items, row.members, strict=True)),
                "labels": dict(zip(items, row.labels, strict=True)),
                "cells": {mid: _cell(v) for mid, v in zip(ids, row.values, strict=True)},
            }
            for row in answer.rows
        ],
        "total_rows": answer.total_rows,
        "truncated": answer.truncated,
        "report": public_report(answer),
    }


def _csv_text(header: list[str], rows: list[list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _sdmx_dim(item: str) -> str:
    role = _role(item)
    return "TIME_PERIOD" if role == PERIOD_DIMENSION else role.upper()


def to_sdmx_csv(answer: Answer) -> str:
    """SDMX-CSV 1.0, one observation per row and measure (``MEASURE`` dimension)."""
    flow = f"ZICHT:{answer.query.cube.upper()}(1.0)"
    header = ["DATAFLOW", *(_sdmx_dim(i) for i in answer.drilldown), "MEASURE"]
    header += ["OBS_VALUE", "CONF_STATUS"]
    rows: list[list[Any]] = []
    for row in answer.rows:
        keys = [TOTAL_CODE if code is None else code for code in row.members]
        for m, v in zip(answer.measures, row.values, strict=True):
            shown = _number(v.value)
            if v.status == "suppressed" or shown is None:
                rows.append([flow, *keys, m.id, "NaN", "C"])
            else:
                rows.append([flow, *keys, m.id, shown, "F"])
    return _csv_text(header, rows)


def _statline_rows(answer: Answer, row: Row, start: int) -> list[dict[str, Any]]:
    dims: dict[str, Any] = {}
    for item, code in zip(answer.drilldown, row.members, strict=True):
        is_period = _role(item) == PERIOD_DIMENSION
        dims[_role(item)] = cbs_period(code) if is_period and code else code
    out = []
    for i, (m, v) in enumerate(zip(answer.measures, row.values, strict=True)):
        shown = None if v.status == "suppressed" else _number(v.value)
        attribute = "Confidential" if shown is None else "None"
        out.append(
            {"Id": start + i, "Measure": m.id, "ValueAttribute": attribute, "Value": shown, **dims}
        )
    return out


def to_statline(answer: Answer) -> dict[str, Any]:
    """CBS-StatLine-like long JSON (OData ``Observations``): one cell per item of ``value``."""
    per_row = len(answer.measures)
    value = [
        obs for n, row in enumerate(answer.rows) for obs in _statline_rows(answer, row, n * per_row)
    ]
    return {"release": answer.release, "cube": answer.query.cube, "value": value}


def _text(fn: Callable[[Answer], str]) -> Callable[[Answer], bytes]:
    return lambda answer: fn(answer).encode("utf-8")


def _json(fn: Callable[[Answer], dict[str, Any]]) -> Callable[[Answer], bytes]:
    return lambda answer: json.dumps(fn(answer), separators=(",", ":")).encode("utf-8")


SERIALISERS: dict[str, Callable[[Answer], bytes]] = {
    "json": _json(to_json),
    "csv": _text(tidy.to_csv),
    "csv-nl": _text(tidy.to_csv_nl),
    "arrow": tidy.to_arrow_ipc,
    "parquet": tidy.to_parquet,
    "sdmx-csv": _text(to_sdmx_csv),
    "statline": _json(to_statline),
}
# Formats a client saves as a file: answered with ``Content-Disposition: attachment``.
EXTENSIONS = {
    "csv": "csv",
    "csv-nl": "csv",
    "arrow": "arrows",
    "parquet": "parquet",
    "sdmx-csv": "csv",
}


def render(answer: Answer, fmt: str) -> bytes:
    return SERIALISERS[fmt](answer)


def download_name(query: Query, release: str, fmt: str) -> str:
    """A file name that says what is in the file: cube, measures, drill-down and release.

    >>> q = Query("drug_suspects", ("suspects",), ("residence@gemeente", "period@year"))
    >>> download_name(q, "20250102T000000Z-bbbbbbbb", "csv")
    'zicht_drug_suspects_suspects_by_residence_gemeente_period_year_20250102T000000Z.csv'
    """
    parts = ["zicht", query.cube, *query.measures[:3]]
    if len(query.measures) > 3:
        parts.append(f"and_{len(query.measures) - 3}_more")
    if query.drilldown:
        parts += ["by", *query.drilldown]
    name = "_".join(re.sub(r"[^A-Za-z0-9]+", "_", p).strip("_") for p in parts)[:120]
    stamp = release.partition("-")[0]
    suffix = "_nl" if fmt == "csv-nl" else ("_sdmx" if fmt == "sdmx-csv" else "")
    return f"{name}_{stamp}{suffix}.{EXTENSIONS[fmt]}"


def content_disposition(query: Query, release: str, fmt: str) -> str | None:
    """The ``Content-Disposition`` header of an answer in ``fmt``; None for inline formats."""
    if fmt not in EXTENSIONS:
        return None
    return f'attachment; filename="{download_name(query, release, fmt)}"'
