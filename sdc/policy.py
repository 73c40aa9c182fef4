"""Disclosure-control policy: typed, documented, overridable per measure.

A policy file (YAML/JSON, read by ``service``) is a mapping such as::

    id: drug_suspects_2025
    threshold: 10
    dominance: {n: 2, k: 85}
    p_percent: 10
    ckm: {D: 2, V: 1, js: 2}
    measures:
      amount: {p_percent: 15}

``parse_policy`` checks it completely and raises one ``PolicyError`` listing every problem.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

CostKind = Literal["value", "contributors", "unit"]
COST_KINDS = ("value", "contributors", "unit")
ROUNDING_BASES = (None, 5, 10)


class PolicyError(ValueError):
    """A policy file is invalid; ``problems`` lists every problem found, not just the first."""

    def __init__(self, problems: list[str]):
        super().__init__("invalid disclosure policy: " + "; ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class CkmParams:
    """Cell key method parameters.

    D=2, V=1, js=2: noise of at most ±2 with variance 1 (so roughly two thirds of cells change
    by ±1 or ±2), and no published count of 1 or 2 even where a policy has a threshold below
    3. Published counts are moreover never in 1..threshold-1 (see ``sdc.ckm``).
    ``magnitude_delta`` scales magnitude noise: at most D·delta·x1, i.e. ±10 % of the largest
    contribution by default.
    """

    D: int = 2
    V: float = 1.0
    js: int = 2
    key_bits: int = 32
    magnitude_delta: float = 0.05
    tail: int = 0  # counts: deviations up to ±tail (beyond D) with total probability tail_mass
    tail_mass: float = 0.0


@dataclass(frozen=True, slots=True)
class Policy:
    """One cube's disclosure policy (documented defaults; see docs/disclosure-control.md)."""

    id: str = "default"
    threshold: int = 10  # a cell with 1..threshold-1 distinct holdings is unsafe
    threshold_range: float = 30.0  # protection level of a threshold-unsafe cell, % of value
    dominance_n: int = 2
    dominance_k: float = 85.0  # unsafe if the n largest holdings exceed k % (strict)
    p_percent: float = 10.0  # unsafe if total - x1 - x2 < p/100 * x1; 0 switches it off
    secondary: bool = True
    secondary_cost: CostKind = "value"
    perturb: bool = True
    ckm: CkmParams = CkmParams()
    rounding_base: int | None = None
    measure_overrides: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...] = ()

    def for_measure(self, name: str) -> Policy:
        """The policy with the overrides of measure ``name`` applied."""
        for measure, changes in self.measure_overrides:
            if measure == name:
                return dataclasses.replace(self, measure_overrides=(), **dict(changes))
        return self


_SCALARS = {
    "id": str,
    "threshold": int,
    "threshold_range": float,
    "p_percent": float,
    "secondary": bool,
    "secondary_cost": str,
    "perturb": bool,
    "rounding_base": int,
}
_CKM_FIELDS = {
    "D": int,
    "V": float,
    "js": int,
    "key_bits": int,
    "magnitude_delta": float,
    "tail": int,
    "tail_mass": float,
}


def parse_policy(data: Mapping[str, Any]) -> Policy:
    """Build a ``Policy`` from a mapping, or raise ``PolicyError`` listing all problems."""
    if not isinstance(data, Mapping):
        raise PolicyError(["policy must be a mapping of settings"])
    problems: list[str] = []
    fields = _parse_fields(data, "", problems, allow_id=True)
    overrides = _parse_overrides(data.get("measures", {}), problems)
    # Type problems do not stop the range checks: the author sees every problem at once.
    policy = Policy(**fields, measure_overrides=overrides)
    general = check_policy(policy)
    problems += general
    for measure, _ in overrides:
        specific = [p for p in check_policy(policy.for_measure(measure)) if p not in general]
        problems += [f"measures.{measure}.{p}" for p in specific]
    if problems:
        raise PolicyError(problems)
    return policy


def _parse_fields(data: Mapping[str, Any], where: str, problems: list[str], *, allow_id: bool):
    fields: dict[str, Any] = {}
    known = set(_SCALARS) | {"dominance", "ckm"} | ({"measures"} if allow_id else set())
    for key in data:
        if key not in known or (key == "id" and not allow_id):
            problems.append(f"{where}{key}: unknown setting")
    for key, typ in _SCALARS.items():
        if key in data and (key != "id" or allow_id):
            value = _typed(
                data[key], typ, f"{where}{key}", problems, nullable=key == "rounding_base"
            )
            if value is not _BAD:
                fields[key] = value
    if "dominance" in data:
        fields.update(_parse_dominance(data["dominance"], f"{where}dominance", problems))
    if "ckm" in data:
        ckm = _parse_ckm(data["ckm"], f"{where}ckm", problems)
        if ckm is not None:
            fields["ckm"] = ckm
    return fields


