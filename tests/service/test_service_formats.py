"""Serialisers: JSON, tidy CSV (plain and Dutch), Arrow/Parquet, SDMX-CSV, StatLine long JSON."""

from __future__ import annotations

import csv
import io
import json
import math

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cube.query import Query
from cube.result import Answer, MeasureInfo, Row, Summary, Value
from service.formats import (
    cbs_period,
    content_disposition,
    render,
    to_json,
)
from service.sdmx import (
    MEASURE,
    TOTAL,
    dimension_id,
    dimensions,
    measure_code,
    observations,
    sdmx_code,
    to_csv1,
    to_csv2,
    to_json1,
)
from service.tidy import column_name, to_csv, to_csv_nl
from tests.service.answer_cases import answers

Q = Query(
    "drug_suspects",
    ("suspects", "share"),
    ("residence@gemeente", "period@quarter"),
    totals="margins",
)
M = (
    MeasureInfo("suspects", "Verdachten", "persons", "count"),
    MeasureInfo("share", "Aandeel", "%", "share"),
)
ANSWER = Answer(
    query=Q,
    release="r1",
    drilldown=Q.drilldown,
    measures=M,
    rows=(
        Row(
            ("GM0363", "2023-Q1"),
            ("Amsterdam", "2023 1e kwartaal"),
            (Value(120.0, "perturbed"), Value(12.5, "safe")),
        ),
        Row(
            ("GM0599", "2023-Q1"),
            ("Rotterdam", "2023 1e kwartaal"),
            (Value(None, "suppressed", "threshold"), Value(None, "suppressed", "derived")),
        ),
        Row(
            (None, "2023-Q1"),
            (None, "2023 1e kwartaal"),
            (Value(200.0, "perturbed"), Value(None, "suppressed", "secondary")),
        ),
    ),
    total_rows=3,
    truncated=False,
    summary=Summary(
        "default",
        6,
        {"perturbed": 2, "safe": 1, "suppressed": 3},
        {"derived": 1, "secondary": 1, "threshold": 1},
    ),
)


def test_cbs_period_codes():
    assert [cbs_period(c) for c in ("2023", "2023-Q4", "2023-11", "other")] == [
        "2023JJ00",
        "2023KW04",
        "2023MM11",
        "other",
    ]


def test_json_rows_and_cells():
    body = to_json(ANSWER)
    first, suppressed, total = body["rows"]
    assert first["cells"]["suspects"] == {"value": 120, "status": "perturbed", "reason": None}
    assert suppressed["cells"]["suspects"] == {
        "value": None,
        "status": "suppressed",
        "reason": "threshold",
    }
    assert total["members"] == {"residence@gemeente": None, "period@quarter": "2023-Q1"}
    assert body["query"]["cuts"] == [] and body["truncated"] is False


def test_csv_tidy_value_status_reason_and_totals():
    rows = list(csv.reader(io.StringIO(to_csv(ANSWER))))
    assert rows[0] == [
        "residence_gemeente",
        "residence_gemeente_label",
        "period_quarter",
        "period_quarter_label",
        "suspects",
        "suspects_status",
        "suspects_reason",
        "share",
        "share_status",
        "share_reason",
    ]
    assert rows[1][4:] == ["120", "perturbed", "", "12.5", "safe", ""]
    assert rows[2][4:7] == ["", "suppressed", "threshold"]
    assert rows[3][:2] == ["", "Totaal"]


def test_csv_dutch_dialect_semicolon_decimal_comma_bom():
    text = to_csv_nl(ANSWER)
    assert text.startswith("\ufeffresidence_gemeente;")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert rows[1][4:] == ["120", "perturbed", "", "12,5", "safe", ""]


def test_column_names_are_plain_identifiers():
    for name in ("residence@gemeente", "population.inhabitants", "9lives"):
        assert column_name(name).isidentifier() and column_name(name).islower()


@pytest.mark.parametrize("fmt", ["arrow", "parquet"])
def test_arrow_and_parquet_keep_types_and_nulls(fmt):
    data = render(ANSWER, fmt)
    if fmt == "arrow":
        table = pa.ipc.open_stream(io.BytesIO(data)).read_all()
    else:
        table = pq.read_table(io.BytesIO(data))
    assert table.schema.field("suspects").type == pa.int64()
    assert table.schema.field("share").type == pa.float64()
    assert table.column("suspects").to_pylist() == [120, None, 200]
    assert table.column("suspects_status").to_pylist() == ["perturbed", "suppressed", "perturbed"]
    assert table.column("suspects_reason").to_pylist() == [None, "threshold", None]
    assert table.column("residence_gemeente").to_pylist() == ["GM0363", "GM0599", None]
    assert table.schema.metadata[b"zicht.release"] == b"r1"
    assert table.schema.field("suspects").metadata[b"unit"] == b"persons"


