"""Axes: for one role of a cube, the members of each level over a common base.

Every role has a finest *base* (buurten, months, single ages, SBI divisions, codes). Each level
maps a base item to one of its members, so cuts at any level and drill-downs at any other level
combine by filtering the base (a cut on provincie drilled by gemeente lists exactly the gemeenten
of that provincie). Each level also has the Ibis expression that computes its member *key*
from a fact row; keys are ints where possible, for fast grouping.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import cachetools
import numpy as np

from cube.members import REGION_LEVELS, MemberStore
from cube.model import Role
from dimensions import age as agedef
from dimensions import codelists
from dimensions.model import Label

if TYPE_CHECKING:
    from ibis.expr.types import Table, Value

UNKNOWN = "unknown"
UNKNOWN_LABEL = Label("Onbekend", "Unknown")


@dataclass(frozen=True, slots=True)
class LevelAxis:
    level: str
    codes: tuple[str, ...]
    labels: tuple[Label, ...]
    keys: tuple[Any, ...]  # SQL key per member, same order as codes
    base_index: np.ndarray  # base item -> member index
    expr: Callable[[Table], Value]  # fact row -> key

    def index_of(self, code: str) -> int | None:
        return self.positions().get(code)

    def positions(self) -> dict[Any, int]:
        """Each member code's index (its first), built once per level: a level of buurten has
        some 14,000 codes, and a search per code passed over them all."""

        def make() -> dict[Any, int]:
            out: dict[Any, int] = {}
            for i, c in enumerate(self.codes):
                out.setdefault(c, i)
            return out

        return _POSITIONS.get(self, "positions", make)  # type: ignore[no-any-return]

    def key_positions(self) -> dict[Any, int]:
        """Each member's index by its SQL key, built once per level (as ``positions``)."""

        def make() -> dict[Any, int]:
            return {k: i for i, k in enumerate(self.keys)}

        return _POSITIONS.get(self, "key_positions", make)  # type: ignore[no-any-return]


class PerAxis:
    """What an answer derives from a level or role axis alone, computed once per axis and key:
    an axis lives as long as its release, while answers come and go. Bounded; an entry keeps
    its axis alive, so the axis's id is not reused while the entry stands; callers only read
    what it holds."""

    def __init__(self, size: int) -> None:
        self._cache: cachetools.LRUCache[tuple[int, Any], tuple[Any, Any]] = cachetools.LRUCache(
            size
        )
        self._lock = threading.Lock()

    def get(self, axis: Any, key: Any, make: Callable[[], Any]) -> Any:
        entry = (id(axis), key)
        with self._lock:
            hit = self._cache.get(entry)
        if hit is not None and hit[0] is axis:
            return hit[1]
        made = make()
        with self._lock:
            self._cache[entry] = (axis, made)
        return made


_POSITIONS = PerAxis(1024)


@dataclass(frozen=True, slots=True)
class RoleAxis:
    role: Role
    base_size: int
    levels: dict[str, LevelAxis]


def _column(name: str) -> Callable[[Table], Value]:
    def expr(t: Table) -> Value:
        return t[name]

    return expr


def _ibis() -> Any:
    """Ibis, imported when a key expression is first built (compiling SQL), not at start-up."""
    import ibis

    return ibis


def _constant(value: int) -> Callable[[Table], Value]:
    def expr(t: Table) -> Value:
        return _ibis().literal(value)

    return expr


def _same(n: int) -> np.ndarray:
    return np.arange(n, dtype=np.int64)


def _region_axis(role: Role, store: MemberStore) -> dict[str, LevelAxis]:
    out = {}
    prefix = role.prefix
    for lv in REGION_LEVELS:
        if lv not in role.levels:
            continue
        rl = store.regions[lv]
        expr = _constant(1) if lv == "land" else _column(f"{prefix}_{lv}")
        keys = tuple(range(1, len(rl.codes) + 1))
        out[lv] = LevelAxis(lv, rl.codes, store.labels(lv), keys, store.buurt_parent[lv], expr)
    return out