_BAD = object()


def _typed(value: Any, typ: type, where: str, problems: list[str], *, nullable: bool = False):
    if value is None and nullable:
        return None
    if typ is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if typ is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if typ in (str, bool) and isinstance(value, typ):
        return value
    expected = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}
    problems.append(f"{where}: must be {expected[typ]}")
    return _BAD


def _parse_dominance(value: Any, where: str, problems: list[str]) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        problems.append(f"{where}: must be a mapping with n and k")
        return {}
    out: dict[str, Any] = {}
    for key in value:
        if key not in ("n", "k"):
            problems.append(f"{where}.{key}: unknown setting")
    for key, name, typ in (("n", "dominance_n", int), ("k", "dominance_k", float)):
        if key in value:
            parsed = _typed(value[key], typ, f"{where}.{key}", problems)
            if parsed is not _BAD:
                out[name] = parsed
    return out


def _parse_ckm(value: Any, where: str, problems: list[str]) -> CkmParams | None:
    if not isinstance(value, Mapping):
        problems.append(f"{where}: must be a mapping")
        return None
    out: dict[str, Any] = {}
    for key in value:
        if key not in _CKM_FIELDS:
            problems.append(f"{where}.{key}: unknown setting")
    for key, typ in _CKM_FIELDS.items():
        if key in value:
            parsed = _typed(value[key], typ, f"{where}.{key}", problems)
            if parsed is not _BAD:
                out[key] = parsed
    return CkmParams(**out)


def _parse_overrides(value: Any, problems: list[str]):
    if not isinstance(value, Mapping):
        problems.append("measures: must map measure names to settings")
        return ()
    overrides = []
    for measure, settings in sorted(value.items()):
        if not isinstance(settings, Mapping):
            problems.append(f"measures.{measure}: must be a mapping of settings")
            continue
        fields = _parse_fields(settings, f"measures.{measure}.", problems, allow_id=False)
        overrides.append((str(measure), tuple(sorted(fields.items()))))
    return tuple(overrides)


def check_policy(p: Policy) -> list[str]:
    """Every range problem of a policy (empty list = valid)."""
    problems = []
    if not p.id:
        problems.append("id: must not be empty")
    if p.threshold < 1:
        problems.append("threshold: must be at least 1")
    if not 0 <= p.threshold_range <= 100:
        problems.append("threshold_range: must be a percentage in [0, 100]")
    if p.dominance_n not in (1, 2):
        # The cube delivers the two largest contributions per cell (x1, x2), no more.
        problems.append("dominance.n: must be 1 or 2")
    if not 0 < p.dominance_k <= 100:
        problems.append("dominance.k: must be a percentage in (0, 100]")
    if not 0 <= p.p_percent <= 100:
        problems.append("p_percent: must be a percentage in [0, 100]")
    if p.secondary_cost not in COST_KINDS:
        problems.append(f"secondary_cost: must be one of {', '.join(COST_KINDS)}")
    if p.rounding_base not in ROUNDING_BASES:
        problems.append("rounding_base: must be null, 5 or 10")
    return problems + _ckm_problems(p.ckm)


def _ckm_problems(c: CkmParams) -> list[str]:
    problems = []
    if not 1 <= c.D <= 10:
        problems.append("ckm.D: maximum deviation must be an integer in 1..10")
    if not 0 < c.V <= c.D**2:
        problems.append("ckm.V: variance must be > 0 and at most D squared")
    if not 0 <= c.js <= 20:
        problems.append("ckm.js: must be an integer in 0..20")
    if not 8 <= c.key_bits <= 32:
        problems.append("ckm.key_bits: must be an integer in 8..32")
    if not 0 < c.magnitude_delta <= 1:
        problems.append("ckm.magnitude_delta: must be in (0, 1]")
    if c.tail != 0 and not c.D < c.tail <= 20:
        problems.append("ckm.tail: must be 0 (no tail) or an integer in D+1..20")
    if not 0 <= c.tail_mass <= 0.2 or (c.tail_mass > 0) != (c.tail > 0):
        problems.append("ckm.tail_mass: must be in (0, 0.2] with a tail, 0 without")
    return problems
