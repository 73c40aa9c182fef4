"""SDMX REST resources under ``/api/v1/sdmx``: structures and data.

Structures (SDMX-ML 2.1): ``/{dataflow|datastructure|codelist|conceptscheme}[/{agency}[/{id}
[/{version}]]]`` with ``references`` = ``none`` (default), ``children``, ``descendants`` or
``all``; ``all`` and ``latest`` (or ``~``) as wildcards, as the SDMX REST conventions have it.

Data: ``/data/{flow}[/{key}]`` where ``flow`` is ``DRUG_SUSPECTS`` or ``ZICHT,DRUG_SUSPECTS,1.0``
and ``key`` an SDMX key (``_apply_key``) or ``all``; the aggregate's parameters (``measures`` —
the cube's base measures by default —, ``drilldown``, ``cut``, ...) and ``startPeriod``/
``endPeriod`` refine it. SDMX-CSV 2.0 by default, 1.0 or SDMX-JSON 1.0 by ``Accept`` (with
``version``) or ``format``; a version not written is 406.
"""

from __future__ import annotations

import re
import threading
from typing import Any, cast

from cachetools import LRUCache
from flask import Blueprint, Response, current_app, g, request
from werkzeug.datastructures import MultiDict

from cube.errors import NotFound, Problem, UserError
from cube.suggest import did_you_mean
from service import sdmx, sdmx_structure
from service.app import service
from service.errors import NotAcceptable
from service.formats import MEDIA_TYPES, choose_format, content_disposition
from service.prepared import prepare
from service.query_params import parse_args
from service.schemas import load_query
from service.sdmx import AGENCY, MEASURE, PERIOD_ROLE, TIME, TOTAL, VERSION, dimension_id
from service.state import EngineLike

bp = Blueprint("sdmx", __name__)

STRUCTURE_TYPE = "application/vnd.sdmx.structure+xml; version=2.1"
STRUCTURE_ACCEPT = ("application/vnd.sdmx.structure+xml", "application/xml", "text/xml")
RESOURCES = ("dataflow", "datastructure", "codelist", "conceptscheme")
REFERENCES = {"none": 0, "children": 1, "descendants": 9, "all": 9, "parents": 0}
DATA_FORMATS = sdmx.DATA_FORMATS
WILDCARDS = ("all", "*", "latest", "~")


class BadSdmxRequest(UserError):
    error_type = "invalid_query"


def _structures(engine: EngineLike) -> sdmx_structure.Structures:
    """The release's structures, built once per release (public metadata only)."""
    store: dict[str, Any] = current_app.extensions.setdefault(
        "zicht.sdmx", {"lock": threading.Lock()}
    )
    with store["lock"]:
        built = store.get(engine.release_id)
        if built is None:
            store.clear()
            store["lock"] = threading.Lock()
            built = store[engine.release_id] = sdmx_structure.build(engine)
    return cast(sdmx_structure.Structures, built)


def _structure_format() -> None:
    accept = request.accept_mimetypes
    if not accept or any(
        v.split(";")[0].strip() in ("*/*", "application/*", *STRUCTURE_ACCEPT) and q > 0
        for v, q in accept
    ):
        return
    raise NotAcceptable(
        "structures are SDMX-ML 2.1", [Problem("header.Accept", f"use {STRUCTURE_TYPE}")]
    )


def _check_args() -> int:
    problems = [
        Problem(f"query.{k[:60]}", "unknown parameter; use references or detail")
        for k in request.args
        if k not in ("references", "detail")
    ]
    references = request.args.get("references", "none")
    if references not in REFERENCES:
        problems.append(Problem("query.references", f"one of {', '.join(REFERENCES)}"))
    if request.args.get("detail", "full") != "full":
        problems.append(Problem("query.detail", "only `full` is served"))
    if problems:
        raise BadSdmxRequest("the SDMX query parameters are not valid", problems)
    return REFERENCES[references]


