"""Logical dimension model: dimensions, levels and hierarchies (no physical mapping here).

A level's ``kind`` says how its members are enumerated and how a fact value becomes a member
code; the physical mapping (which fact column) lives in the cube model (``cube/model.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

# Level kinds the engine knows. Members of each kind come from:
LEVEL_KINDS = frozenset(
    {
        "region",  # the release's `region` table (id columns per role and level)
        "year",  # the years present in the fact
        "quarter",  # year x 1..4, codes 2023-Q1
        "month",  # year x 1..12, codes 2023-01
        "age",  # single years 0..max_age, codes "0".."105"
        "age_band5",  # 5-year bands, codes "0-4" .. "95+"
        "age_broad",  # CBS broad groups 0-14, 15-24, 25-44, 45-64, 65+
        "age_youth",  # youth hierarchy 12-17, 18-22 (jonge aanwas), 23+; under 12 is "0-11"
        "codelist",  # a code list of dimensions.codelists
        "decile",  # 1..10
        "quintile",  # 1..5 (deciles paired)
        "sector_section",  # SBI sections A..U
        "sector_division",  # SBI divisions 01..99
        "flag",  # booleans, codes "yes" / "no"
    }
)


@dataclass(frozen=True, slots=True)
class Label:
    nl: str
    en: str

    def get(self, lang: str) -> str:
        return self.en if lang == "en" else self.nl


@dataclass(frozen=True, slots=True)
class Level:
    id: str
    label: Label
    kind: str
    codelist: str | None = None  # for kind == "codelist"


@dataclass(frozen=True, slots=True)
class Hierarchy:
    id: str
    levels: tuple[str, ...]  # coarse to fine


@dataclass(frozen=True, slots=True)
class Dimension:
    id: str
    label: Label
    levels: tuple[Level, ...]
    hierarchies: tuple[Hierarchy, ...]
    description: str = ""
    # Its roles mean different things in different cubes (a yes/no flag: cash payment,
    # doorsluis dwelling, earlier suspicion): one maps onto another cube's role of the same
    # name only, never onto its only role of the dimension (``cube.plan.other_role``).
    by_name_only: bool = False

    @property
    def level_ids(self) -> tuple[str, ...]:
        return tuple(lv.id for lv in self.levels)

    def parents_of(self, level_id: str) -> tuple[str, ...]:
        """Levels above ``level_id`` in any hierarchy (its roll-up targets)."""
        out: list[str] = []
        for h in self.hierarchies:
            if level_id in h.levels:
                for lv in h.levels[: h.levels.index(level_id)]:
                    if lv not in out:
                        out.append(lv)
        return tuple(out)
