"""Serialise a protected ``Answer``: JSON (default), tidy CSV (plain or Dutch), Arrow IPC,
Parquet, SDMX-CSV, CBS-StatLine-like JSON.

Suppressed values are ``null`` in JSON, empty in the tidy CSV and null in Arrow/Parquet (with a
``status`` and ``reason`` column beside every value, ``service.tidy``), ``NaN`` with
``CONF_STATUS=C`` in SDMX-CSV and ``Value: null`` with ``ValueAttribute: Confidential`` in the
StatLine form. Period members are ISO (``2023``, ``2023-Q1``, ``2023-01``); the StatLine form
uses CBS period codes (``2023JJ00``, ``2023KW01``, ``2023MM01``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from functools import partial
from itertools import repeat
from typing import TYPE_CHECKING, Any, TypeVar

from cube.query import Query
from cube.result import Answer, Value, row_columns
from service import sdmx, tidy
from service.errors import NotAcceptable
from service.querybody import query_to_dict

if TYPE_CHECKING:
    from werkzeug.datastructures import MIMEAccept

MEDIA_TYPES: dict[str, str] = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8; header=present",
    "csv-nl": "text/csv; charset=utf-8; header=present; dialect=nl",
    "arrow": "application/vnd.apache.arrow.stream",
    "parquet": "application/vnd.apache.parquet",
    "sdmx-csv": "application/vnd.sdmx.data+csv; version=2.0.0; charset=utf-8",
    "sdmx-csv-1": "application/vnd.sdmx.data+csv; version=1.0.0; charset=utf-8",
    "sdmx-json": "application/vnd.sdmx.data+json; version=1.0.0; charset=utf-8",
    "statline": "application/vnd.zicht.statline+json",
}
_ACCEPT = {
    "application/json": "json",
    "text/csv": "csv",
    "application/vnd.apache.arrow.stream": "arrow",
    "application/vnd.apache.parquet": "parquet",
    "application/vnd.zicht.statline+json": "statline",
}
SUPPRESSED = "x"  # CBS symbol for a confidential ("geheim") value
PERIOD_DIMENSION = "period"


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
        if bare in SDMX_VERSIONS:
            found = _sdmx_version(bare, params)
            if found:
                return found
            continue  # a version we do not write: another entry may fit, else 406
        if bare in _ACCEPT:
            return _ACCEPT[bare]
        if bare in ("*/*", "application/*"):
            return "json"
        if bare == "text/*":
            return "csv"
    raise NotAcceptable("no acceptable response format; see openapi.yaml")


# SDMX media types by version (``version`` parameter; none means the newest we write).
SDMX_VERSIONS = {
    "application/vnd.sdmx.data+csv": {"2.0.0": "sdmx-csv", "1.0.0": "sdmx-csv-1"},
    "application/vnd.sdmx.data+json": {"1.0.0": "sdmx-json"},
}


def _sdmx_version(bare: str, params: str) -> str | None:
    """The format for an SDMX media type's ``version`` parameter (``2``, ``2.0``, ``2.0.0``
    alike), or None for a version not written here."""
    versions = SDMX_VERSIONS[bare]
    m = re.search(r"version\s*=\s*\"?([0-9.]+)", params)
    if m is None:
        return next(iter(versions.values()))
    asked = [int(p) for p in m[1].split(".") if p.isdigit()]
    for version, fmt in versions.items():
        parts = [int(p) for p in version.split(".")]
        if asked and asked + [0] * (len(parts) - len(asked)) == parts:
            return fmt
    return None


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
    """Cells by status and by suppression reason (the engine counted them once)."""
    return answer.summary.counts()


def public_report(answer: Answer) -> dict[str, Any]:
    """The disclosure report a client may see: policy id and cells by status and rule.

    The engine's summary also holds risk figures (smallest contributor count of a published
    cell, largest perturbation deviation) that would narrow down true values: those go to the
    audit log only, never into an answer.
    """
    return answer.summary.public()


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


def json_bytes(answer: Answer) -> bytes:
    """``to_json`` encoded (compact, ASCII), byte for byte as ``json.dumps`` writes it, without
    a dictionary per row and cell: the rows are written column by column from encoded pieces,
    every code, label and tuple of cells encoded once per answer (rows share them; the 41,700
    rows of buurt x age x year took 300 ms through dictionaries)."""
    whole = to_json(replace(answer, rows=()))
    head = {k: whole[k] for k in whole if k in _BEFORE_ROWS}
    tail = {k: whole[k] for k in whole if k not in _BEFORE_ROWS and k != "rows"}
    rows = ",".join(map("".join, zip(*_row_pieces(answer), strict=True)))
    return f'{_dumps(head)[:-1]},"rows":[{rows}],{_dumps(tail)[1:]}'.encode()


def _row_pieces(answer: Answer) -> list[Iterable[str]]:
    """The pieces of every row's JSON text as columns (a constant piece repeated): joined
    row by row they are the rows of ``to_json``."""
    items, ids = answer.drilldown, [m.id for m in answer.measures]
    cols = row_columns(answer.rows, len(items))
    n = len(cols.which)
    pieces: list[Iterable[str]] = []
    for opening, columns in (('{"members":{', cols.members), ('},"labels":{', cols.labels)):
        pieces.append(repeat(opening, n))
        for i, (item, column) in enumerate(zip(items, columns, strict=True)):
            texts = _Memo(partial(_member_text, ("," if i else "") + _dumps(item) + ":"))
            pieces.append(list(map(texts.__getitem__, column)))

    def cell_text(cells: tuple[Value, ...]) -> str:
        return _dumps({m: _cell(v) for m, v in zip(ids, cells, strict=True)})

    pieces += [repeat('},"cells":', n), cols.per_row(cell_text), repeat("}", n)]
    return pieces


K = TypeVar("K")
V = TypeVar("V")


class _Memo(dict[K, V]):
    """Each key's value made by ``make`` on first use: a code or label's JSON text made once
    per answer however many rows hold it."""

    def __init__(self, make: Callable[[K], V]) -> None:
        super().__init__()
        self.make = make

    def __missing__(self, key: K) -> V:
        made = self[key] = self.make(key)
        return made


def _member_text(key: str, text: str | None) -> str:
    return key + ("null" if text is None else _dumps(text))


_BEFORE_ROWS = ("cube", "release", "query", "drilldown", "measures")


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


def statline_bytes(answer: Answer) -> bytes:
    """CBS-StatLine-like long JSON (OData ``Observations``), compact: ``release``, ``cube`` and
    ``value``, one object per cell (row by row, measure by measure) with its ``Id`` (0, 1, ...),
    ``Measure``, ``ValueAttribute`` (``Confidential`` where suppressed, else ``None``),
    ``Value`` (null where suppressed) and the row's code per drill-down role (period codes as
    CBS writes them; of two items of one role the later one's). Written from the answer's
    columns: each code encoded once, each distinct tuple of values once."""
    cols = row_columns(answer.rows, len(answer.drilldown))
    n = len(cols.which)
    last = {_role(item): i for i, item in enumerate(answer.drilldown)}  # a role's last item
    dims: list[Iterable[str]] = [repeat("", n)]
    for role, i in last.items():  # in the order of each role's first item, as a dict keeps
        texts = _Memo(partial(_dim_text, f",{_dumps(role)}:", role == PERIOD_DIMENSION))
        dims.append(list(map(texts.__getitem__, cols.members[i])))
    row_dims = list(map("".join, zip(*dims, strict=True)))
    columns = []
    for j, m in enumerate(answer.measures):

        def cell(cells: tuple[Value, ...], j: int = j) -> str:
            v = cells[j]
            hidden = v.status == "suppressed"
            shown = None if hidden else _number(v.value)
            # a null that is not suppressed is a figure that does not exist (a rate over 0)
            attribute = "Confidential" if hidden else "None"
            return f',"ValueAttribute":{_dumps(attribute)},"Value":{_dumps(shown)}'

        measure = f',"Measure":{_dumps(m.id)}'
        columns.append(zip(repeat(measure, n), cols.per_row(cell), row_dims, strict=True))
    observations = [
        f'{{"Id":{k}{measure}{cell}{dims_text}}}'
        for k, (measure, cell, dims_text) in enumerate(
            obs for row in zip(*columns, strict=True) for obs in row
        )
    ]
    head = _dumps({"release": answer.release, "cube": answer.query.cube})[:-1]
    return f'{head},"value":[{",".join(observations)}]}}'.encode()


def _dim_text(key: str, period: bool, code: str | None) -> str:
    return key + _dumps(cbs_period(code) if period and code else code)


def _text(fn: Callable[[Answer], str]) -> Callable[[Answer], bytes]:
    return lambda answer: fn(answer).encode("utf-8")


Serialiser = Callable[[Answer, Sequence[str]], bytes]
SERIALISERS: dict[str, Serialiser] = {
    "json": lambda a, _: json_bytes(a),
    "csv": lambda a, _: _text(tidy.to_csv)(a),
    "csv-nl": lambda a, _: _text(tidy.to_csv_nl)(a),
    "arrow": lambda a, _: tidy.to_arrow_ipc(a),
    "parquet": lambda a, _: tidy.to_parquet(a),
    "sdmx-csv": lambda a, roles: sdmx.to_csv2(a, roles).encode("utf-8"),
    "sdmx-csv-1": lambda a, roles: sdmx.to_csv1(a, roles).encode("utf-8"),
    "sdmx-json": lambda a, roles: sdmx.render_json1(a, roles).encode("utf-8"),
    "statline": lambda a, _: statline_bytes(a),
}
# Formats a client saves as a file: answered with ``Content-Disposition: attachment``.
EXTENSIONS = {
    "csv": "csv",
    "csv-nl": "csv",
    "arrow": "arrows",
    "parquet": "parquet",
    "sdmx-csv": "csv",
    "sdmx-csv-1": "csv",
}


def render(answer: Answer, fmt: str, roles: Sequence[str] = ()) -> bytes:
    """``answer`` as ``fmt``; ``roles`` are the cube's roles in model order (the SDMX formats
    have a column for each, ``_T`` where the query does not drill down)."""
    return SERIALISERS[fmt](answer, roles)


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
    suffix = {"csv-nl": "_nl", "sdmx-csv": "_sdmx", "sdmx-csv-1": "_sdmx1"}.get(fmt, "")
    return f"{name}_{stamp}{suffix}.{EXTENSIONS[fmt]}"


def content_disposition(query: Query, release: str, fmt: str) -> str | None:
    """The ``Content-Disposition`` header of an answer in ``fmt``; None for inline formats."""
    if fmt not in EXTENSIONS:
        return None
    return f'attachment; filename="{download_name(query, release, fmt)}"'
