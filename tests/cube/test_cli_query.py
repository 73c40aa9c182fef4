"""`zicht query` on a real release: table, CSV, errors (exit 2, every problem, no trace)."""

from __future__ import annotations

import json

from service.cli import main


def _home(release):
    return str(release.path.parent.parent)


def test_query_prints_a_table_with_labels_and_a_legend(release, capsys):
    q = {"cube": "drug_suspects", "measures": ["suspects"], "drilldown": ["residence@buurt"]}
    assert main(["--home", _home(release), "query", json.dumps(q)]) == 0
    out = capsys.readouterr().out
    assert "Regio: Buurt" in out and "Verdachten" in out  # labels head the columns
    assert "residence@buurt" in out and "suspects (persons)" in out  # ids below them
    assert "x = suppressed (geheim)" in out and "perturbed (cell key noise)" in out


def test_query_shows_a_figure_that_does_not_exist_as_a_dot_and_says_so(release, capsys):
    # the change in the release's first year (2021) on a year it does not hold: no figure
    q = {
        "cube": "drug_suspects",
        "measures": ["suspects", "change_suspects"],
        "drilldown": ["residence@buurt"],
        "cuts": [{"dimension": "period", "level": "year", "members": ["2021"]}],
    }
    assert main(["--home", _home(release), "query", json.dumps(q)]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if "│" in line]  # the data rows
    changes = [line.rsplit("│", 1)[1].strip() for line in rows]
    dots = changes.count(".")
    assert dots and set(changes) <= {".", "x"}, changes
    assert f". = no figure (division by 0): {dots} cells" in out


def test_query_table_numbers_thousands_and_x(release, capsys):
    q = {
        "cube": "dwellings",
        "measures": ["woz_total"],
        "drilldown": ["region@provincie", "period@year"],
        "totals": "grand",
    }
    assert main(["--home", _home(release), "query", json.dumps(q)]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if "│" in line][2:]
    values = [line.rsplit("│", 1)[1] for line in rows]
    assert values and all(v == v.rstrip() or v.strip() == "" for v in values)  # right-aligned
    shown = [v.strip() for v in values if v.strip() not in ("", "x")]
    assert any("." in v for v in shown), shown  # Dutch thousands separators (1.234.567)
    assert not any("e+" in v for v in shown)  # never scientific notation
    assert "Totaal" in out


def test_query_goes_through_the_service_settings_and_audit(release, capsys, monkeypatch):
    home = _home(release)
    q = {"cube": "drug_suspects", "measures": ["registrations"], "drilldown": ["period@year"]}
    monkeypatch.setenv("ZICHT_QUERY_TIMEOUT_S", "0")
    assert main(["--home", home, "query", json.dumps(q)]) == 2
    assert "query_timeout_s" in capsys.readouterr().err  # the setting is read (and checked)
    monkeypatch.setenv("ZICHT_MAX_CELLS", "1")
    monkeypatch.delenv("ZICHT_QUERY_TIMEOUT_S")
    assert main(["--home", home, "query", json.dumps(q)]) == 2
    assert "too many cells" in capsys.readouterr().err.lower()
    monkeypatch.delenv("ZICHT_MAX_CELLS")
    assert main(["--home", home, "query", json.dumps(q)]) == 0
    audit = sorted((release.path.parents[1] / "audit").glob("*.jsonl"))
    last = json.loads(audit[-1].read_text(encoding="utf-8").splitlines()[-1])
    assert last["client"].startswith("cli:") and last["cube"] == "drug_suspects"


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
