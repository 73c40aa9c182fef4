"""A small fake of ``cube.engine.Engine`` and a tiny data home, for service unit tests.

The fake answers like the real engine's interface (Answer with statuses), so the service's own
mechanisms (validation, formats, cache, audit, monitor, limits, switching) are tested without
DuckDB. End-to-end tests against the real engine live in ``test_service_e2e.py``.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from cube.errors import InvalidQuery, NotFound, Problem
from cube.query import Query
from cube.result import Answer, MeasureInfo, Row, Summary, Value
from loaders.releases import Release
from service.app import create_app
from service.settings import Settings

GEMEENTEN = {"GM0363": "Amsterdam", "GM0599": "Rotterdam", "GM0518": "'s-Gravenhage"}
# A suppressed cell's true value. The fake hands it out *with* status "suppressed" (as a buggy
# engine might): the service must still publish only null / x / NaN.
SECRET_VALUE = 4242.0
MEASURES = {
    "suspects": MeasureInfo("suspects", "Verdachten", "persons", "count"),
    "suspects_per_10k": MeasureInfo("suspects_per_10k", "Verdachten per 10k", "per 10k", "rate"),
}


class FakeEngine:
    def __init__(self, release_id: str, delay_s: float = 0.0):
        self.release_id = release_id
        self.delay_s = delay_s
        self.closed = False
        self.answers = 0
        self.lock = threading.Lock()

    def cubes(self) -> list[dict[str, Any]]:
        return [
            {
                "id": "drug_suspects",
                "label": "Verdachten van drugsdelicten",
                "label_en": "Drug suspects",
                "description": "Fake cube",
                "theme": "drugs",
                "measures": list(MEASURES),
            }
        ]

    def cube(self, cube_id: str) -> dict[str, Any]:
        if cube_id != "drug_suspects":
            raise NotFound("no such cube", [Problem("cube", "unknown cube")])
        measures = [
            {"id": m.id, "label": m.label, "label_en": m.label, "kind": m.kind, "components": []}
            for m in MEASURES.values()
        ]
        residence = {
            "id": "residence",
            "dimension": "region",
            "label": "Woonregio",
            "label_en": "Residence",
            "levels": [{"id": "gemeente", "label": "Gemeente", "members": len(GEMEENTEN)}],
        }
        return {
            **self.cubes()[0],
            "release": self.release_id,
            "measures": measures,
            "dimensions": [residence],
        }

    def members(
        self,
        cube_id: str,
        dimension: str,
        level: str | None = None,
        *,
        search: str | None = None,
        parent: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[dict[str, Any]], int]:
        self.cube(cube_id)
        if dimension != "residence":
            raise NotFound("no such dimension", [Problem("dimension", "unknown dimension")])
        items = [
            {"code": c, "label": n, "label_en": n, "parents": {"provincie": "PV27"}}
            for c, n in GEMEENTEN.items()
            if not search or search.lower() in n.lower()
        ]
        return items[offset : offset + limit], len(items)

    def neighbours(self, gemeente_code: str) -> list[dict[str, Any]]:
        if gemeente_code not in GEMEENTEN:
            raise NotFound("no such gemeente", [Problem("code", "unknown gemeente code")])
        return [{"code": c, "label": n} for c, n in GEMEENTEN.items() if c != gemeente_code]

    def boundaries(self, level: str, gemeente: str) -> dict[str, Any]:
        # A release without a delivered wijk- en buurtkaart: no features.
        if gemeente not in GEMEENTEN:
            raise NotFound("no such gemeente", [Problem("query.gemeente", "unknown gemeente")])
        body = {"type": "FeatureCollection", "level": level, "gemeente": gemeente}
        return {**body, "areas": 0, "source": None, "features": []}

    def answer(self, query: Query) -> Answer:
        with self.lock:
            self.answers += 1
        if self.delay_s:
            time.sleep(self.delay_s)
        self.cube(query.cube)
        bad = [
            Problem(f"measures[{i}]", "unknown measure")
            for i, m in enumerate(query.measures)
            if m not in MEASURES
        ]
        if bad:
            raise InvalidQuery("the query names unknown things", bad)
        infos = tuple(MEASURES[m] for m in query.measures)
        rows = []
        for n, code in enumerate(sorted(GEMEENTEN)):
            # The last gemeente is suppressed (threshold): its true value must not leak.
            if n == 2:
                vals = tuple(Value(SECRET_VALUE, "suppressed", "threshold") for _ in infos)
            else:
                vals = tuple(Value(100.0 + n, "perturbed") for _ in infos)
            members = tuple(code if d.endswith("gemeente") else "2023" for d in query.drilldown)
            labels = tuple(
                GEMEENTEN[code] if d.endswith("gemeente") else "2023" for d in query.drilldown
            )
            rows.append(Row(members, labels, vals))
        if query.totals != "none":
            none = tuple(None for _ in query.drilldown)
            rows.append(Row(none, none, tuple(Value(301.0, "perturbed") for _ in infos)))
        return Answer(
            query=query,
            release=self.release_id,
            drilldown=query.drilldown,
            measures=infos,
            rows=tuple(rows),
            total_rows=len(rows),
            truncated=False,
            # Like the real engine's summary, it holds risk figures that must stay internal.
            summary=Summary.count(
                rows,
                "default",
                {query.cube: {"risk": {"smallest_published_contributors": int(SECRET_VALUE)}}},
            ),
        )

    def close(self) -> None:
        self.closed = True


def make_home_release(root: Path, rid: str) -> str:
    """Add a (fake) complete release directory ``rid`` to the data home ``root``."""
    path = root / "releases" / rid
    path.mkdir(parents=True)
    manifest = {"id": rid, "created": f"{rid[:4]}-{rid[4:6]}-{rid[6:8]}T00:00:00Z"}
    (path / "manifest.json").write_text(json.dumps(manifest))
    (path / "release.duckdb").write_bytes(b"")
    return rid


def make_home(root: Path, ids: tuple[str, ...] = ("20250101T000000Z-aaaaaaaa",)) -> Path:
    """A data home with releases ``ids`` (oldest first); the last one is current."""
    for rid in ids:
        make_home_release(root, rid)
    if ids:
        (root / "current").write_text(ids[-1] + "\n")
    return root


class Factory:
    """Engine factory that remembers every engine it opened."""

    def __init__(self, delay_s: float = 0.0, fail: frozenset[str] = frozenset()):
        self.delay_s, self.fail = delay_s, fail
        self.opened: list[FakeEngine] = []

    def __call__(self, release: Release, settings: Settings) -> FakeEngine:
        if release.id in self.fail:
            raise RuntimeError("damaged")
        engine = FakeEngine(release.id, self.delay_s)
        self.opened.append(engine)
        return engine


def make_app(tmp_path: Path, factory: Factory | None = None, **settings: Any) -> Any:
    home = make_home(tmp_path, settings.pop("ids", ("20250101T000000Z-aaaaaaaa",)))
    base = {"home": str(home), "admin_token": "s3cret-token", "audit_salt": "salt"}
    app = create_app(Settings(**{**base, **settings}), engine_factory=factory or Factory())
    app.testing = True
    return app
