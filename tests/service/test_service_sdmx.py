"""SDMX over real HTTP, read by ``sdmx1`` with no hand work: for every cube its dataflow with
the structure (DSD, code lists, concepts), then its data as SDMX-CSV 2.0 and SDMX-JSON 1.0,
observation for observation equal to the JSON answer; version negotiation; code lists."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import sdmx

from tests.service.live_app import serving

SDMX = "/api/v1/sdmx"
CSV2 = "application/vnd.sdmx.data+csv;version=2.0.0"
JSON1 = "application/vnd.sdmx.data+json;version=1.0.0"
CONF = {"threshold": "A", "dominance": "T", "p_percent": "M", "secondary": "D", "derived": "D"}


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    with serving(tmp_path_factory.mktemp("sdmx")) as url:
        yield url


def fetch(url: str, accept: str | None = None) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        with e:
            return e.code, dict(e.headers), e.read()


def expected(base: str, cube: str, query: str) -> dict[tuple[str, ...], tuple]:
    """(dimension codes..., measure) → (value, OBS_STATUS, CONF_STATUS) from the JSON answer."""
    body = json.loads(fetch(f"{base}/api/v1/cubes/{cube}/aggregate?{query}")[2])
    out = {}
    for row in body["rows"]:
        members = tuple(row["members"].values())
        for mid, cell in row["cells"].items():
            status = {"safe": "A", "perturbed": "E", "suppressed": "O"}[cell["status"]]
            if cell["status"] != "suppressed" and cell["value"] is None:
                status = "M"  # a figure that does not exist: a rate or change over 0
            conf = CONF[cell["reason"]] if cell["status"] == "suppressed" else "F"
            out[(*members, mid)] = (cell["value"], status, conf)
    return out


def observed(message, drilled: list[str]) -> dict[tuple[str, ...], tuple]:
    out = {}
    for obs in message.data[0].obs:
        key = obs.dimension
        members = tuple(None if key[d].value == "_T" else key[d].value for d in drilled)
        value = None if obs.value in (None, "NaN") else float(obs.value)
        if value is not None and value != value:  # NaN read as a float
            value = None
        attrs = obs.attached_attribute
        out[(*members, key["MEASURE"].value)] = (
            value,
            str(attrs["OBS_STATUS"].value),
            str(attrs["CONF_STATUS"].value),
        )
    return out


def test_every_cube_reads_with_its_structure_in_sdmx1(base):
    cubes = json.loads(fetch(f"{base}/api/v1/cubes")[2])["cubes"]
    read = 0
    for cube in cubes:
        flow_id = cube["id"].upper()
        status, headers, xml = fetch(f"{base}{SDMX}/dataflow/ZICHT/{flow_id}/1.0?references=all")
        assert status == 200 and headers["Content-Type"].startswith(
            "application/vnd.sdmx.structure+xml"
        )
        structure = sdmx.read_sdmx(io.BytesIO(xml))
        flow = structure.dataflow[flow_id]
        dsd = structure.structure[f"DSD_{flow_id}"]
        assert flow.structure.id == dsd.id
        assert "CL_CONF_STATUS" in structure.codelist and "CL_REGION" in structure.codelist
        model = json.loads(fetch(f"{base}/api/v1/cubes/{cube['id']}")[2])
        region = next(d["id"] for d in model["dimensions"] if d["dimension"] == "region")
        measures = [m["id"] for m in model["measures"] if not m["components"]][:3]
        query = f"measures={','.join(measures)}&drilldown={region}@provincie,period@year"
        query += "&totals=grand"
        want = expected(base, cube["id"], query)
        drilled = [region.upper(), "TIME_PERIOD"]

        status, headers, csv2 = fetch(f"{base}{SDMX}/data/{flow_id}/all?{query}", CSV2)
        assert status == 200 and "version=2.0.0" in headers["Content-Type"]
        message = sdmx.read_sdmx(io.BytesIO(csv2), format="csv", structure=flow)
        got = observed(message, drilled)
        assert got == {k: (None if v[0] is None else float(v[0]), *v[1:]) for k, v in want.items()}

        status, _, js = fetch(f"{base}{SDMX}/data/ZICHT,{flow_id},1.0/all?{query}", JSON1)
        assert status == 200
        message = sdmx.read_sdmx(io.BytesIO(js), format="json")
        assert observed(message, drilled) == got

        codes = {dim.id: dim.local_representation for dim in dsd.dimensions}
        for obs in list(message.data[0].obs)[:50]:
            for dim_id, kv in obs.dimension.values.items():
                rep = codes[dim_id]
                if rep is not None and rep.enumerated is not None and dim_id != "MEASURE":
                    assert kv.value in structure.codelist[rep.enumerated.id], (dim_id, kv.value)
        read += len(got)
    assert read > 0


def test_versions_are_negotiated_or_refused(base):
    url = f"{base}{SDMX}/data/DRUG_SUSPECTS?measures=suspects&drilldown=period@year"
    status, headers, body = fetch(url)
    assert status == 200 and body.startswith(b"STRUCTURE,STRUCTURE_ID,ACTION,")
    status, headers, body = fetch(url, "application/vnd.sdmx.data+csv;version=1.0.0")
    assert status == 200 and body.startswith(b"DATAFLOW,") and "1.0.0" in headers["Content-Type"]
    for refused in (
        "application/vnd.sdmx.data+csv;version=3.0.0",
        "application/vnd.sdmx.data+json;version=2.0.0",
        "application/vnd.sdmx.data+xml;version=2.1",
    ):
        status, _, body = fetch(url, refused)
        assert status == 406 and json.loads(body)["error_type"] == "not_acceptable", refused
    agg = f"{base}/api/v1/cubes/drug_suspects/aggregate?measures=suspects"
    assert fetch(agg, "application/vnd.sdmx.data+csv;version=3.0.0")[0] == 406
    assert fetch(agg, "application/vnd.sdmx.data+csv;version=2.0")[2].startswith(b"STRUCTURE,")
    assert fetch(agg + "&format=sdmx-csv-1")[2].startswith(b"DATAFLOW,")


def test_structure_resources_follow_the_rest_conventions(base):
    status, _, xml = fetch(f"{base}{SDMX}/codelist/ZICHT/CL_CONF_STATUS/latest")
    codes = sdmx.read_sdmx(io.BytesIO(xml)).codelist["CL_CONF_STATUS"]
    assert {c.id for c in codes} == {"F", "A", "T", "M", "D", "C"}
    flows = fetch(f"{base}{SDMX}/dataflow")[2]
    message = sdmx.read_sdmx(io.BytesIO(flows))
    assert len(message.dataflow) == 6 and len(flows) < 20_000  # references=none: no codes
    assert all(len(dsd.dimensions) == 0 for dsd in message.structure.values())  # references
    message = sdmx.read_sdmx(
        io.BytesIO(fetch(f"{base}{SDMX}/datastructure/all/all/all?references=children")[2])
    )
    assert len(message.structure) == 6 and message.codelist
    status, _, body = fetch(f"{base}{SDMX}/dataflow/ZICHT/DRUG_SUSPECT")
    assert status == 404
    status, _, body = fetch(f"{base}{SDMX}/data/DRUG_SUSPECT")
    assert status == 404 and "did you mean 'DRUG_SUSPECTS'" in body.decode()
    status, _, body = fetch(f"{base}{SDMX}/data/DRUG_SUSPECTS/A.B.C")
    assert status == 400
    status, _, body = fetch(f"{base}{SDMX}/dataflow", "application/json")
    assert status == 406


def test_readme_sdmx_example_runs(base):
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```python\n(import io, urllib.request, sdmx\n.*?)```", readme, re.S)
    assert block, "the README shows how to read SDMX with sdmx1"
    scope: dict = {}
    with contextlib.redirect_stdout(io.StringIO()) as out:
        exec(block.group(1).replace("http://127.0.0.1:8000", base), scope)
    assert "CONF_STATUS" in out.getvalue() and len(scope["data"].data[0].obs) > 0


def test_a_data_query_by_sdmx_key_and_period(base):
    key = ".".join(["PV27+PV20"] + [""] * 7 + ["suspects+registrations", "2022+2023"])
    status, _, body = fetch(f"{base}{SDMX}/data/DRUG_SUSPECTS/{key}", JSON1)
    assert status == 200, body[:300]
    message = sdmx.read_sdmx(io.BytesIO(body), format="json")
    keys = {
        (
            o.dimension["RESIDENCE"].value,
            o.dimension["MEASURE"].value,
            o.dimension["TIME_PERIOD"].value,
        )
        for o in message.data[0].obs
    }
    assert keys == {
        (r, m, y)
        for r in ("PV27", "PV20")
        for m in ("suspects", "registrations")
        for y in ("2022", "2023")
    }
    query = "measures=suspects&drilldown=residence@provincie,period@year"
    query += "&cut=residence@provincie:PV27,PV20&cut=period@year:2022,2023"
    same = fetch(f"{base}{SDMX}/data/DRUG_SUSPECTS?{query}", JSON1)[2]
    by_params = observed(
        sdmx.read_sdmx(io.BytesIO(same), format="json"), ["RESIDENCE", "TIME_PERIOD"]
    )
    by_key = observed(message, ["RESIDENCE", "TIME_PERIOD"])
    assert {k: v for k, v in by_key.items() if k[-1] == "suspects"} == by_params
    period = fetch(f"{base}{SDMX}/data/DRUG_SUSPECTS?drilldown=period@year&startPeriod=2022", CSV2)[
        2
    ]
    assert b",2021," not in period and b",2022," in period
    for bad in ("GM0363", ".".join(["PV99"] + [""] * 9), ".".join(["PV27+GM0363"] + [""] * 9)):
        status, _, body = fetch(f"{base}{SDMX}/data/DRUG_SUSPECTS/{bad}")
        assert status == 400 and json.loads(body)["errors"][0]["location"] == "path.key", bad


def test_a_key_takes_the_codes_the_observations_carry(base):
    """``65_PLUS`` (the member ``65+``) and ``_T`` (the total) in a key, as the data name
    them: the oldest band's observations, and the total where the position is ``_T``."""

    def key(region: str = "", age: str = "") -> str:  # REGION.AGE.SEX...MEASURE.TIME_PERIOD
        return ".".join([region, age, *[""] * 5, "inhabitants", "2023"])

    oldest = fetch(f"{base}{SDMX}/data/POPULATION/{key(age='65_PLUS')}", CSV2)
    assert oldest[0] == 200, oldest[2][:300]
    rows = list(csv.DictReader(io.StringIO(oldest[2].decode())))
    assert {r["AGE"] for r in rows} == {"65_PLUS"} and len(rows) == 1
    query = "measures=inhabitants&drilldown=age@broad&cut=age@broad:65%2B&cut=period@year:2023"
    assert [v[0] for v in expected(base, "population", query).values()] == [
        float(rows[0]["OBS_VALUE"])
    ]
    total = fetch(f"{base}{SDMX}/data/POPULATION/{key('_T', '_T')}", CSV2)
    assert total[0] == 200 and total[2] == fetch(f"{base}{SDMX}/data/POPULATION/{key()}", CSV2)[2]
    both = fetch(f"{base}{SDMX}/data/POPULATION/{key(age='_T+65_PLUS')}")
    assert both[0] == 400 and json.loads(both[2])["errors"][0]["location"] == "path.key"


def test_sdmx_takes_one_level_per_role(base):
    url = f"{base}/api/v1/cubes/drug_suspects/aggregate?measures=suspects"
    url += "&drilldown=residence@provincie,residence@gemeente"
    assert fetch(url + "&format=csv")[0] == 200
    for _ in range(2):  # the second time the answer is cached: the fast path must refuse too
        status, _, body = fetch(url + "&format=sdmx-csv")
        assert status == 406 and json.loads(body)["errors"][0]["location"] == "drilldown"
    data = f"{base}{SDMX}/data/DRUG_SUSPECTS?drilldown=residence@provincie,residence@gemeente"
    assert fetch(data)[0] == 406
