"""Tidy tables of an answer: CSV (plain or Dutch spreadsheet dialect), Arrow IPC and Parquet.

One row per answer row; per drill-down item a code and a label column, per measure a value,
a ``status`` and a ``reason`` column. Column names are ``[a-z0-9_]`` only (``residence@gemeente``
→ ``residence_gemeente``, ``population.inhabitants`` → ``population_inhabitants``), so R's
``read.csv`` keeps them and pandas can use them as attributes.

A suppressed value is an empty CSV field and a null in Arrow/Parquet, so value columns load as
numbers everywhere (no ``x`` among the numbers); the ``status`` column says ``suppressed`` and
``reason`` why. A total over a drill-down item has an empty code and the label ``Totaal``
(``Total`` with ``lang=en``).

The Dutch dialect (``format=csv-nl``) is what a Dutch-locale spreadsheet opens directly: ``;``
between fields, a decimal comma and a UTF-8 byte order mark.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from itertools import repeat
from operator import add
from typing import TYPE_CHECKING

from cube.result import Answer, MeasureInfo, Value, row_columns
from service.querybody import query_to_dict

if TYPE_CHECKING:
    import pyarrow as pa

# pyarrow is imported by the Arrow and Parquet writers only: a JSON or CSV answer (and the
# `zicht query` start-up) does not pay for it.

INTEGRAL_KINDS = frozenset({"count"})  # measures published as whole numbers
BOM = "\ufeff"


def column_name(text: str) -> str:
    """An identifier R and pandas keep as it is.

    >>> [column_name(t) for t in ("residence@gemeente", "population.inhabitants", "Suspects")]
    ['residence_gemeente', 'population_inhabitants', 'suspects']
    """
    name = re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_")
    return name if name[:1].isalpha() else f"x_{name}"


def columns(answer: Answer) -> list[str]:
    """Header of the tidy table (the same for CSV, Arrow and Parquet)."""
    out = []
    for item in answer.drilldown:
        out += [column_name(item), f"{column_name(item)}_label"]
    for m in answer.measures:
        out += [column_name(m.id), f"{column_name(m.id)}_status", f"{column_name(m.id)}_reason"]
    return out


def _total_label(answer: Answer) -> str:
    return "Total" if answer.query.lang == "en" else "Totaal"


def _shown(value: float | None, status: str) -> float | None:
    """The published value, never the value of a suppressed cell."""
    if status == "suppressed" or value is None:
        return None
    return None if isinstance(value, float) and math.isnan(value) else float(value)


def _text(value: float | None, decimal: str) -> str:
    if value is None:
        return ""
    text = str(int(value)) if value.is_integer() else repr(value)
    return text.replace(".", decimal) if decimal != "." else text


def to_csv(answer: Answer, *, dutch: bool = False) -> str:
    """The tidy CSV (RFC 4180); ``dutch``: ``;``, decimal comma and a byte order mark."""
    decimal = "," if dutch else "."
    out = io.StringIO()
    if dutch:
        out.write(BOM)
    writer = csv.writer(out, delimiter=";" if dutch else ",", lineterminator="\r\n")
    writer.writerow(columns(answer))
    total = _total_label(answer)
    cols = row_columns(answer.rows, len(answer.drilldown))
    texts: list[list[str]] = []
    for codes, names in zip(cols.members, cols.labels, strict=True):
        texts.append(["" if c is None else c for c in codes])
        texts.append([total if c is None else lb or "" for c, lb in zip(codes, names, strict=True)])

    def cell_fields(cells: tuple[Value, ...]) -> tuple[str, ...]:
        made: tuple[str, ...] = ()
        for v in cells:
            made += (_text(_shown(v.value, v.status), decimal), v.status, v.reason or "")
        return made

    front = zip(*texts, strict=True) if texts else repeat((), len(cols.which))
    writer.writerows(map(add, front, cols.per_row(cell_fields)))
    return out.getvalue()


def to_csv_nl(answer: Answer) -> str:
    return to_csv(answer, dutch=True)


def _value_type(m: MeasureInfo) -> pa.DataType:
    import pyarrow as pa

    return pa.int64() if m.kind in INTEGRAL_KINDS else pa.float64()


def to_arrow(answer: Answer) -> pa.Table:
    """The tidy table with types: codes and labels strings, counts int64, other measures
    float64 (null when suppressed), statuses and reasons dictionary-encoded strings."""
    import pyarrow as pa

    total = _total_label(answer)
    arrays: list[pa.Array] = []
    fields: list[pa.Field] = []
    cols = row_columns(answer.rows, len(answer.drilldown))
    values = cols.per_row(lambda cells: cells)
    for i, item in enumerate(answer.drilldown):
        codes = cols.members[i]
        names = [total if c is None else lb for c, lb in zip(codes, cols.labels[i], strict=True)]
        arrays += [pa.array(codes, pa.string()), pa.array(names, pa.string())]
        meta = {"drilldown": item}
        fields += [
            pa.field(column_name(item), pa.string(), metadata=meta),
            pa.field(f"{column_name(item)}_label", pa.string(), metadata=meta),
        ]
    for j, m in enumerate(answer.measures):
        cells = [vs[j] for vs in values]
        shown = [_shown(v.value, v.status) for v in cells]
        kind = _value_type(m)
        if kind == pa.int64():
            shown = [None if x is None else round(x) for x in shown]
        meta = {"measure": m.id, "label": m.label, "unit": m.unit, "kind": m.kind}
        name = column_name(m.id)
        arrays += [
            pa.array(shown, kind),
            pa.array([v.status for v in cells], pa.string()).dictionary_encode(),
            pa.array([v.reason for v in cells], pa.string()).dictionary_encode(),
        ]
        fields += [
            pa.field(name, kind, metadata=meta),
            pa.field(f"{name}_status", pa.dictionary(pa.int32(), pa.string())),
            pa.field(f"{name}_reason", pa.dictionary(pa.int32(), pa.string())),
        ]
    schema = pa.schema(fields, metadata=_table_metadata(answer))
    return pa.Table.from_arrays(arrays, schema=schema)


def _table_metadata(answer: Answer) -> dict[str, str]:
    return {
        "zicht.cube": answer.query.cube,
        "zicht.release": answer.release,
        "zicht.query": json.dumps(query_to_dict(answer.query), separators=(",", ":")),
        "zicht.total_rows": str(answer.total_rows),
        "zicht.truncated": "true" if answer.truncated else "false",
    }


def to_arrow_ipc(answer: Answer) -> bytes:
    """Arrow IPC stream format (read with ``pyarrow.ipc.open_stream`` or DuckDB's arrow)."""
    import pyarrow as pa

    sink = io.BytesIO()
    table = to_arrow(answer)
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def to_parquet(answer: Answer) -> bytes:
    import pyarrow.parquet as pq

    sink = io.BytesIO()
    pq.write_table(to_arrow(answer), sink, compression="zstd")
    return sink.getvalue()