def test_content_disposition_names_the_file():
    assert content_disposition(Q, "20250102T000000Z-bbbbbbbb", "json") is None
    header = content_disposition(Q, "20250102T000000Z-bbbbbbbb", "csv-nl")
    assert header == (
        'attachment; filename="zicht_drug_suspects_suspects_share_by_residence_gemeente_'
        'period_quarter_20250102T000000Z_nl.csv"'
    )


def test_sdmx_csv_2_with_status_from_the_sdmx_code_lists():
    rows = list(csv.DictReader(io.StringIO(to_csv2(ANSWER, ("residence", "period", "age")))))
    assert list(rows[0]) == [
        "STRUCTURE",
        "STRUCTURE_ID",
        "ACTION",
        "RESIDENCE",
        "AGE",
        "MEASURE",
        "TIME_PERIOD",
        "OBS_VALUE",
        "OBS_STATUS",
        "CONF_STATUS",
    ]
    assert len(rows) == 6 and rows[0]["STRUCTURE_ID"] == "ZICHT:DRUG_SUSPECTS(1.0)"
    assert rows[0]["AGE"] == "_T" and rows[4]["RESIDENCE"] == "_T"
    statuses = [(r["OBS_VALUE"], r["OBS_STATUS"], r["CONF_STATUS"]) for r in rows]
    assert statuses == [
        ("120", "E", "F"),  # perturbed: estimated, free
        ("12.5", "A", "F"),  # safe: normal, free
        ("NaN", "O", "A"),  # threshold: primary confidentiality, small counts
        ("NaN", "O", "D"),  # derived from a suppressed component: secondary
        ("200", "E", "F"),
        ("NaN", "O", "D"),  # secondary suppression
    ]


def test_sdmx_csv_1_and_json_1():
    rows = list(csv.DictReader(io.StringIO(to_csv1(ANSWER))))
    assert list(rows[0])[:4] == ["DATAFLOW", "RESIDENCE", "MEASURE", "TIME_PERIOD"]
    assert rows[2]["OBS_VALUE"] == "NaN" and rows[2]["CONF_STATUS"] == "A"
    body = to_json1(ANSWER)
    dims = body["structure"]["dimensions"]["observation"]
    assert [d["id"] for d in dims] == ["RESIDENCE", "MEASURE", "TIME_PERIOD"]
    observations = body["dataSets"][0]["observations"]
    assert len(observations) == 6 and observations["0:0:0"][0] == 120
    assert observations["1:0:0"][0] is None


def test_statline_long_format():
    value = json.loads(render(ANSWER, "statline"))["value"]
    assert value == _statline_dicts(ANSWER)["value"]
    assert len(value) == 6 and [v["Id"] for v in value] == list(range(6))
    assert value[0] == {
        "Id": 0,
        "Measure": "suspects",
        "ValueAttribute": "None",
        "Value": 120,
        "residence": "GM0363",
        "period": "2023KW01",
    }
    assert value[2]["Value"] is None and value[2]["ValueAttribute"] == "Confidential"


def test_a_figure_that_does_not_exist_is_told_apart_from_a_suppressed_one():
    # a share over a published 0 (value null, status safe) next to a suppressed share
    answer = Answer(
        query=Q,
        release="r",
        drilldown=Q.drilldown,
        measures=M,
        rows=(
            Row(("GM0363", "2023-Q1"), ("A", "B"), (Value(0.0, "safe"), Value(None, "safe"))),
            Row(
                ("GM0599", "2023-Q1"),
                ("C", "B"),
                (Value(None, "suppressed", "threshold"), Value(None, "suppressed", "derived")),
            ),
        ),
        total_rows=2,
        truncated=False,
        summary=Summary("default", 4, {"safe": 2, "suppressed": 2}, {"derived": 1, "threshold": 1}),
    )
    rows = csv.DictReader(io.StringIO(to_csv2(answer, ("residence", "period"))))
    sdmx = [(r["MEASURE"], r["OBS_VALUE"], r["OBS_STATUS"], r["CONF_STATUS"]) for r in rows]
    assert sdmx == [
        ("suspects", "0", "A", "F"),
        ("share", "NaN", "M", "F"),  # missing: cannot exist; free
        ("suspects", "NaN", "O", "A"),
        ("share", "NaN", "O", "D"),
    ]
    statline = json.loads(render(answer, "statline"))["value"]
    assert [(v["Value"], v["ValueAttribute"]) for v in statline] == [
        (0, "None"),
        (None, "None"),
        (None, "Confidential"),
        (None, "Confidential"),
    ]
    tidy = list(csv.DictReader(io.StringIO(to_csv(answer))))
    assert [(r["share"], r["share_status"], r["share_reason"]) for r in tidy] == [
        ("", "safe", ""),
        ("", "suppressed", "derived"),
    ]


