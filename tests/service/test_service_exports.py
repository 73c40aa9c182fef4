"""Tidy CSV, Arrow and Parquet read by pandas and DuckDB with their types, for every cube,
over real HTTP; the README's pandas one-liners run as written."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import urllib.request
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from tests.service.live_app import serving

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    with serving(tmp_path_factory.mktemp("exports")) as url:
        yield url


def fetch(url: str) -> tuple[bytes, dict[str, str]]:
    with urllib.request.urlopen(url, timeout=60) as r:
        return r.read(), dict(r.headers)


def cube_queries(base: str) -> list[tuple[str, str, list[dict]]]:
    """Per cube: an aggregate URL for its first three measures by its first role's default
    level and year, and those measures' metadata."""
    cubes = json.loads(fetch(f"{base}/api/v1/cubes")[0])["cubes"]
    out = []
    for c in cubes:
        model = json.loads(fetch(f"{base}/api/v1/cubes/{c['id']}")[0])
        measures = model["measures"][:3]
        role = model["dimensions"][0]["id"]
        url = f"{base}/api/v1/cubes/{c['id']}/aggregate?measures="
        url += ",".join(m["id"] for m in measures) + f"&drilldown={role},period@year&totals=grand"
        out.append((c["id"], url, measures))
    return out


def test_every_cube_loads_with_numeric_values_in_pandas_and_duckdb(base, tmp_path):
    checked = 0
    for cube, url, measures in cube_queries(base):
        data, headers = fetch(url + "&format=csv")
        assert headers["Content-Disposition"].startswith(f'attachment; filename="zicht_{cube}_')
        frame = pd.read_csv(io.BytesIO(data))
        parquet = pd.read_parquet(io.BytesIO(fetch(url + "&format=parquet")[0]))
        arrow = pa.ipc.open_stream(fetch(url + "&format=arrow")[0]).read_all().to_pandas()
        nl = pd.read_csv(io.BytesIO(fetch(url + "&format=csv-nl")[0]), sep=";", decimal=",")
        path = tmp_path / f"{cube}.parquet"
        path.write_bytes(fetch(url + "&format=parquet")[0])
        types = {r[0]: r[1] for r in duckdb.sql(f"DESCRIBE SELECT * FROM '{path}'").fetchall()}
        for m in measures:
            name = m["id"]
            assert pd.api.types.is_numeric_dtype(frame[name]), (cube, name)
            assert pd.api.types.is_numeric_dtype(nl[name]), (cube, name)
            assert pd.api.types.is_numeric_dtype(parquet[name]), (cube, name)
            expected = "BIGINT" if m["kind"] == "count" else "DOUBLE"
            assert types[name] == expected, (cube, name, types[name])
            assert set(frame[f"{name}_status"]) <= {"safe", "perturbed", "suppressed"}
            hidden = frame[f"{name}_status"] == "suppressed"
            assert frame.loc[hidden, name].isna().all() and parquet.loc[hidden, name].isna().all()
            assert (frame[name].fillna(-1) == parquet[name].fillna(-1)).all()
            assert (nl[name].fillna(-1).round(6) == frame[name].fillna(-1).round(6)).all()
            assert (arrow[name].fillna(-1) == parquet[name].fillna(-1)).all()
            checked += 1
    assert checked >= 12


def test_readme_pandas_one_liners_run(base):
    block = re.search(r"```python\n(import pandas as pd\n.*?)```", README, re.S)
    assert block, "the README shows how to read an export with pandas"
    code = block.group(1).replace("http://127.0.0.1:8000", base)
    scope: dict = {}
    exec(code, scope)
    df = scope["df"]
    assert list(df.columns[:4]) == [
        "residence_gemeente",
        "residence_gemeente_label",
        "period_year",
        "period_year_label",
    ]
    assert str(df["suspects"].dtype) == "Int64" or pd.api.types.is_integer_dtype(df["suspects"])


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="R is not installed")
def test_readme_r_one_liner_reads_numbers_in_r(base, tmp_path):
    block = re.search(r"```r\n(.*?)```", README, re.S)
    assert block, "the README shows how to read an export in R"
    script = block.group(1).replace("http://127.0.0.1:8000", base)
    script += 'nl <- read.csv2(paste0(url, "&format=csv-nl"), fileEncoding = "UTF-8-BOM")\n'
    script += 'cat(sapply(df, class)[c("suspects", "suspects_status", "period_year")], sep = ",")\n'
    script += (
        'cat("\\n", names(nl)[1], class(nl$suspects), '
        "all(nl$suspects == df$suspects, na.rm = TRUE), "
        'sum(is.na(df$suspects)) == sum(df$suspects_status == "suppressed"), sep = ",")\n'
    )
    path = tmp_path / "read.R"
    path.write_text(script, encoding="utf-8")
    out = subprocess.run(["Rscript", str(path)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-500:]
    types, checks = out.stdout.strip().splitlines()
    assert types == "integer,character,character"
    assert checks == ",residence_gemeente,integer,TRUE,TRUE"