@bp.get("/<resource>")
@bp.get("/<resource>/<agency>")
@bp.get("/<resource>/<agency>/<resource_id>")
@bp.get("/<resource>/<agency>/<resource_id>/<version>")
def structure(
    resource: str, agency: str = "all", resource_id: str = "all", version: str = "latest"
) -> Response:
    if resource not in RESOURCES:
        raise NotFound(
            "no such SDMX resource", [Problem("resource", f"one of {', '.join(RESOURCES)}, data")]
        )
    depth = _check_args()
    _structure_format()
    svc = service()
    with svc.engines.use() as engine:
        structures = _structures(engine)
        release = engine.release_id
    key = (release, resource, agency, resource_id, version, depth)
    bodies: LRUCache[tuple[Any, ...], bytes] = current_app.extensions.setdefault(
        "zicht.sdmx.bodies", LRUCache(maxsize=64)
    )
    lock: threading.Lock = current_app.extensions.setdefault("zicht.sdmx.lock", threading.Lock())
    with lock:
        body = bodies.get(key)
    if body is None:
        # Written once per release and request: a message with every code list takes the
        # writer a while.
        body = _write(structures, release, resource, agency, resource_id, version, depth)
        with lock:
            bodies[key] = body
    response = Response(body, content_type=STRUCTURE_TYPE)
    response.vary.add("Accept")
    response.headers["Cache-Control"] = f"public, max-age={svc.settings.http_max_age_s}"
    response.add_etag()
    return cast(Response, response.make_conditional(request))


def _write(
    structures: sdmx_structure.Structures,
    release: str,
    resource: str,
    agency: str,
    resource_id: str,
    version: str,
    depth: int,
) -> bytes:
    """The structure message for one request (``NotFound`` when nothing matches)."""
    found = []
    if agency in (AGENCY, *WILDCARDS) and version in (VERSION, *WILDCARDS):
        pool = structures.kind(resource)
        wanted = None if resource_id in WILDCARDS else set(resource_id.split("+"))
        found = [obj for oid, obj in pool.items() if wanted is None or oid in wanted]
    if not found:
        raise NotFound(
            f"no such {resource}", [Problem("path", f"agency {AGENCY}, version {VERSION}")]
        )
    referenced = [r for obj in found for r in sdmx_structure.referenced(obj, structures, depth)]
    return sdmx_structure.to_xml([*found, *referenced], release)


def _flow_cube(flow: str, engine: EngineLike) -> str:
    parts = flow.split(",")
    if len(parts) == 1:
        parts = [AGENCY, parts[0], VERSION]
    elif len(parts) == 2:
        parts.append(VERSION)
    agency, flow_id, version = parts[:3] if len(parts) >= 3 else (None, None, None)
    cubes = {c["id"].upper(): c["id"] for c in engine.cubes()}
    if len(parts) != 3 or agency not in (AGENCY, "all") or version not in (VERSION, "latest", "~"):
        raise NotFound("no such dataflow", [Problem("flow", f"{AGENCY},<CUBE>,{VERSION}")])
    if flow_id not in cubes:
        hint = did_you_mean(str(flow_id), cubes)
        raise NotFound(
            "no such dataflow", [Problem("flow", f"dataflows: {', '.join(cubes)}{hint}")]
        )
    return cubes[flow_id]


SDMX_DATA_PARAMS = ("dimensionAtObservation", "startPeriod", "endPeriod")
MAX_CUTS = 40  # the key and startPeriod/endPeriod add at most 10 of the query's 50
PERIOD_LEVELS = (
    (re.compile(r"\d{4}"), "year"),
    (re.compile(r"\d{4}-Q[1-4]"), "quarter"),
    (re.compile(r"\d{4}-(0[1-9]|1[0-2])"), "month"),
)


@bp.get("/data/<flow>")
@bp.get("/data/<flow>/<key>")
def data(flow: str, key: str = "all") -> Response:
    svc = service()
    if request.args.getlist("dimensionAtObservation") not in ([], ["AllDimensions"]):
        raise BadSdmxRequest(
            "every dimension is at the observation level",
            [Problem("query.dimensionAtObservation", "only `AllDimensions`")],
        )
    args = MultiDict(
        [(k, v) for k, v in request.args.items(multi=True) if k not in SDMX_DATA_PARAMS]
    )
    if len(args.getlist("cut")) > MAX_CUTS:
        raise BadSdmxRequest(
            "too many cuts", [Problem("query.cut", f"at most {MAX_CUTS} here (openapi.yaml)")]
        )
    with svc.engines.use() as engine:
        cube = _flow_cube(flow, engine)
        structures = _structures(engine)
        key_problems = _apply_key(key, cube, structures, args)
        if "measures" not in args:
            args.setlist("measures", _measures(engine, cube))
    body, problems = parse_args(args)
    fmt = _data_format(args.get("format"))
    prepared = prepare(load_query(cube, body, key_problems + problems))
    sdmx.check(prepared.query, fmt)
    answered = svc.answer(prepared, g.client, fmt)
    payload, tag = answered.entry.body(fmt)
    response = Response(payload, content_type=MEDIA_TYPES[fmt])
    response.vary.add("Accept")
    response.headers["X-Zicht-Release"] = answered.release
    disposition = content_disposition(prepared.query, answered.release, fmt)
    if disposition:
        response.headers["Content-Disposition"] = disposition
    response.headers["Cache-Control"] = f"public, max-age={svc.settings.http_max_age_s}"
    response.set_etag(tag.strip('"'))
    return cast(Response, response.make_conditional(request))