@pytest.mark.parametrize(
    "fmt", ["csv", "csv-nl", "arrow", "parquet", "sdmx-csv", "sdmx-csv-1", "sdmx-json", "statline"]
)
def test_suppressed_value_is_never_written_even_if_present(fmt):
    leaky = Answer(
        query=Q,
        release="r",
        drilldown=Q.drilldown,
        measures=M,
        rows=(
            Row(
                ("GM0363", "2023-Q1"),
                ("A", "B"),
                (Value(4242.0, "suppressed", "threshold"), Value(4343.0, "suppressed", "derived")),
            ),
        ),
        total_rows=1,
        truncated=False,
        summary=Summary("default", 2, {"suppressed": 2}, {"derived": 1, "threshold": 1}),
    )
    if fmt in ("arrow", "parquet"):
        table = pa.ipc.open_stream(render(leaky, fmt)) if fmt == "arrow" else None
        table = table.read_all() if table else pq.read_table(io.BytesIO(render(leaky, fmt)))
        assert table.column("suspects").to_pylist() == [None]
        assert table.column("share").to_pylist() == [None]
    else:
        assert b"4242" not in render(leaky, fmt) and b"4343" not in render(leaky, fmt)
    assert "4242" not in str(to_json(leaky)) and b"4242" not in render(leaky, "json")


@settings(max_examples=300, deadline=None)
@given(answers())
def test_json_is_written_byte_for_byte_as_its_dictionaries_dump(answer):
    want = json.dumps(to_json(answer), separators=(",", ":")).encode()
    assert render(answer, "json") == want


def _statline_dicts(answer: Answer) -> dict:
    """The StatLine form as dictionaries, row by row (what ``statline_bytes`` writes)."""
    value = []
    for row in answer.rows:
        dims = {}
        for item, code in zip(answer.drilldown, row.members, strict=True):
            role = item.partition("@")[0]
            dims[role] = cbs_period(code) if role == "period" and code else code
        for m, v in zip(answer.measures, row.values, strict=True):
            shown = None if v.status == "suppressed" else _plain_number(v.value)
            attribute = "Confidential" if v.status == "suppressed" else "None"
            cell = {"Measure": m.id, "ValueAttribute": attribute, "Value": shown, **dims}
            value.append({"Id": len(value), **cell})
    return {"release": answer.release, "cube": answer.query.cube, "value": value}


def _plain_number(x: float | None) -> float | int | None:
    if x is None or math.isnan(x):
        return None
    return int(x) if x.is_integer() else x


@settings(max_examples=300, deadline=None)
@given(answers())
def test_statline_is_written_byte_for_byte_as_its_dictionaries_dump(answer):
    want = json.dumps(_statline_dicts(answer), separators=(",", ":")).encode()
    assert render(answer, "statline") == want


def test_json_of_the_fixed_answer_is_its_dictionaries():
    assert json.loads(render(ANSWER, "json")) == to_json(ANSWER)


def _number_text(v: Value, decimal: str) -> str:
    if v.status == "suppressed" or v.value is None or math.isnan(v.value):
        return ""
    text = str(int(v.value)) if v.value.is_integer() else repr(v.value)
    return text.replace(".", decimal)


@settings(max_examples=200, deadline=None)
@given(answers(), st.booleans())
def test_csv_has_per_row_a_code_label_and_value_status_reason_per_measure(answer, dutch):
    text = render(answer, "csv-nl" if dutch else "csv").decode("utf-8-sig")
    got = list(csv.reader(io.StringIO(text, newline=""), delimiter=";" if dutch else ","))
    want = []
    for row in answer.rows:
        line = []
        for code, label in zip(row.members, row.labels, strict=True):
            line += [code or "", "Totaal" if code is None else label or ""]
        for v in row.values:
            line += [_number_text(v, "," if dutch else "."), v.status, v.reason or ""]
        want.append(line)
    assert got[1:] == want and len(got[0]) == 2 * len(answer.drilldown) + 3 * len(answer.measures)


def _observations_row_by_row(answer, roles):
    """The rule read row by row: every dimension ``_T`` unless an item of its role has a
    code in the row (a later item's over an earlier one's), the measure's code, the value."""
    dims = dimensions(roles or [item.partition("@")[0] for item in answer.drilldown])
    for row in answer.rows:
        key = dict.fromkeys(dims, TOTAL)
        for item, code in zip(answer.drilldown, row.members, strict=True):
            role, _, level = item.partition("@")
            if code is not None and dimension_id(role) in key:
                key[dimension_id(role)] = sdmx_code(level, code)
        for m, v in zip(answer.measures, row.values, strict=True):
            yield tuple({**key, MEASURE: measure_code(m.id)}[d] for d in dims), v


@settings(max_examples=300, deadline=None)
@given(answers(), st.sampled_from([(), ("region", "period", "sex")]))
def test_observations_from_columns_follow_the_rows(answer, roles):
    got = list(observations(answer, roles, lambda v: v))
    assert got == list(_observations_row_by_row(answer, roles))
