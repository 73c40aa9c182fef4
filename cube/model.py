"""The cube model catalog: YAML model files → frozen definitions, validated all at once.

``load_catalog()`` reads ``cube/models/*.yaml`` (dimensions, policies, one file per cube) and
raises ``ModelError`` listing **every** problem found (``read_model()`` only parses the files;
``cube/opened.py`` keeps what it parsed, so a later process builds the catalog without YAML).
The logical model (dimensions, measures) is kept apart from the physical mapping (fact table,
columns), as in Cubes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from dimensions import codelists
from dimensions.model import LEVEL_KINDS, Dimension, Hierarchy, Label, Level
from layout.facts import BY_DATASET, FactLayout
from measures.model import DERIVED_KINDS, FILTER_OPS, KINDS, Filter, Measure
from sdc.policy import Policy, PolicyError, parse_policy

MODEL_DIR = Path(__file__).parent / "models"


class ModelError(Exception):
    def __init__(self, problems: list[str]):
        super().__init__("invalid cube model:\n  " + "\n  ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class Role:
    """A dimension used by a cube under a name (``residence`` and ``offence`` are region roles)."""

    id: str
    dimension: Dimension
    prefix: str | None = None  # region roles: columns <prefix>_<level>
    columns: tuple[tuple[str, str], ...] = ()  # level -> column, for other dimensions
    levels: tuple[str, ...] = ()  # levels available in this cube
    unknown: bool = False  # the column may be NULL: an extra member "unknown"

    def column(self, level: str) -> str:
        if self.prefix:
            return f"{self.prefix}_{level}"
        return dict(self.columns)[level]


@dataclass(frozen=True, slots=True)
class Rollup:
    """A pre-aggregation of a cube's facts (docs/cube-engine.md, "Rollups"): the fact rows
    grouped by ``columns``, with row counts, record-key sums and, per column in ``sums``, exact
    sums and the two largest row values. Built beside a release by ``zicht rollups``; the engine
    answers a query part from the smallest rollup that has every column the part needs."""

    name: str
    columns: tuple[str, ...]
    sums: tuple[str, ...]
    # per distinct measure filter, a column of whether the row passes it (``flag_column``)
    flags: tuple[tuple[str, tuple[Filter, ...]], ...] = ()

    @property
    def grouped(self) -> tuple[str, ...]:
        """Every column the rollup groups by: its fact columns, then its flags."""
        return self.columns + tuple(name for name, _ in self.flags)


FLAG_PREFIX = "flag_"


def flag_column(filters: tuple[Filter, ...]) -> str:
    """The rollup column holding whether a fact row passes ``filters`` (all of them; NULL
    passes none): named after the filters themselves, so a rollup built for filters since
    changed has no column of that name and no longer covers the measure."""
    digest = hashlib.sha256(repr(tuple(filters)).encode()).hexdigest()[:12]
    return f"{FLAG_PREFIX}{digest}"


@dataclass(frozen=True, slots=True)
class Cube:
    id: str
    dataset: str  # the release's fact table comes from its declaration in layout/facts.py
    label: Label
    theme: str
    description: str
    source: Label
    policy: Policy
    period: str  # stock | event
    roles: tuple[Role, ...]
    measures: tuple[Measure, ...]
    rollups: tuple[Rollup, ...] = ()

    @property
    def fact(self) -> str:
        """The release table holding this cube's facts."""
        return BY_DATASET[self.dataset].table

    def __hash__(self) -> int:
        # Cache keys hold cubes (compiled SQL per plan part): hashing every role, measure and
        # label on each lookup cost ~0.5 ms a query. Equal cubes have equal ids and datasets.
        return hash((self.id, self.dataset))

    def role(self, role_id: str) -> Role:
        for r in self.roles:
            if r.id == role_id:
                return r
        raise KeyError(role_id)

    def measure(self, measure_id: str) -> Measure:
        for m in self.measures:
            if m.id == measure_id:
                return m
        raise KeyError(measure_id)

    def roles_of(self, dimension_id: str) -> tuple[Role, ...]:
        return tuple(r for r in self.roles if r.dimension.id == dimension_id)


