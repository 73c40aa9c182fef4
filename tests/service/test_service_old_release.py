"""Rolling back to a release published before a cube was added: it opens and serves, and the
missing cube is a clear 404 (through the admin API and the command line)."""

from __future__ import annotations

import pytest

from cube.engine import Engine
from loaders.load import load_directory
from loaders.releases import current_release
from service.app import create_app
from service.cli import main
from service.settings import Settings
from tests.cube.cube_fixtures import SECRET, tables, write_tables
from tests.cube.test_cube_engine_releases import publish_without

ADMIN = {"Authorization": "Bearer old-token"}
COMPANIES = "/api/v1/cubes/companies"


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("old-release")
    old = publish_without(tmp, "companies", layout_version=None)
    new = load_directory(write_tables(tmp / "input", tables()), tmp / "home", secret=SECRET)
    return tmp / "home", old.id, new.id


def test_admin_rollback_to_a_release_without_a_cube(home):
    path, old, new = home
    main(["--home", str(path), "releases", "switch", new])
    app = create_app(Settings(home=str(path), admin_token="old-token", rate_limit_per_minute=0))
    client = app.test_client()
    try:
        assert client.get(COMPANIES).status_code == 200
        r = client.post("/api/v1/admin/releases/rollback", headers=ADMIN)
        assert r.status_code == 200 and r.json == {"serving": old, "previous": new}
        assert "companies" not in {c["id"] for c in client.get("/api/v1/cubes").json["cubes"]}
        for response in (
            client.get(COMPANIES),
            client.get(f"{COMPANIES}/aggregate?measures=companies&drilldown=region@gemeente"),
            client.get(f"{COMPANIES}/members/region?level=gemeente"),
        ):
            assert response.status_code == 404, response.json
            assert response.json["error_type"] == "cube_not_in_release"
            assert old in response.json["message"]
        ok = client.get(
            "/api/v1/cubes/drug_suspects/aggregate?measures=suspects&drilldown=residence@gemeente"
        )
        assert ok.status_code == 200
        back = client.post(f"/api/v1/admin/releases/{new}/activate", headers=ADMIN)
        assert back.status_code == 200 and client.get(COMPANIES).status_code == 200
    finally:
        app.extensions["zicht"].close()


def test_cli_rollback_to_a_release_without_a_cube(home, capsys):
    path, old, new = home
    assert main(["--home", str(path), "releases", "switch", new]) == 0
    assert main(["--home", str(path), "releases", "rollback"]) == 0
    assert capsys.readouterr().out.endswith(f"current release is now {old}\n")
    rel = current_release(path)
    assert rel is not None and rel.id == old
    engine = Engine.open(rel)
    try:
        assert "companies" in engine.catalog.absent and "population" in engine.catalog.cubes
    finally:
        engine.close()
