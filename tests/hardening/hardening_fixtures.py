"""Shared pieces of the hardening suites: a real release whose microdata the tests can read,
the app on it, and the true counts an attacker is trying to learn.

The release is the cube-engine test load (three gemeenten, seven buurten, three years of
drug suspects) built by the real loader: small enough to build in seconds, with many cells
below the threshold, which is what the attacks need.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from service.app import create_app
from service.settings import Settings
from tests.cube.cube_fixtures import build_release

TOKEN = "hardening-admin-token-5f1c9e"
AGG = "/api/v1/cubes/{cube}/aggregate"


def release_and_home(tmp: Path) -> tuple[Any, Path]:
    release = build_release(tmp)
    return release, release.path.parent.parent


def make_app(home: Path, **overrides: Any) -> Any:
    values: dict[str, Any] = {
        "home": str(home),
        "admin_token": TOKEN,
        "rate_limit_per_minute": 0,
        "release_poll_s": 0,
    }
    values.update(overrides)
    return create_app(Settings(**values))


@contextmanager
def running_app(home: Path, **overrides: Any) -> Iterator[Any]:
    app = make_app(home, **overrides)
    try:
        yield app
    finally:
        app.extensions["zicht"].close()


def post(client: Any, body: dict[str, Any], cube: str = "drug_suspects", **kw: Any) -> Any:
    response = client.post(AGG.format(cube=cube), json=body, **kw)
    assert response.status_code == 200, (body, response.get_data(as_text=True)[:300])
    return response.json


def admin(client: Any, path: str) -> Any:
    response = client.get(f"/api/v1/admin/{path}", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    return response.json


class Truth:
    """The true (unprotected) counts, read straight from the release's fact tables."""

    def __init__(self, db_path: Path):
        self.con = duckdb.connect(str(db_path), read_only=True)
        rows = self.con.execute("SELECT level, id, code FROM region").fetchall()
        self.region_code = {(level, rid): code for level, rid, code in rows}
        self.region_id = {(level, code): rid for level, rid, code in rows}

    def close(self) -> None:
        self.con.close()

    def counts(
        self, table: str, expr: str, by: tuple[str, ...], where: str = "TRUE"
    ) -> dict[tuple[str, ...], int]:
        """``expr`` per combination of ``by`` columns, keyed by published member codes.

        ``by`` names fact columns (``residence_gemeente``, ``year``, ``drug_type``); region
        ids become CBS codes so keys match the answer's members.
        """
        cols = ", ".join(f'"{c}"' for c in by)
        sql = f"SELECT {cols}{', ' if by else ''}{expr} FROM {table} WHERE {where}"
        sql += f" GROUP BY {cols}" if by else ""
        out: dict[tuple[str, ...], int] = {}
        for row in self.con.execute(sql).fetchall():
            key = tuple(self._code(c, v) for c, v in zip(by, row[:-1], strict=True))
            out[key] = int(row[-1])
        return out

    def _code(self, column: str, value: Any) -> str:
        for level in ("buurt", "wijk", "gemeente", "provincie"):
            if column.endswith("_" + level):
                return self.region_code[(level, value)]
        return str(value).lower() if isinstance(value, bool) else str(value)

    def ids(self, level: str, codes: list[str]) -> str:
        return ", ".join(str(self.region_id[(level, c)]) for c in codes)


def cells(answer: dict[str, Any], measure: str) -> dict[tuple[str | None, ...], dict[str, Any]]:
    """Cells of one measure keyed by the row's members in drill-down order."""
    items = answer["drilldown"]
    return {
        tuple(row["members"].get(i) for i in items): row["cells"][measure] for row in answer["rows"]
    }


def write_figures(section: str, figures: dict[str, Any], path: str | None) -> None:
    """Merge ``figures`` into the JSON file named by ``ZICHT_HARDENING_FIGURES`` (if set):
    the README's figures come from there."""
    if not path:
        return
    target = Path(path)
    data = json.loads(target.read_text()) if target.exists() else {}
    data[section] = figures
    target.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