@dataclass(frozen=True, slots=True)
class Catalog:
    dimensions: Mapping[str, Dimension]
    cubes: Mapping[str, Cube]
    policies: Mapping[str, Policy]
    # cubes of the model a release does not have, with the reason (``Catalog.without``)
    absent: Mapping[str, str] = field(default_factory=dict)

    def without(self, absent: Mapping[str, str]) -> Catalog:
        """The catalog less the ``absent`` cubes (id -> reason) and less every measure that
        needs one of them, directly or through another measure."""
        if not absent:
            return self
        cubes = {cid: c for cid, c in self.cubes.items() if cid not in absent}
        changed = True
        while changed:
            changed = False
            for cid, cube in list(cubes.items()):
                keep = tuple(
                    m
                    for m in cube.measures
                    if all(_resolves(r, cube, cubes) for r in m.components())
                )
                if len(keep) != len(cube.measures):
                    cubes[cid] = replace(cube, measures=keep)
                    changed = True
        return Catalog(self.dimensions, cubes, self.policies, {**self.absent, **absent})


def _resolves(ref: str, cube: Cube, cubes: Mapping[str, Cube]) -> bool:
    other, _, mid = ref.rpartition(".")
    target = cubes.get(other) if other else cube
    return target is not None and any(m.id == mid for m in target.measures)


def _label(raw: Any, where: str, problems: list[str]) -> Label:
    # exactly nl and en: an unquoted comma in a YAML flow mapping ({en: per 1,000 x}) would
    # otherwise cut the label silently and add a stray key
    if (
        isinstance(raw, Mapping)
        and set(raw) == {"nl", "en"}
        and isinstance(raw["nl"], str)
        and isinstance(raw["en"], str)
    ):
        return Label(raw["nl"], raw["en"])
    problems.append(f"{where}: label must have exactly 'nl' and 'en' strings (quote commas)")
    return Label("?", "?")


def _dimension(did: str, raw: Mapping[str, Any], problems: list[str]) -> Dimension:
    where = f"dimensions.{did}"
    levels = []
    for i, lv in enumerate(raw.get("levels") or []):
        lw = f"{where}.levels[{i}]"
        kind = lv.get("kind")
        if kind not in LEVEL_KINDS:
            problems.append(f"{lw}: unknown level kind {kind!r}")
        cl = lv.get("codelist")
        if kind == "codelist" and cl not in codelists.BY_NAME:
            problems.append(f"{lw}: unknown code list {cl!r}")
        levels.append(
            Level(str(lv.get("id")), _label(lv.get("label"), lw, problems), str(kind), cl)
        )
    if not levels:
        problems.append(f"{where}: no levels")
    ids = [lv.id for lv in levels]
    hierarchies = []
    for hid, hl in (raw.get("hierarchies") or {"default": ids}).items():
        unknown = [x for x in hl if x not in ids]
        if unknown:
            problems.append(f"{where}.hierarchies.{hid}: unknown levels {unknown}")
        hierarchies.append(Hierarchy(hid, tuple(hl)))
    label = _label(raw.get("label"), where, problems)
    by_name_only = raw.get("by_name_only", False)
    if not isinstance(by_name_only, bool):
        problems.append(f"{where}.by_name_only: must be true or false")
    return Dimension(
        did,
        label,
        tuple(levels),
        tuple(hierarchies),
        raw.get("description", ""),
        by_name_only is True,
    )


def _filters(raw: Any, where: str, problems: list[str]) -> tuple[Filter, ...]:
    out: list[Filter] = []
    for column, cond in (raw or {}).items():
        if not isinstance(cond, Mapping) or not cond:
            problems.append(f"{where}.filter.{column}: expected {{op: value}}")
            continue
        for op, value in cond.items():
            if op not in FILTER_OPS:
                problems.append(f"{where}.filter.{column}: unknown operator {op!r}")
            out.append(Filter(column, op, tuple(value) if isinstance(value, list) else value))
    return tuple(out)