def _period_axis(role: Role, years: tuple[int, ...]) -> dict[str, LevelAxis]:
    monthly = "month" in role.levels or "quarter" in role.levels
    base = [(y, m) for y in years for m in range(1, 13)] if monthly else [(y, 1) for y in years]
    ys = np.array([y for y, _ in base])
    ms = np.array([m for _, m in base])
    out = {}
    yi = np.searchsorted(np.array(years), ys)
    out["year"] = LevelAxis(
        "year",
        tuple(str(y) for y in years),
        tuple(Label(str(y), str(y)) for y in years),
        tuple(years),
        yi,
        lambda t: t["year"],
    )
    if "quarter" in role.levels:
        codes = tuple(f"{y}-Q{q}" for y in years for q in range(1, 5))
        out["quarter"] = LevelAxis(
            "quarter",
            codes,
            tuple(Label(c, c) for c in codes),
            tuple(y * 10 + q for y in years for q in range(1, 5)),
            yi * 4 + (ms - 1) // 3,
            lambda t: t["year"] * 10 + t["quarter"],
        )
    if "month" in role.levels:
        codes = tuple(f"{y}-{m:02d}" for y in years for m in range(1, 13))
        out["month"] = LevelAxis(
            "month",
            codes,
            tuple(Label(c, c) for c in codes),
            tuple(y * 100 + m for y in years for m in range(1, 13)),
            _same(len(base)),
            # year is SMALLINT in the facts: widen first, 2024 * 100 overflows INT16
            lambda t: t["year"].cast("int32") * 100 + t["month"],
        )
    return out


def _grouped(
    codes: tuple[str, ...],
    of_base: list[str],
    col: str,
    unknown: bool,
    case: Callable[[Value], Value],
) -> LevelAxis:
    """A level whose members are groups of the base (age bands, quintiles)."""
    all_codes = codes + ((UNKNOWN,) if unknown else ())
    labels = tuple(UNKNOWN_LABEL if c == UNKNOWN else Label(c, c) for c in all_codes)
    keys = tuple(range(len(codes))) + ((-1,) if unknown else ())
    index = np.array([all_codes.index(c) for c in of_base], dtype=np.int64)
    return LevelAxis(
        "",
        all_codes,
        labels,
        keys,
        index,
        lambda t: case(t[col]).fill_null(-1) if unknown else case(t[col]),
    )