def _period_level(code: str) -> str | None:
    return next((level for pattern, level in PERIOD_LEVELS if pattern.fullmatch(code)), None)


def _apply_key(
    key: str, cube: str, structures: sdmx_structure.Structures, args: MultiDict[str, str]
) -> list[Problem]:
    """An SDMX key (``PV27+PV20........suspects.2023``: one position per dimension, ``+`` between
    codes) → drill-downs and cuts added to ``args``. A position left empty, or ``_T``, is not
    drilled down (its observations are the total, ``_T``); ``all`` is every position empty.
    ``startPeriod``/``endPeriod`` cut the period."""
    problems: list[Problem] = []
    dims = structures.keys.get(cube, [])
    positions = [""] * len(dims) if key in ("all", "*") else key.split(".")
    if len(positions) != len(dims):
        where = ".".join(dims)
        return [Problem("path.key", f"{len(dims)} positions separated by `.`: {where}")]
    for dim, text in zip(dims, positions, strict=True):
        codes = [c for c in text.split("+") if c] if text else []
        if TOTAL in codes:  # the total of the position, as the observations name it
            if len(codes) > 1:
                problems.append(Problem("path.key", f"{TOTAL} (the total) stands alone: {dim}"))
            continue
        if not codes:
            continue
        if dim == MEASURE:
            if "measures" in args:
                problems.append(Problem("path.key", "give measures in the key or in `measures`"))
            args.setlist("measures", [",".join(c.replace("__", ".") for c in codes)])
            continue
        found = _key_members(dim, codes, cube, structures, problems)
        if found is not None:
            role, level, members = found
            args.add("drilldown", f"{role}@{level}")
            args.add("cut", f"{role}@{level}:{','.join(members)}")
    start, end = request.args.get("startPeriod"), request.args.get("endPeriod")
    given = [p for p in (start, end) if p is not None]
    levels = {_period_level(p) for p in given}
    if given and (None in levels or len(levels) != 1):
        problems.append(
            Problem("query.startPeriod", "ISO periods of one kind: 2023, 2023-Q1 or 2023-01")
        )
    elif given:
        args.add("cut", f"{PERIOD_ROLE}@{levels.pop()}:{start or ''}..{end or ''}")
    return problems


def _key_members(
    dim: str,
    codes: list[str],
    cube: str,
    structures: sdmx_structure.Structures,
    problems: list[Problem],
) -> tuple[str, str, list[str]] | None:
    """(role, level, member codes) of one key position; all codes must be of one level."""
    if dim == TIME:
        levels = {_period_level(c) for c in codes}
        if len(levels) != 1 or None in levels:
            problems.append(Problem("path.key", "periods of one kind: 2023, 2023-Q1 or 2023-01"))
            return None
        return PERIOD_ROLE, str(levels.pop()), codes
    role = next((r for (c, r) in structures.members if c == cube and dimension_id(r) == dim), dim)
    known = structures.members.get((cube, role), {})
    unknown = [c for c in codes if c not in known]
    if unknown:
        hint = did_you_mean(unknown[0][:40], known)
        problems.append(Problem("path.key", f"unknown {dim} code {unknown[0][:40]!r}{hint}"))
        return None
    member_levels = {known[c][0] for c in codes}
    if len(member_levels) != 1:
        problems.append(Problem("path.key", f"{dim}: codes of one level only"))
        return None
    return role, member_levels.pop(), [known[c][1] for c in codes]


def _measures(engine: EngineLike, cube: str) -> list[str]:
    """The default: the cube's own base measures (those computed from no other measure)."""
    measures = engine.cube(cube).get("measures", [])
    return [",".join(m["id"] for m in measures if not m.get("components"))]


def _data_format(param: str | None) -> str:
    if param is not None and param not in DATA_FORMATS:
        raise NotAcceptable(f"SDMX data formats: {', '.join(DATA_FORMATS)}")
    accept = request.accept_mimetypes
    if param is None and (
        not accept or all(v.split(";")[0].strip() in ("*/*", "application/*") for v, _ in accept)
    ):
        return "sdmx-csv"
    fmt = choose_format(param, accept)
    if fmt not in DATA_FORMATS:
        raise NotAcceptable(
            "no acceptable SDMX data format",
            [Problem("header.Accept", "SDMX-CSV 2.0.0 or 1.0.0, SDMX-JSON 1.0.0")],
        )
    return fmt