def _measure(mid: str, raw: Mapping[str, Any], where: str, problems: list[str]) -> Measure:
    kind = raw.get("kind")
    if kind not in KINDS:
        problems.append(f"{where}: unknown measure kind {kind!r}")
    if kind == "sum" and not raw.get("column"):
        problems.append(f"{where}: a sum needs a column")
    if raw.get("count", "rows") not in ("rows", "holdings"):
        problems.append(f"{where}: count must be 'rows' or 'holdings'")
    needs = {
        "mean": ("numerator", "denominator"),
        "rate": ("numerator", "denominator"),
        "share": ("numerator", "denominator"),
        "change": ("base",),
        "index": ("numerator", "denominator", "ref_numerator", "ref_denominator"),
    }
    for key in needs.get(str(kind), ()):
        if not raw.get(key):
            problems.append(f"{where}: a {kind} needs '{key}'")
    if "unit" not in raw:
        problems.append(f"{where}: missing unit")
    return Measure(
        id=mid,
        label=_label(raw.get("label"), where, problems),
        kind=str(kind),
        unit=str(raw.get("unit", "")),
        description=raw.get("description", ""),
        count=raw.get("count", "rows"),
        column=raw.get("column"),
        filters=_filters(raw.get("filter"), where, problems),
        numerator=raw.get("numerator"),
        denominator=raw.get("denominator"),
        ref_numerator=raw.get("ref_numerator"),
        ref_denominator=raw.get("ref_denominator"),
        base=raw.get("base"),
        per=float(raw.get("per", 1)),
        decimals=int(raw.get("decimals", 0)),
        definition=_optional_label(raw, "definition", where, problems),
        unit_label=_optional_label(raw, "unit_label", where, problems),
    )


def _optional_label(
    raw: Mapping[str, Any], key: str, where: str, problems: list[str]
) -> Label | None:
    if key not in raw:
        return None
    return _label(raw[key], f"{where}.{key}", problems)


def _role(
    rid: str,
    raw: Mapping[str, Any],
    dims: Mapping[str, Dimension],
    layout: FactLayout | None,
    where: str,
    problems: list[str],
) -> Role | None:
    dim = dims.get(raw.get("dimension", ""))
    if dim is None:
        problems.append(f"{where}: unknown dimension {raw.get('dimension')!r}")
        return None
    if "prefix" in raw or "fact" in raw:
        problems.append(f"{where}: region columns and tables come from layout/facts.py")
    levels = tuple(raw.get("levels") or dim.level_ids)
    bad = [lv for lv in levels if lv not in dim.level_ids]
    if bad:
        problems.append(f"{where}: levels {bad} not in dimension {dim.id}")
    if dim.id == "region":
        # a region role is one of the dataset's declared region roles, under the same name
        if layout is not None and layout.region(rid) is None:
            names = [r.name for r in layout.regions]
            problems.append(f"{where}: dataset {layout.dataset!r} has region roles {names}")
        return Role(rid, dim, prefix=rid, levels=levels)
    unknown = bool(raw.get("unknown", False))
    if dim.id == "period":
        if layout is not None and (more := [lv for lv in levels if lv not in layout.period_levels]):
            problems.append(f"{where}: dataset {layout.dataset!r} has no period levels {more}")
        cols = tuple((lv, lv) for lv in levels)
    elif raw.get("columns"):
        cols = tuple((str(k), str(v)) for k, v in raw["columns"].items())
    elif raw.get("column"):
        # one stored column; coarser levels are computed from it (age bands, quintiles)
        cols = tuple((lv, raw["column"]) for lv in levels)
    else:
        problems.append(f"{where}: needs 'prefix', 'column' or 'columns'")
        cols = ()
    return Role(rid, dim, columns=cols, levels=levels, unknown=unknown)


