"""JSON-ready metadata: cube list, cube model, members of a level, region neighbours and the
delivered wijk and buurt boundaries."""

from __future__ import annotations

import json
from typing import Any

import duckdb

from cube.context import ReleaseContext
from cube.errors import NotFound, Problem
from cube.model import Cube, Role
from cube.suggest import did_you_mean
from dimensions.model import Label
from measures.model import Measure

ATTRIBUTION = (
    "Bron: CBS / PDOK (CBS Gebiedsindelingen 2023, 2025); CBS (wijkcijfers "
    "2020/2023), CC BY 4.0. Microdata: synthetic."
)


# When a figure refers to: stocks are counted on 1 January, events over the calendar year.
REFERENCE_DATES = {
    "stock": Label("1 januari van het jaar", "1 January of the year"),
    "event": Label("gedurende het kalenderjaar", "during the calendar year"),
}


def _labels(label: Label) -> dict[str, str]:
    return {"label": label.nl, "label_en": label.en}


def _bilingual(label: Label | None) -> dict[str, str] | None:
    return None if label is None else {"nl": label.nl, "en": label.en}


def _measure(m: Measure) -> dict[str, Any]:
    return {
        "id": m.id,
        **_labels(m.label),
        "kind": m.kind,
        "unit": m.unit,
        "unit_label": _bilingual(m.unit_label),
        "definition": _bilingual(m.definition),
        "description": m.description,
        "decimals": m.decimals,
        "components": list(m.components()),
    }


def cube_summary(cube: Cube) -> dict[str, Any]:
    return {
        "id": cube.id,
        **_labels(cube.label),
        "theme": cube.theme,
        "description": cube.description,
        "measures": [m.id for m in cube.measures],
    }


def _role(ctx: ReleaseContext, cube: Cube, role: Role) -> dict[str, Any]:
    dim = role.dimension
    return {
        "id": role.id,
        "dimension": dim.id,
        **_labels(dim.label),
        "levels": [
            {
                "id": lv.id,
                **_labels(lv.label),
                "members": len(ctx.axes_for(cube)[role.id].levels[lv.id].codes),
            }
            for lv in dim.levels
            if lv.id in role.levels
        ],
        "hierarchies": [
            {"id": h.id, "levels": [x for x in h.levels if x in role.levels]}
            for h in dim.hierarchies
        ],
    }


def cube_model(ctx: ReleaseContext, cube: Cube) -> dict[str, Any]:
    p = cube.policy
    years = ctx.store.fact_years.get(cube.fact, ())
    return {
        **cube_summary(cube),
        "source": _labels(cube.source),
        "period_type": cube.period,
        "dimensions": [_role(ctx, cube, r) for r in cube.roles],
        "reference_date": _bilingual(REFERENCE_DATES.get(cube.period)),
        "measures": [_measure(m) for m in cube.measures],
        "policy": {
            "id": p.id,
            "threshold": p.threshold,
            "dominance": {"n": p.dominance_n, "k": p.dominance_k},
            "p_percent": p.p_percent,
            "secondary_suppression": p.secondary,
            "cell_key_perturbation": p.perturb,
            "max_deviation": p.ckm.D if p.perturb else 0,
            "rounding_base": p.rounding_base,
        },
        "periods": [str(y) for y in years],
        "release": ctx.release_id,
        "attribution": ATTRIBUTION,
    }


def members(
    ctx: ReleaseContext,
    cube: Cube,
    dimension: str,
    level: str | None,
    *,
    search: str | None,
    parent: str | None,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    axes = ctx.axes_for(cube)
    if dimension not in axes:
        raise NotFound(
            f"cube {cube.id!r} has no dimension role {dimension[:40]!r}",
            [
                Problem(
                    "dimension",
                    f"unknown dimension role; roles: {', '.join(axes)}"
                    + did_you_mean(dimension[:40], axes),
                )
            ],
        )
    axis = axes[dimension]
    level = level or axis.role.levels[-1]
    lax = axis.levels.get(level)
    if lax is None:
        raise NotFound(
            f"{dimension!r} has no level {level[:40]!r}",
            [
                Problem(
                    "level",
                    f"levels: {', '.join(axis.levels)}" + did_you_mean(level[:40], axis.levels),
                )
            ],
        )
    store = ctx.store
    found = []
    needle = (search or "").casefold()
    for code, label in zip(lax.codes, lax.labels, strict=True):
        parents = store.parents.get(code, {}) if axis.role.dimension.id == "region" else {}
        if parent and parent not in parents.values():
            continue
        if (
            needle
            and needle not in label.nl.casefold()
            and needle not in label.en.casefold()
            and needle not in code.casefold()
        ):
            continue
        found.append({"code": code, **_labels(label), "parents": parents})
    return found[offset : offset + limit], len(found)


def _known_gemeente(ctx: ReleaseContext, gemeente: str, location: str = "code") -> None:
    if gemeente not in ctx.store.regions["gemeente"].index:
        raise NotFound(
            f"unknown gemeente {gemeente[:20]!r}", [Problem(location, "unknown gemeente")]
        )


def neighbours(ctx: ReleaseContext, gemeente: str) -> list[dict[str, Any]]:
    names = ctx.store.regions["gemeente"]
    _known_gemeente(ctx, gemeente)
    return [
        {"code": c, "label": names.names[names.index[c]]}
        for c in ctx.store.neighbours.get(gemeente, ())
    ]


BOUNDARY_LEVELS = ("wijk", "buurt")


def boundaries(
    con: duckdb.DuckDBPyConnection, ctx: ReleaseContext, level: str, gemeente: str
) -> dict[str, Any]:
    """The delivered boundaries of a gemeente's wijken or buurten as a GeoJSON
    FeatureCollection, with how many areas of that level the gemeente has (``areas``) so that
    a client knows which it must draw otherwise. Releases loaded without boundaries (or
    before they existed) answer no features."""
    _known_gemeente(ctx, gemeente, "query.gemeente")
    count = con.execute(
        "SELECT count(*) FROM region WHERE level = $l AND gemeente = $g",
        {"l": level, "g": gemeente},
    ).fetchone()
    has_table = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'region_boundary' "
        "AND database_name = current_database()"
    ).fetchone()
    rows = []
    if has_table and has_table[0]:
        rows = con.execute(
            "SELECT code, name, geometry FROM region_boundary "
            "WHERE level = $l AND gemeente = $g ORDER BY code",
            {"l": level, "g": gemeente},
        ).fetchall()
    features = [
        {
            "type": "Feature",
            "id": code,
            "properties": {"code": code, "name": name},
            "geometry": json.loads(geometry),
        }
        for code, name, geometry in rows
    ]
    return {
        "type": "FeatureCollection",
        "level": level,
        "gemeente": gemeente,
        "areas": int(count[0]) if count else 0,
        "source": "CBS wijk- en buurtkaart (delivered with the release)" if features else None,
        "features": features,
    }
