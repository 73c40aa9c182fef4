"""Serialisers: JSON, CSV, SDMX-CSV (NaN + CONF_STATUS C), StatLine long JSON with CBS periods."""

from __future__ import annotations

import csv
import io
import math

import pytest

from cube.query import Query
from cube.result import Answer, MeasureInfo, Row, Value
from service.formats import cbs_period, to_csv, to_json, to_sdmx_csv, to_statline

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
    report={"cells": 6},
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


def test_csv_wide_with_x_and_totals():
    rows = list(csv.reader(io.StringIO(to_csv(ANSWER))))
    assert rows[0] == [
        "residence@gemeente",
        "residence@gemeente_label",
        "period@quarter",
        "period@quarter_label",
        "suspects",
        "suspects_status",
        "share",
        "share_status",
    ]
    assert rows[2][4:6] == ["x", "suppressed:threshold"]
    assert rows[3][:2] == ["", "Totaal"]


def test_sdmx_csv_nan_and_conf_status():
    rows = list(csv.DictReader(io.StringIO(to_sdmx_csv(ANSWER))))
    assert list(rows[0]) == [
        "DATAFLOW",
        "RESIDENCE",
        "TIME_PERIOD",
        "MEASURE",
        "OBS_VALUE",
        "CONF_STATUS",
    ]
    assert len(rows) == 6
    assert rows[0]["OBS_VALUE"] == "120" and rows[0]["CONF_STATUS"] == "F"
    secret = [r for r in rows if r["CONF_STATUS"] == "C"]
    assert len(secret) == 3 and all(math.isnan(float(r["OBS_VALUE"])) for r in secret)
    assert rows[4]["RESIDENCE"] == "_T" and rows[0]["DATAFLOW"] == "ZICHT:DRUG_SUSPECTS(1.0)"


def test_statline_long_format():
    value = to_statline(ANSWER)["value"]
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


@pytest.mark.parametrize("fn", [to_csv, to_sdmx_csv])
def test_suppressed_value_is_never_written_even_if_present(fn):
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
        report={},
    )
    assert "4242" not in fn(leaky) and "4343" not in fn(leaky)
    assert "4242" not in str(to_json(leaky)) and "4242" not in str(to_statline(leaky))