def _rollups(
    raw: Any, roles: list[Role], measures: list[Measure], where: str, problems: list[str]
) -> tuple[Rollup, ...]:
    """``rollups: {name: {roles: [...], drop: {role: [levels]}, filters: bool, flags: bool,
    columns: [...]}}``: the columns of the listed roles (default: all) without the dropped
    levels, plus every measure filter column with ``filters: true``, plus ``columns``; with
    ``flags: true``, per measure filter one column of whether the row passes it (groups
    by the filters' outcomes, not by the values of the columns they read); sums are every
    summed column of the cube (sums add no groups)."""
    if raw is None:
        return ()
    if not isinstance(raw, Mapping):
        problems.append(f"{where}: must map rollup names to definitions")
        return ()
    by_id = {r.id: r for r in roles}
    sums = tuple(sorted({m.column for m in measures if m.kind == "sum" and m.column}))
    out = []
    for name, spec in raw.items():
        at = f"{where}.{name}"
        spec = spec or {}
        if not isinstance(spec, Mapping) or not re.fullmatch(r"[a-z][a-z0-9_]*", str(name)):
            problems.append(f"{at}: needs a lower-case name and a mapping")
            continue
        unknown = set(spec) - {"roles", "drop", "filters", "flags", "columns"}
        if unknown:
            problems.append(f"{at}: unknown keys {sorted(unknown)}")
        wanted = spec.get("roles") or list(by_id)
        drop = spec.get("drop") or {}
        cols: list[str] = []
        for rid in wanted:
            role = by_id.get(rid)
            if role is None:
                problems.append(f"{at}: unknown role {rid!r}")
                continue
            dropped = set(drop.get(rid) or ())
            if missing := sorted(dropped - set(role.levels)):
                problems.append(f"{at}: role {rid!r} has no levels {missing}")
            for lv in role.levels:
                if lv not in dropped and lv != "land" and role.column(lv) not in cols:
                    cols.append(role.column(lv))
        if unused := sorted(set(drop) - set(wanted)):
            problems.append(f"{at}: drops levels of roles it does not use {unused}")
        extra = list(spec.get("columns") or [])
        if spec.get("filters"):
            extra += [f.column for m in measures for f in m.filters]
        cols += [c for c in dict.fromkeys(extra) if c not in cols]
        if "year" not in cols:
            problems.append(f"{at}: must keep the period role's year (cells lie within a year)")
        flags: dict[str, tuple[Filter, ...]] = {}
        if spec.get("flags"):
            flags = {flag_column(m.filters): m.filters for m in measures if m.filters}
        out.append(Rollup(str(name), tuple(cols), sums, tuple(flags.items())))
    return tuple(out)


def _cube(
    raw: Mapping[str, Any],
    dims: Mapping[str, Dimension],
    policies: Mapping[str, Policy],
    problems: list[str],
) -> Cube:
    cid = str(raw.get("id"))
    where = f"cubes.{cid}"
    for key in ("dataset", "label", "roles", "measures", "policy"):
        if key not in raw:
            problems.append(f"{where}: missing '{key}'")
    layout = BY_DATASET.get(str(raw.get("dataset")))
    if layout is None and "dataset" in raw:
        problems.append(
            f"{where}: unknown dataset {raw.get('dataset')!r} (declared in layout/facts.py: "
            f"{', '.join(BY_DATASET)})"
        )
    if "fact" in raw:
        problems.append(f"{where}: 'fact' is gone: name the 'dataset' (layout/facts.py)")
    roles = [
        _role(rid, r, dims, layout, f"{where}.roles.{rid}", problems)
        for rid, r in (raw.get("roles") or {}).items()
    ]
    measures = [
        _measure(mid, m, f"{where}.measures.{mid}", problems)
        for mid, m in (raw.get("measures") or {}).items()
    ]
    policy = policies.get(raw.get("policy", ""))
    if policy is None:
        problems.append(f"{where}: unknown policy {raw.get('policy')!r}")
        policy = Policy()
    if raw.get("period") not in ("stock", "event"):
        problems.append(f"{where}: period must be 'stock' or 'event'")
    elif layout is not None and (raw.get("period") == "event") != (layout.date is not None):
        problems.append(f"{where}: dataset {layout.dataset!r} is not a {raw.get('period')}")
    good_roles = [r for r in roles if r]
    rollups = _rollups(raw.get("rollups"), good_roles, measures, f"{where}.rollups", problems)
    return Cube(
        id=cid,
        dataset=str(raw.get("dataset")),
        label=_label(raw.get("label"), where, problems),
        theme=str(raw.get("theme", "")),
        description=str(raw.get("description", "")),
        source=_label(raw.get("source"), f"{where}.source", problems),
        policy=policy,
        period=str(raw.get("period")),
        roles=tuple(good_roles),
        measures=tuple(measures),
        rollups=rollups,
    )


