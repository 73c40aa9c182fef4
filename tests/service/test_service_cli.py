"""`zicht` start-up: every sub-command listed, and `zicht query` answering without importing the
loader's, Arrow's, the web framework's or the LP solver's packages (each one a tenth of a
second or more before the first answer). The imports are checked in a fresh process; no time
is measured here (``bench/startup.py`` does)."""

from __future__ import annotations

import os

import pytest

from bench.startup import HEAVY, heavy_imports
from service.cli import COMMANDS, build_parser, chosen
from tests.cube.cube_fixtures import build_release

QUERY = {"cube": "drug_suspects", "measures": ["suspects"], "drilldown": ["residence@provincie"]}


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return str(build_release(tmp_path_factory.mktemp("cli")).path.parent.parent)


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.getcwd(), "ZICHT_CONFIG": ""}


def test_query_imports_none_of_the_heavy_packages(home):
    first = heavy_imports(home, QUERY, "json", env=_env())
    assert first["exit"] == 0
    # compiles SQL, parses the model (and keeps both)
    assert set(first["heavy"]) <= {"ibis", "sqlglot", "yaml"}, first["heavy"]
    # the next process reads the SQL the first one compiled (cube/sqlcache.py), the model and
    # members it read (cube/opened.py)
    again = heavy_imports(home, QUERY, "json", env=_env())
    assert again["exit"] == 0
    assert again["heavy"] == [], again["heavy"]
    other = {
        **QUERY,
        "cuts": [{"dimension": "residence", "level": "provincie", "members": ["PV27"]}],
    }
    first_cut = heavy_imports(home, other, "json", env=_env())
    assert first_cut["exit"] == 0
    other["cuts"][0]["members"] = ["PV20", "PV27"]  # the same shape, other members
    again_cut = heavy_imports(home, other, "json", env=_env())
    assert again_cut["exit"] == 0
    assert again_cut["heavy"] == [], again_cut["heavy"]


def test_the_check_sees_a_heavy_import(home):
    # an answer as Parquet needs pyarrow: the same check sees it
    result = heavy_imports(home, QUERY, "parquet", env=_env())
    assert result["exit"] == 0
    assert "pyarrow" in result["heavy"]


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_lists_its_options_when_run(name):
    full = build_parser().format_help()
    assert name in full
    sub = build_parser(name)._subparsers._group_actions[0].choices[name]  # type: ignore[union-attr]
    options = {a.dest for a in sub._actions}
    assert options - {"help"}, f"{name} has no options of its own"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["query", "{}"], "query"),
        (["--home", "/x", "demo"], "demo"),
        (["--home=/x", "serve"], "serve"),
        (["--home", "query", "releases"], "releases"),  # a home called "query"
        (["--help"], None),
        (["-h", "query"], None),
        ([], None),
        (["nonsense"], None),
    ],
)
def test_the_command_is_found_as_argparse_finds_it(argv, expected):
    assert chosen(argv) == expected


def test_heavy_list_names_the_packages_of_the_issue():
    assert {"pandas", "pyarrow", "shapely", "ibis"} <= set(HEAVY)


def test_query_keeps_openblas_to_one_thread_unless_told(home, monkeypatch, capsys):
    import json

    from service.cli import main

    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "")  # recorded, so the end restores it
    monkeypatch.delenv("OPENBLAS_NUM_THREADS")
    assert main(["--home", home, "query", json.dumps(QUERY), "--format", "json"]) == 0
    assert os.environ["OPENBLAS_NUM_THREADS"] == "1"
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    assert main(["--home", home, "query", json.dumps(QUERY), "--format", "json"]) == 0
    assert os.environ["OPENBLAS_NUM_THREADS"] == "2"  # the user's choice stands
    capsys.readouterr()


def test_query_says_why_a_backend_cannot_open_without_a_traceback(home, monkeypatch, capsys):
    import json

    from service.cli import main

    monkeypatch.setenv("ZICHT_BACKEND", "datafusion")  # this release has no export to read
    code = main(["--home", home, "query", json.dumps(QUERY), "--format", "json"])
    err = capsys.readouterr().err
    assert code != 0
    assert "could not be opened" in err and "export" in err
    assert "Traceback" not in err
