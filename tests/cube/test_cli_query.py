"""`zicht query` on a real release: table, CSV, errors (exit 2, every problem, no trace)."""

from __future__ import annotations

import json

from service.cli import main


def _home(release):
    return str(release.path.parent.parent)


def test_query_prints_a_table_with_x_for_suppressed(release, capsys):
    q = {"cube": "drug_suspects", "measures": ["suspects"], "drilldown": ["residence@buurt"]}
    assert main(["--home", _home(release), "query", json.dumps(q)]) == 0
    out = capsys.readouterr().out
    assert "residence@buurt" in out and "suspects" in out
    assert " x" in out and "x = suppressed" in out


def test_query_csv_from_file(release, capsys, tmp_path):
    path = tmp_path / "q.json"
    path.write_text(
        json.dumps(
            {
                "cube": "population",
                "measures": ["inhabitants"],
                "drilldown": ["region@gemeente", "period@year"],
            }
        )
    )
    assert main(["--home", _home(release), "query", f"@{path}", "--format", "csv"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 + 3 * 2  # header + three gemeenten x two years


def test_query_errors_list_every_problem(release, capsys):
    q = {"cube": "drug_suspects", "measures": ["nope"], "drilldown": ["colour@hue"]}
    assert main(["--home", _home(release), "query", json.dumps(q)]) == 2
    err = capsys.readouterr().err
    assert "measures[0]" in err and "drilldown[0]" in err and "Traceback" not in err


def test_query_bad_json(release, capsys):
    assert main(["--home", _home(release), "query", "{nope"]) == 2
    assert "not valid JSON" in capsys.readouterr().err
