"""SDMX structures of the cubes — dataflows, data structure definitions, code lists and
concepts — built from the model with ``sdmx1``'s information model and written as SDMX-ML 2.1
by its writer.

Code lists are per dimension (``CL_REGION``, ``CL_AGE``, …; every level's members and ``_T``),
per cube for its measures (``CL_MEASURE_<CUBE>``), and two for the observation attributes,
``CL_OBS_STATUS`` and ``CL_CONF_STATUS``, whose codes are those of SDMX's cross-domain code
lists that the answers use (``service.sdmx``). Only public metadata goes in: names, codes and
labels, never a figure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from service.sdmx import (
    AGENCY,
    MEASURE,
    PERIOD_ROLE,
    TIME,
    TOTAL,
    VERSION,
    dimension_id,
    dimensions,
    flow_id,
    measure_code,
    prepared,
    sdmx_code,
)

MAX_MEMBERS = 1_000_000
OBS_STATUS_CODES = {
    "A": ("Normaal", "Normal value (safe)"),
    "E": ("Geschat: verstoord met celsleutelruis", "Estimated value (perturbed: cell key noise)"),
    "O": ("Ontbrekend: geheim", "Missing value (suppressed)"),
    "M": (
        "Ontbrekend: bestaat niet (deling door 0)",
        "Missing value; data cannot exist (division by zero)",
    ),
}
CONF_STATUS_CODES = {
    "F": ("Vrij", "Free"),
    "A": ("Primair geheim: te weinig eenheden", "Primary confidentiality due to small counts"),
    "T": (
        "Primair geheim: dominantie (2, k)",
        "Primary confidentiality due to dominance by two units",
    ),
    "M": (
        "Primair geheim: p%-regel",
        "Primary confidentiality based on other measures of concentration",
    ),
    "D": ("Secundair geheim", "Secondary confidentiality set by the sender, not for publication"),
    "C": ("Geheim", "Confidential statistical information"),
}
CONCEPTS = {
    MEASURE: ("Onderwerp", "Measure"),
    TIME: ("Periode", "Period"),
    "OBS_VALUE": ("Waarde", "Observation value"),
    "OBS_STATUS": ("Status van de waarneming", "Observation status"),
    "CONF_STATUS": ("Geheimhouding", "Confidentiality status"),
}


class Metadata(Protocol):
    """What the structures need of the engine (``service.state.EngineLike``)."""

    def cubes(self) -> list[dict[str, Any]]: ...
    def cube(self, cube_id: str) -> dict[str, Any]: ...
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
    ) -> tuple[list[dict[str, Any]], int]: ...


def _name(nl: str, en: str | None = None) -> dict[str, str]:
    return {"nl": nl, "en": en or nl}


@dataclass
class Structures:
    """Every structure of a release, by kind and id (``sdmx1`` objects)."""

    dataflows: dict[str, Any] = field(default_factory=dict)
    datastructures: dict[str, Any] = field(default_factory=dict)
    codelists: dict[str, Any] = field(default_factory=dict)
    conceptschemes: dict[str, Any] = field(default_factory=dict)
    # (cube, role) → SDMX code → (level, member code): to read a data query's key
    members: dict[tuple[str, str], dict[str, tuple[str, str]]] = field(default_factory=dict)
    # cube → its DSD's dimension ids in key order
    keys: dict[str, list[str]] = field(default_factory=dict)

    def kind(self, resource: str) -> dict[str, Any]:
        return {
            "dataflow": self.dataflows,
            "datastructure": self.datastructures,
            "codelist": self.codelists,
            "conceptscheme": self.conceptschemes,
        }[resource]


def build(engine: Metadata) -> Structures:
    """All dataflows of the release with their structures."""
    from sdmx.model import common

    agency = common.Agency(id=AGENCY, name=_name("zicht"))
    out = Structures()
    scheme = common.ConceptScheme(
        id="CS_ZICHT",
        version=VERSION,
        maintainer=agency,
        is_final=True,
        name=_name("Begrippen", "Concepts"),
    )
    out.conceptschemes[scheme.id] = scheme
    for cid, (nl, en) in CONCEPTS.items():
        scheme.setdefault(id=cid, name=_name(nl, en))
    out.codelists["CL_OBS_STATUS"] = _codelist(
        agency, "CL_OBS_STATUS", CONCEPTS["OBS_STATUS"], OBS_STATUS_CODES.items()
    )
    out.codelists["CL_CONF_STATUS"] = _codelist(
        agency, "CL_CONF_STATUS", CONCEPTS["CONF_STATUS"], CONF_STATUS_CODES.items()
    )
    for summary in engine.cubes():
        model = engine.cube(summary["id"])
        _add_cube(engine, model, agency, scheme, out)
    return out


def _codelist(
    agency: Any, cl_id: str, name: tuple[str, str], codes: Iterable[tuple[str, tuple[str, str]]]
) -> Any:
    from sdmx.model import common

    cl = common.Codelist(
        id=cl_id, version=VERSION, maintainer=agency, is_final=True, name=_name(*name)
    )
    for code, (nl, en) in codes:
        if code not in cl.items:
            cl.append(common.Code(id=code, name=_name(nl, en)))
    return cl


def _dimension_codes(
    engine: Metadata, cube: str, dim: dict[str, Any], out: Structures
) -> list[tuple[str, tuple[str, str]]]:
    codes: list[tuple[str, tuple[str, str]]] = []
    known = out.members.setdefault((cube, dim["id"]), {})
    for level in dim["levels"]:
        items, _ = engine.members(cube, dim["id"], level["id"], limit=MAX_MEMBERS)
        for item in items:
            label = item.get("label") or item["code"]
            code = sdmx_code(level["id"], item["code"])
            known.setdefault(code, (level["id"], item["code"]))
            codes.append((code, (label, item.get("label_en") or label)))
    return codes


def _add_cube(
    engine: Metadata, model: dict[str, Any], agency: Any, scheme: Any, out: Structures
) -> None:
    from sdmx.model import common, v21

    cube = model["id"]
    name = _name(model.get("label", cube), model.get("label_en"))
    dsd = v21.DataStructureDefinition(
        id=f"DSD_{flow_id(cube)}", version=VERSION, maintainer=agency, is_final=True, name=name
    )
    roles = [d["id"] for d in model.get("dimensions", [])]
    out.keys[cube] = dimensions(roles)
    by_role = {d["id"]: d for d in model.get("dimensions", [])}
    for dim_id in dimensions(roles):
        if dim_id == TIME:
            dsd.dimensions.getdefault(TIME, cls=v21.TimeDimension, concept_identity=scheme[TIME])
            continue
        if dim_id == MEASURE:
            cl_id = f"CL_MEASURE_{flow_id(cube)}"
            measures = [
                (measure_code(m["id"]), (m.get("label", m["id"]), m.get("label_en")))
                for m in model.get("measures", [])
            ]
            cl = out.codelists[cl_id] = _codelist(
                agency, cl_id, ("Onderwerpen", "Measures"), measures
            )
            concept = scheme[MEASURE]
        else:
            role = next(r for r in roles if r != PERIOD_ROLE and dimension_id(r) == dim_id)
            dim = by_role[role]
            cl_id = f"CL_{dim['dimension'].upper()}"
            codes = _dimension_codes(engine, cube, dim, out)
            cl = out.codelists.get(cl_id)
            if cl is None:
                total = [(TOTAL, ("Totaal", "Total"))]
                dim_name = (dim.get("label", dim["id"]), dim.get("label_en"))
                cl = out.codelists[cl_id] = _codelist(agency, cl_id, dim_name, total + codes)
            else:
                for code, (nl, en) in codes:
                    if code not in cl.items:
                        cl.append(common.Code(id=code, name=_name(nl, en)))
            concept = scheme.setdefault(
                id=dim_id, name=_name(dim.get("label", role), dim.get("label_en"))
            )
        dsd.dimensions.getdefault(
            dim_id,
            concept_identity=concept,
            local_representation=common.Representation(enumerated=cl),
        )
    dsd.measures.getdefault("OBS_VALUE", concept_identity=scheme["OBS_VALUE"])
    for attr in ("OBS_STATUS", "CONF_STATUS"):
        dsd.attributes.getdefault(
            attr,
            concept_identity=scheme[attr],
            local_representation=common.Representation(enumerated=out.codelists[f"CL_{attr}"]),
            related_to=v21.PrimaryMeasureRelationship(),
            usage_status=common.UsageStatus.mandatory,
        )
    out.datastructures[dsd.id] = dsd
    flow = v21.DataflowDefinition(
        id=flow_id(cube),
        version=VERSION,
        maintainer=agency,
        is_final=True,
        name=name,
        structure=dsd,
    )
    out.dataflows[flow.id] = flow


def referenced(obj: Any, structures: Structures, depth: int) -> list[Any]:
    """``obj``'s references down to ``depth`` levels (SDMX REST ``references``: children = 1,
    descendants = all levels)."""
    from sdmx.model import v21

    if depth <= 0:
        return []
    if isinstance(obj, v21.DataflowDefinition):
        dsd = structures.datastructures[obj.structure.id]
        return [dsd, *referenced(dsd, structures, depth - 1)]
    if isinstance(obj, v21.DataStructureDefinition):
        out: list[Any] = list(structures.conceptschemes.values())
        for component in [*obj.dimensions, *obj.attributes]:
            rep = component.local_representation
            if rep is not None and rep.enumerated is not None:
                out.append(structures.codelists[rep.enumerated.id])
        return out
    return []


def to_xml(objects: Iterable[Any], release: str) -> bytes:
    """An SDMX-ML 2.1 structure message with ``objects`` (each once)."""
    import sdmx
    from sdmx.message import Header, StructureMessage
    from sdmx.model import common

    header = Header(
        id=f"ZICHT-{release}",
        prepared=datetime.fromisoformat(prepared(release)),
        sender=common.Agency(id=AGENCY),
    )
    msg = StructureMessage(header=header)
    seen: set[tuple[str, str]] = set()
    for obj in objects:
        key = (type(obj).__name__, obj.id)
        if key not in seen:
            seen.add(key)
            msg.add(obj)
    data: bytes = sdmx.to_xml(msg)
    return data
