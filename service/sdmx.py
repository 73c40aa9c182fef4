"""SDMX data: SDMX-CSV 2.0 (default) and 1.0, and SDMX-JSON 1.0 data messages.

Every cube is a dataflow ``ZICHT:<CUBE>(1.0)`` with a data structure definition
``ZICHT:DSD_<CUBE>(1.0)`` (``service.sdmx_structure``): one dimension per role of the cube
(``RESIDENCE``, ``AGE``, …; the period role is ``TIME_PERIOD``), a ``MEASURE`` dimension, the
primary measure ``OBS_VALUE`` and two observation attributes from SDMX's cross-domain code
lists:

- ``OBS_STATUS``: ``A`` (normal value) for a safe cell, ``E`` (estimated value) for a
  perturbed one (cell key noise), ``O`` (missing value) for a suppressed one, ``M`` (missing
  value; data cannot exist) for a figure that does not exist (a rate or change over 0);
- ``CONF_STATUS``: ``F`` (free) when published; when suppressed the rule that suppressed it —
  ``A`` (primary confidentiality: small counts, the threshold rule), ``T`` (dominance by two
  units, the (2, k) rule), ``M`` (other measures of concentration, the p % rule), ``D``
  (secondary confidentiality, set by the sender: secondary suppression and values derived
  from a suppressed component).

A role the query does not drill down is ``_T`` (total) in every observation; a total row has
``_T`` for the items it totals. Member codes are the CBS codes, with two changes that SDMX
identifiers need (``service.sdmx_structure.sdmx_code``).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from itertools import repeat
from typing import Any, TypeVar

from cube.errors import Problem
from cube.query import Query
from cube.result import Answer, Value, row_columns
from service.errors import NotAcceptable

AGENCY = "ZICHT"
VERSION = "1.0"
TOTAL = "_T"
TIME = "TIME_PERIOD"
PERIOD_ROLE = "period"
MEASURE = "MEASURE"
OBS_STATUS = {"safe": "A", "perturbed": "E", "suppressed": "O"}
CONF_STATUS = {
    "threshold": "A",
    "dominance": "T",
    "p_percent": "M",
    "secondary": "D",
    "derived": "D",
}


DATA_FORMATS = ("sdmx-csv", "sdmx-csv-1", "sdmx-json")


def fits(query: Query, fmt: str) -> bool:
    """Whether an answer to ``query`` can be written as ``fmt``: SDMX has one dimension per
    role, so the SDMX formats take one drill-down level per role.

    >>> q = Query("c", ("m",), ("residence@gemeente", "residence@provincie"))
    >>> fits(q, "sdmx-csv"), fits(q, "csv")
    (False, True)
    """
    if fmt not in DATA_FORMATS:
        return True
    roles = [item.partition("@")[0] for item in query.drilldown]
    return len(roles) == len(set(roles))


def check(query: Query, fmt: str) -> None:
    """``NotAcceptable`` (406) when ``fits`` is false."""
    if not fits(query, fmt):
        raise NotAcceptable(
            "the SDMX formats take one drill-down level per role",
            [Problem("drilldown", "drill each role down to one level, or use another format")],
        )


def flow_id(cube: str) -> str:
    return cube.upper()


def flow_ref(cube: str) -> str:
    """``ZICHT:DRUG_SUSPECTS(1.0)``: the dataflow as SDMX-CSV names it."""
    return f"{AGENCY}:{flow_id(cube)}({VERSION})"


def dimension_id(role: str) -> str:
    return TIME if role == PERIOD_ROLE else role.upper()


def sdmx_code(level: str, code: str) -> str:
    """A member code as an SDMX identifier: ``+`` is not allowed (``65+`` → ``65_PLUS``),
    and income classes name their level (quintile ``1`` → ``Q1``, decile ``1`` → ``D1``),
    since both levels use the digits.

    >>> [sdmx_code("gemeente", "GM0363"), sdmx_code("broad", "65+"), sdmx_code("decile", "10")]
    ['GM0363', '65_PLUS', 'D10']
    """
    if level in ("quintile", "decile") and code.isdigit():
        return f"{level[0].upper()}{code}"
    return code.replace("+", "_PLUS")


def measure_code(measure: str) -> str:
    """``population.inhabitants`` (a measure of another cube) → ``population__inhabitants``."""
    return measure.replace(".", "__")


def obs_status(v: Value) -> str:
    """``M`` for a published cell without a value (nothing to divide by), else by status."""
    if v.status != "suppressed" and _number(v) is None:
        return "M"
    return OBS_STATUS[v.status]


def conf_status(v: Value) -> str:
    if v.status != "suppressed":
        return "F"
    return CONF_STATUS.get(v.reason or "", "C")


def _number(v: Value) -> float | int | None:
    if v.status == "suppressed" or v.value is None:
        return None
    value = float(v.value)
    if math.isnan(value):
        return None
    return int(value) if value.is_integer() else value


def dimensions(roles: Sequence[str]) -> list[str]:
    """The DSD's dimensions in key order: the roles (period last, as the time dimension),
    ``MEASURE`` before it."""
    others = [dimension_id(r) for r in roles if r != PERIOD_ROLE]
    return [*others, MEASURE, *([TIME] if PERIOD_ROLE in roles else [])]


T = TypeVar("T")


def observations(
    answer: Answer, roles: Sequence[str], make: Callable[[Value], T]
) -> Iterator[tuple[tuple[str, ...], T]]:
    """(key: a code per dimension, in the order of ``dimensions``; ``make`` of the value) for
    every cell of the answer, row by row. Built from the answer's columns: each code turned
    into its SDMX identifier once, ``make`` called once per distinct value (rows share
    them)."""
    dims = dimensions(roles or [item.partition("@")[0] for item in answer.drilldown])
    cols = row_columns(answer.rows, len(answer.drilldown))
    n = len(cols.which)
    filled: dict[str, list[str]] = {}  # by dimension id
    for item, codes in zip(answer.drilldown, cols.members, strict=True):
        role, _, level = item.partition("@")
        dim = dimension_id(role)
        if dim not in dims:
            continue
        ids = {c: sdmx_code(level, c) for c in set(codes) if c is not None}
        before = filled.get(dim, [TOTAL] * n)  # two items of one role: the later one's code
        filled[dim] = [b if c is None else ids[c] for c, b in zip(codes, before, strict=True)]
    per_measure = []
    for j, m in enumerate(answer.measures):
        code = measure_code(m.id)
        columns = [
            repeat(code, n) if d == MEASURE else filled.get(d) or repeat(TOTAL, n) for d in dims
        ]
        made = cols.per_row(lambda cells, j=j: make(cells[j]))  # type: ignore[misc]
        per_measure.append(zip(zip(*columns, strict=True), made, strict=True))
    for row in zip(*per_measure, strict=True):
        yield from row


def _obs_fields(v: Value) -> tuple[Any, str, str]:
    """``OBS_VALUE`` and the attributes of ``v``."""
    value = _number(v)
    return "NaN" if value is None else value, obs_status(v), conf_status(v)


def to_csv2(answer: Answer, roles: Sequence[str] = ()) -> str:
    """SDMX-CSV 2.0: ``STRUCTURE,STRUCTURE_ID,ACTION``, the dimensions, ``OBS_VALUE``, the
    attributes; a suppressed value is ``NaN`` (SDMX's "intentionally missing"; an empty field
    would mean "not reported")."""
    dims = dimensions(roles or [item.partition("@")[0] for item in answer.drilldown])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["STRUCTURE", "STRUCTURE_ID", "ACTION", *dims, "OBS_VALUE", *ATTRIBUTES])
    head = ("dataflow", flow_ref(answer.query.cube), "I")
    writer.writerows(
        (*head, *key, *fields) for key, fields in observations(answer, roles, _obs_fields)
    )
    return out.getvalue()


def to_csv1(answer: Answer, roles: Sequence[str] = ()) -> str:
    """SDMX-CSV 1.0: ``DATAFLOW``, the dimensions, ``OBS_VALUE``, the attributes; a suppressed
    value is ``NaN``."""
    dims = dimensions(roles or [item.partition("@")[0] for item in answer.drilldown])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["DATAFLOW", *dims, "OBS_VALUE", *ATTRIBUTES])
    ref = flow_ref(answer.query.cube)
    writer.writerows(
        (ref, *key, *fields) for key, fields in observations(answer, roles, _obs_fields)
    )
    return out.getvalue()


ATTRIBUTES = ["OBS_STATUS", "CONF_STATUS"]
ATTRIBUTE_NAMES = {"OBS_STATUS": "Observation status", "CONF_STATUS": "Confidentiality status"}


def _obs_attributes(v: Value) -> tuple[float | int | None, tuple[str, str]]:
    return _number(v), (obs_status(v), conf_status(v))


def to_json1(answer: Answer, roles: Sequence[str] = ()) -> dict[str, Any]:
    """SDMX-JSON 1.0 data message, every dimension at the observation level."""
    dims = dimensions(roles or [item.partition("@")[0] for item in answer.drilldown])
    values: dict[str, dict[str, int]] = {d: {} for d in [*dims, *ATTRIBUTES]}
    observations_out: dict[str, list[Any]] = {}
    columns = [values[d] for d in dims]
    for key, (number, attrs) in observations(answer, roles, _obs_attributes):
        index = ":".join([str(c.setdefault(x, len(c))) for c, x in zip(columns, key, strict=True)])
        at = [
            values[a].setdefault(x, len(values[a])) for a, x in zip(ATTRIBUTES, attrs, strict=True)
        ]
        observations_out[index] = [number, *at]
    cube = answer.query.cube
    return {
        "header": {
            "id": f"{flow_id(cube)}-{answer.release}",
            "test": False,
            "prepared": prepared(answer.release),
            "sender": {"id": AGENCY},
        },
        "structure": {
            "name": flow_id(cube),
            "dimensions": {
                "dataSet": [],
                "series": [],
                "observation": [
                    {"id": d, "name": d, "keyPosition": i, "values": _ids(values[d])}
                    for i, d in enumerate(dims)
                ],
            },
            "attributes": {
                "dataSet": [],
                "series": [],
                "observation": [
                    {"id": a, "name": ATTRIBUTE_NAMES[a], "values": _ids(values[a])}
                    for a in ATTRIBUTES
                ],
            },
        },
        "dataSets": [{"action": "Information", "observations": observations_out}],
    }


def prepared(release: str) -> str:
    """The message's time: when the release was made (an answer is a function of release and
    query, so the same answer always has the same bytes).

    >>> prepared("20250102T030405Z-bbbbbbbb")
    '2025-01-02T03:04:05+00:00'
    """
    try:
        when = datetime.strptime(release.partition("-")[0], "%Y%m%dT%H%M%SZ")
    except ValueError:
        when = datetime(1970, 1, 1)
    return when.replace(tzinfo=UTC).isoformat()


def _ids(index: dict[str, int]) -> list[dict[str, str]]:
    return [{"id": code, "name": code} for code in sorted(index, key=index.__getitem__)]


def render_json1(answer: Answer, roles: Sequence[str] = ()) -> str:
    return json.dumps(to_json1(answer, roles), separators=(",", ":"))
