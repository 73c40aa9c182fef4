"""The README's first queries run as written (CLI and HTTP), on a small real release."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from service.app import create_app
from service.cli import main
from service.settings import Settings
from tests.cube.cube_fixtures import build_release

README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    return build_release(tmp_path_factory.mktemp("readme"))


def test_the_two_commands_come_first():
    first_block = README.split("```")[1]
    assert "make run" in first_block and "make test" in first_block


def test_readme_cli_query_runs(release, capsys):
    found = re.search(r"zicht query '(\{.*?\})'", README, re.S)
    assert found, "the README shows a zicht query"
    body = json.loads(found.group(1))
    home = str(release.path.parents[1])
    assert main(["--home", home, "query", json.dumps(body)]) == 0
    out = capsys.readouterr().out
    assert "residence@provincie" in out and "x = suppressed" in out


def test_readme_http_query_runs(release):
    url = re.search(r"curl '(http://127\.0\.0\.1:8000[^']+)'", README).group(1)
    parts = urlsplit(url)
    app = create_app(Settings(home=str(release.path.parents[1]), rate_limit_per_minute=0))
    try:
        r = app.test_client().get(f"{parts.path}?{parts.query}")
        assert r.status_code == 200, r.get_data(as_text=True)[:300]
        assert r.headers["Content-Type"].startswith("text/csv")
    finally:
        app.extensions["zicht"].close()