def _age_axis(role: Role, unknown: bool) -> dict[str, LevelAxis]:
    col = role.column("single")
    ages = list(range(agedef.MAX_AGE + 1))
    base = [str(a) for a in ages] + ([UNKNOWN] if unknown else [])

    def case_of(groups: tuple[tuple[int, int | None], ...]) -> Callable[[Value], Value]:
        def case(c: Value) -> Value:
            branches = [(c < lo, i) for i, lo in enumerate(agedef.bounds(groups))]
            return _ibis().cases(*branches, else_=len(groups) - 1)

        return case

    defs = {
        "single": (tuple(str(a) for a in ages), base, lambda c: _ibis().least(c, agedef.MAX_AGE)),
        "band5": (
            agedef.band5_codes(),
            [agedef.band5_code(a) for a in ages] + base[len(ages) :],
            lambda c: _ibis().least(c // 5, 19),
        ),
        "broad": (
            agedef.broad_codes(),
            [agedef.broad_code(a) for a in ages] + base[len(ages) :],
            case_of(agedef.BROAD),
        ),
        "youth": (
            agedef.youth_codes(),
            [agedef.youth_code(a) for a in ages] + base[len(ages) :],
            case_of(agedef.YOUTH),
        ),
    }
    out = {}
    for lv in role.levels:
        codes, of_base, case = defs[lv]
        ax = _grouped(codes, of_base, col, unknown, case)
        keys = (
            tuple(range(agedef.MAX_AGE + 1)) + ((-1,) if unknown else ())
            if lv == "single"
            else ax.keys
        )
        out[lv] = LevelAxis(lv, ax.codes, ax.labels, keys, ax.base_index, ax.expr)
    return out


def _income_axis(role: Role, unknown: bool) -> dict[str, LevelAxis]:
    col = role.column("decile")
    deciles = tuple(str(d) for d in range(1, 11))
    base = list(deciles) + ([UNKNOWN] if unknown else [])
    quint = [str((d + 1) // 2) for d in range(1, 11)] + base[10:]
    out = {}
    for lv, codes, of_base, fn in (
        ("decile", deciles, base, lambda c: c - 1),
        ("quintile", tuple(str(q) for q in range(1, 6)), quint, lambda c: (c - 1) // 2),
    ):
        if lv in role.levels:
            ax = _grouped(codes, of_base, col, unknown, fn)
            out[lv] = LevelAxis(lv, ax.codes, ax.labels, ax.keys, ax.base_index, ax.expr)
    return out


def _coded_axis(
    level: str, codes: tuple[str, ...], labels: tuple[Label, ...], col: str, unknown: bool
) -> LevelAxis:
    if unknown:
        codes, labels = (*codes, UNKNOWN), (*labels, UNKNOWN_LABEL)
    expr = (lambda t: t[col].fill_null(UNKNOWN)) if unknown else (lambda t: t[col])
    return LevelAxis(level, codes, labels, codes, _same(len(codes)), expr)


def _flag_axis(role: Role) -> dict[str, LevelAxis]:
    col = role.column("value")
    codes, labels = ("yes", "no"), (Label("Ja", "Yes"), Label("Nee", "No"))
    return {
        "value": LevelAxis(
            "value", codes, labels, codes, _same(2), lambda t: t[col].ifelse("yes", "no")
        )
    }


def _sector_axis(role: Role, store: MemberStore) -> dict[str, LevelAxis]:
    divisions = store.sectors["division"]
    sections = store.sectors["section"]
    sec_codes = tuple(c for c, _, _ in sections)
    out = {}
    if "section" in role.levels:
        col = role.column("section")
        out["section"] = LevelAxis(
            "section",
            sec_codes,
            tuple(Label(n, n) for _, n, _ in sections),
            sec_codes,
            np.array([sec_codes.index(s or "") for _, _, s in divisions], dtype=np.int64),
            _column(col),
        )
    if "division" in role.levels:
        col = role.column("division")
        codes = tuple(c for c, _, _ in divisions)
        out["division"] = LevelAxis(
            "division",
            codes,
            tuple(Label(n, n) for _, n, _ in divisions),
            codes,
            _same(len(codes)),
            _column(col),
        )
    return out


def role_axis(role: Role, store: MemberStore, years: tuple[int, ...], unknown: bool) -> RoleAxis:
    dim = role.dimension
    kinds = {lv.kind for lv in dim.levels}
    levels: dict[str, LevelAxis]
    if "region" in kinds:
        levels = _region_axis(role, store)
    elif dim.id == "period":
        levels = _period_axis(role, years)
    elif "age" in kinds:
        levels = _age_axis(role, unknown)
    elif "decile" in kinds:
        levels = _income_axis(role, unknown)
    elif "sector_division" in kinds:
        levels = _sector_axis(role, store)
    elif "flag" in kinds:
        levels = _flag_axis(role)
    else:
        lv = dim.levels[0]
        cl = codelists.BY_NAME[lv.codelist or ""]
        levels = {
            lv.id: _coded_axis(
                lv.id,
                tuple(c.code for c in cl.codes),
                tuple(Label(c.label_nl, c.label_en) for c in cl.codes),
                role.column(lv.id),
                unknown,
            )
        }
    base_size = len(next(iter(levels.values())).base_index)
    return RoleAxis(role, base_size, levels)
