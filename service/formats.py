"""Serialise a protected ``Answer``: JSON (default), CSV, SDMX-CSV, CBS-StatLine-like JSON.

Suppressed values are ``null`` in JSON, ``x`` (CBS's "geheim") in CSV, ``NaN`` with
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

from cube.result import Answer, Row, Value
from service.errors import NotAcceptable
from service.schemas import query_to_dict

MEDIA_TYPES: dict[str, str] = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "sdmx-csv": "application/vnd.sdmx.data+csv; version=1.0.0; charset=utf-8",
    "statline": "application/vnd.zicht.statline+json",
}
_ACCEPT = {
    "application/json": "json",
    "text/csv": "csv",
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
        bare = value.split(";")[0].strip().lower()
        if quality <= 0:
            continue
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


def _csv_value(v: Value) -> Any:
    shown = _number(v.value)
    return SUPPRESSED if v.status == "suppressed" or shown is None else shown


def to_csv(answer: Answer) -> str:
    """Wide CSV: code and label per drill-down item, value and status per measure."""
    total = "Total" if answer.query.lang == "en" else "Totaal"
    header = [h for item in answer.drilldown for h in (item, f"{item}_label")]
    header += [h for m in answer.measures for h in (m.id, f"{m.id}_status")]
    rows = []
    for row in answer.rows:
        line: list[Any] = []
        for code, label in zip(row.members, row.labels, strict=True):
            line += [code or "", total if code is None else label or ""]
        for v in row.values:
            status = f"{v.status}:{v.reason}" if v.reason else v.status
            line += [_csv_value(v), status]
        rows.append(line)
    return _csv_text(header, rows)


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


SERIALISERS: dict[str, Callable[[Answer], str]] = {
    "json": lambda a: json.dumps(to_json(a), separators=(",", ":")),
    "csv": to_csv,
    "sdmx-csv": to_sdmx_csv,
    "statline": lambda a: json.dumps(to_statline(a), separators=(",", ":")),
}


def render(answer: Answer, fmt: str) -> bytes:
    return SERIALISERS[fmt](answer).encode("utf-8")
