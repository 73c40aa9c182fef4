"""Members of every level, read once from a release: codes, labels, parents, neighbours, peers.

The store is read-only after construction, so one instance is shared by all threads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import duckdb
import numpy as np

REGION_LEVELS = (
    "land",
    "provincie",
    "politie_eenheid",
    "veiligheidsregio",
    "gemeente",
    "wijk",
    "buurt",
)
PARENT_LEVELS = ("wijk", "gemeente", "provincie", "politie_eenheid", "veiligheidsregio")
# Peer groups: gemeenten of similar population size (CBS-style size classes, upper bounds).
PEER_CLASSES = (20_000, 50_000, 100_000, 250_000)


@dataclass(frozen=True, slots=True)
class RegionLevel:
    level: str
    codes: tuple[str, ...]  # index i <-> region id i + 1
    names: tuple[str, ...]
    index: dict[str, int]  # code -> index


@dataclass
class MemberStore:
    regions: dict[str, RegionLevel]
    # for every buurt (by index) the index of its parent at each level
    buurt_parent: dict[str, np.ndarray]
    # (code, wijk, gemeente, provincie, politie_eenheid, veiligheidsregio) of every region:
    # ``parents`` is built from them when first read (only the members listing reads it)
    parent_rows: list[tuple[str | None, ...]]
    neighbours: dict[str, tuple[str, ...]]
    population: dict[str, int]  # gemeente code -> inhabitants 2024
    sectors: dict[str, tuple[tuple[str, str, str | None], ...]]  # level -> (code, name, section)
    fact_years: dict[str, tuple[int, ...]] = field(default_factory=dict)

    @cached_property
    def parents(self) -> dict[str, dict[str, str]]:
        """code -> {level: parent code}, the levels it has a parent at."""
        return {
            row[0]: {k: v for k, v in zip(PARENT_LEVELS, row[1:], strict=True) if v is not None}
            for row in self.parent_rows
            if row[0] is not None
        }

    def peers(self, gemeente: str) -> tuple[str, ...]:
        """Gemeenten in the same population size class (documented in docs/cube-model.md)."""

        def size_class(code: str) -> int:
            pop = self.population.get(code, 0)
            return sum(pop >= b for b in PEER_CLASSES)

        target = size_class(gemeente)
        return tuple(c for c in self.regions["gemeente"].codes if size_class(c) == target)

    def region_level_of(self, code: str) -> str | None:
        for lv, rl in self.regions.items():
            if code in rl.index:
                return lv
        return None


def load_members(con: duckdb.DuckDBPyConnection, facts: tuple[str, ...]) -> MemberStore:
    rows = con.execute(
        "SELECT level, id, code, name, wijk, gemeente, provincie, politie_eenheid, "
        "veiligheidsregio, population FROM region ORDER BY level, id"
    ).fetchall()
    by_level: dict[str, list[Any]] = {lv: [] for lv in REGION_LEVELS}
    parent_rows: list[tuple[str | None, ...]] = []
    population: dict[str, int] = {}
    for level, rid, code, name, wk, gm, pv, pe, vr, pop in rows:
        if level not in by_level:
            continue
        if rid != len(by_level[level]) + 1:
            raise ValueError(f"region ids of level {level} are not dense")
        by_level[level].append((code, name))
        parent_rows.append((code, wk, gm, pv, pe, vr))
        if pop is not None:
            population[code] = int(pop)
    regions = {}
    for lv, items in by_level.items():
        codes = tuple(c for c, _ in items)
        index = dict(zip(codes, range(len(codes)), strict=True))
        regions[lv] = RegionLevel(lv, codes, tuple(n for _, n in items), index)
    buurt_parent = _buurt_parents(con, len(regions["buurt"].codes))
    neighbours: dict[str, list[str]] = {}
    for a, b in con.execute(
        "SELECT gemeente, neighbour FROM region_neighbour ORDER BY 1, 2"
    ).fetchall():
        neighbours.setdefault(a, []).append(b)
    sectors: dict[str, list[tuple[str, str, str | None]]] = {"section": [], "division": []}
    for level, code, name, section in con.execute(
        "SELECT level, code, name, section FROM sector ORDER BY level, code"
    ).fetchall():
        sectors.setdefault(level, []).append((code, name, section))
    years = {}
    for fact in facts:
        lo, hi = con.execute(f'SELECT min(year), max(year) FROM "{fact}"').fetchone() or (
            None,
            None,
        )
        years[fact] = tuple(range(int(lo), int(hi) + 1)) if lo is not None else ()
    return MemberStore(
        regions=regions,
        buurt_parent=buurt_parent,
        parent_rows=parent_rows,
        neighbours={k: tuple(v) for k, v in neighbours.items()},
        population=population,
        sectors={k: tuple(v) for k, v in sectors.items()},
        fact_years=years,
    )


def _buurt_parents(con: duckdb.DuckDBPyConnection, n_buurten: int) -> dict[str, np.ndarray]:
    """For every buurt (by index) the index of its parent at each level: one join, as the
    ids are dense per level (id i + 1 is index i, checked by ``load_members``)."""
    joins = " ".join(
        f"LEFT JOIN region p{i} ON p{i}.level = '{lv}' AND p{i}.code = b.{lv}"
        for i, lv in enumerate(PARENT_LEVELS)
    )
    picks = ", ".join(f"p{i}.id - 1 AS {lv}" for i, lv in enumerate(PARENT_LEVELS))
    found = con.execute(
        f"SELECT {picks} FROM region b {joins} WHERE b.level = 'buurt' ORDER BY b.id"
    ).fetchnumpy()
    out = {
        "buurt": np.arange(n_buurten),
        "land": np.zeros(n_buurten, dtype=np.int64),
    }
    for lv in PARENT_LEVELS:
        column = found[lv]
        if len(column) != n_buurten or np.ma.is_masked(column):
            raise ValueError(f"a buurt has no parent {lv} among the regions")
        out[lv] = np.asarray(column, dtype=np.int64)
    return out