def _check_references(cubes: Mapping[str, Cube], problems: list[str]) -> None:
    for cube in cubes.values():
        own = {m.id for m in cube.measures}
        for m in cube.measures:
            for ref in m.components():
                other, _, mid = ref.rpartition(".")
                target = cubes.get(other) if other else cube
                if target is None or mid not in {x.id for x in target.measures}:
                    problems.append(f"cubes.{cube.id}.measures.{m.id}: unknown measure {ref!r}")
                elif other and m.kind not in DERIVED_KINDS:
                    problems.append(
                        f"cubes.{cube.id}.measures.{m.id}: only derived measures "
                        "may use another cube"
                    )
            if m.kind in DERIVED_KINDS and m.id in own and m.id in m.components():
                problems.append(f"cubes.{cube.id}.measures.{m.id}: refers to itself")


@dataclass(frozen=True, slots=True)
class ModelFiles:
    """The model files parsed: their documents by file name, and the files that cannot be
    read (as problems, reported with the model's own)."""

    documents: dict[str, Any]
    problems: tuple[str, ...] = ()


def read_model(model_dir: Path = MODEL_DIR) -> ModelFiles:
    """Parse every model file of ``model_dir``."""
    import yaml  # here: a catalog built from kept documents needs no YAML

    # libyaml's parser when PyYAML has it (the pure-Python one took ~0.2 s of every start-up
    # for the eight model files); both accept the same documents.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    documents: dict[str, Any] = {}
    problems: list[str] = []
    for path in sorted(model_dir.glob("*.yaml")):
        try:
            documents[path.name] = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
        except (OSError, yaml.YAMLError) as exc:
            documents[path.name] = None
            problems.append(f"{path.name}: cannot read ({exc.__class__.__name__})")
    for name in ("dimensions.yaml", "policies.yaml"):
        if name not in documents:
            problems.append(f"{name}: cannot read (FileNotFoundError)")
    return ModelFiles(documents, tuple(problems))


def load_catalog(model_dir: Path = MODEL_DIR, files: ModelFiles | None = None) -> Catalog:
    """Read and validate the model (``files``: already parsed by ``read_model``); raise
    ``ModelError`` with every problem found."""
    files = files if files is not None else read_model(model_dir)
    problems: list[str] = list(files.problems)
    docs = files.documents
    raw_dims = docs.get("dimensions.yaml") or {}
    dims = {did: _dimension(did, d, problems) for did, d in raw_dims.items()}
    policies: dict[str, Policy] = {}
    for pid, raw in (docs.get("policies.yaml") or {}).items():
        try:
            policies[pid] = parse_policy({"id": pid, **raw})
        except PolicyError as exc:
            problems.extend(f"policies.{pid}: {p}" for p in exc.problems)
    cubes: dict[str, Cube] = {}
    for name in sorted(docs):
        if name in ("dimensions.yaml", "policies.yaml"):
            continue
        raw = docs[name]
        if isinstance(raw, Mapping):
            cube = _cube(raw, dims, policies, problems)
            if cube.id in cubes:
                problems.append(f"{name}: duplicate cube id {cube.id!r}")
            cubes[cube.id] = cube
    _check_references(cubes, problems)
    if problems:
        raise ModelError(problems)
    return Catalog(dims, cubes, policies)
