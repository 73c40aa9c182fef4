"""Members of every level, read once from a release: codes, labels, parents, neighbours, peers.

The store is read-only after construction, so one instance is shared by all threads.
``member_record`` and ``store_from_record`` turn it into JSON-ready data and back (the same
store, field by field), for the per-release cache of what opening reads (``cube/opened.py``).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import duckdb
import numpy as np

from dimensions.model import Label

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
    _labels: dict[str, tuple[Label, ...]] = field(default_factory=dict, repr=False, compare=False)

    def labels(self, level: str) -> tuple[Label, ...]:
        """The labels of a region level's members (a region's name in both languages), built
        once for every role and cube that has the level."""
        found = self._labels.get(level)
        if found is None:
            names = self.regions[level].names
            found = self._labels[level] = tuple(map(Label, names, names))
        return found

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


def member_record(store: MemberStore) -> dict[str, Any] | None:
    """The store as compact JSON-ready data, or None when ``store_from_record`` would not
    read it back equal field by field (a code or name with a line break, for one).

    Codes and names of a level are one text each, joined by line breaks; a buurt's parents are
    its parent indexes (little-endian int32, base64): the parent rows of buurten are not
    stored, they are the codes at those indexes (as ``load_members`` reads them)."""
    regions = {lv: ["\n".join(rl.codes), "\n".join(rl.names)] for lv, rl in store.regions.items()}
    segments: list[list[Any]] = []  # the parent rows, level by level, in the store's order
    for row in store.parent_rows:
        level = store.region_level_of(row[0]) if row[0] is not None else None
        if not segments or segments[-1][0] != level:
            segments.append([level, []])
        segments[-1][1].append(row)
    record = {
        "regions": regions,
        "buurt_parent": {
            lv: base64.b64encode(store.buurt_parent[lv].astype("<i4").tobytes()).decode()
            for lv in PARENT_LEVELS
        },
        "parent_rows": [
            [lv, len(rows), None if lv == "buurt" else _columns(rows)] for lv, rows in segments
        ],
        "neighbours": {k: list(v) for k, v in store.neighbours.items()},
        "population": store.population,
        "sectors": {lv: [list(s) for s in items] for lv, items in store.sectors.items()},
        "fact_years": {f: list(y) for f, y in store.fact_years.items()},
    }
    try:
        same = same_store(store_from_record(record), store)
    except (ValueError, TypeError, KeyError):
        same = False
    return record if same else None


def same_store(a: MemberStore, b: MemberStore) -> bool:
    """Equal field by field (the parent indexes of buurten as int64 arrays)."""
    return (
        a.regions == b.regions
        and a.buurt_parent.keys() == b.buurt_parent.keys()
        and all(
            a.buurt_parent[k].dtype == b.buurt_parent[k].dtype == np.int64
            and np.array_equal(a.buurt_parent[k], b.buurt_parent[k])
            for k in a.buurt_parent
        )
        and a.parent_rows == b.parent_rows
        and a.neighbours == b.neighbours
        and a.population == b.population
        and a.sectors == b.sectors
        and a.fact_years == b.fact_years
    )


def store_from_record(record: dict[str, Any]) -> MemberStore:
    """The store ``member_record`` wrote; ValueError, TypeError or KeyError for anything else."""
    regions = {}
    for lv in REGION_LEVELS:
        codes, names = (_lines(text) for text in record["regions"][lv])
        if len(codes) != len(names):
            raise ValueError(f"level {lv}: {len(codes)} codes, {len(names)} names")
        regions[lv] = RegionLevel(
            lv, codes, names, dict(zip(codes, range(len(codes)), strict=True))
        )
    n = len(regions["buurt"].codes)
    buurt_parent = {"buurt": np.arange(n), "land": np.zeros(n, dtype=np.int64)}
    for lv in PARENT_LEVELS:
        raw = base64.b64decode(_text(record["buurt_parent"][lv]), validate=True)
        column = np.frombuffer(raw, dtype="<i4").astype(np.int64)
        if column.shape != (n,) or (
            n and not 0 <= column.min() <= column.max() < len(regions[lv].codes)
        ):
            raise ValueError(f"buurt parents at {lv} are not indexes of its members")
        buurt_parent[lv] = column
    parent_rows: list[tuple[str | None, ...]] = []
    for lv, count, columns in record["parent_rows"]:
        if lv == "buurt":
            if count != n:
                raise ValueError("parent rows of another number of buurten")
            columns = [regions["buurt"].codes] + [
                np.asarray(regions[p].codes, dtype=object)[buurt_parent[p]].tolist()
                for p in PARENT_LEVELS
            ]
        else:
            columns = [[c or None for c in _text(text).split("\n")] for text in columns]
            if len(columns) != 1 + len(PARENT_LEVELS) or {len(c) for c in columns} != {count}:
                raise ValueError(f"parent rows of {lv} of another shape")
        parent_rows.extend(zip(*columns, strict=True))
    population = {_text(k): _int(v) for k, v in record["population"].items()}
    neighbours = {_text(k): tuple(_text(c) for c in v) for k, v in record["neighbours"].items()}
    sectors = {
        _text(lv): tuple((_text(c), _text(name), _optional(section)) for c, name, section in items)
        for lv, items in record["sectors"].items()
    }
    years = {_text(f): tuple(_int(y) for y in ys) for f, ys in record["fact_years"].items()}
    return MemberStore(
        regions=regions,
        buurt_parent=buurt_parent,
        parent_rows=parent_rows,
        neighbours=neighbours,
        population=population,
        sectors=sectors,
        fact_years=years,
    )


def _columns(rows: list[tuple[str | None, ...]]) -> list[str]:
    """Rows as one text per column, a missing parent as an empty line."""
    return ["\n".join(c or "" for c in column) for column in zip(*rows, strict=True)]


def _lines(text: Any) -> tuple[str, ...]:
    return tuple(_text(text).split("\n")) if text else ()


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("not a string")
    return value


def _optional(value: Any) -> str | None:
    return None if value is None else _text(value)


def _int(value: Any) -> int:
    if type(value) is not int:
        raise TypeError("not an integer")
    return value
