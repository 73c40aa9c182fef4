"""What the cube engine hands to disclosure control: per-cell statistics of one answer.

The cube computes these in one scan (GROUPING SETS); ``sdc`` never sees records. Arrays are
indexed by cell; ``coords[c, d] == -1`` marks a total (margin) over drill-down item ``d``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

KEY_SPACE = 2**32  # record keys and cell keys live in [0, 2**32): see docs/release-schema.md


class TableError(ValueError):
    """The cell table handed to ``protect`` is malformed (a programming error, not a user one)."""


# eq=False: the fields are numpy arrays, whose == is element-wise; identity equality is right.
@dataclass(frozen=True, slots=True, eq=False)
class MeasureStats:
    """Disclosure statistics of one measure for every cell.

    For cells with a negative contribution (``has_negative``) ``x1``/``x2`` are the largest
    *absolute* per-holding contributions and ``abs_value`` (if given) is the sum of absolute
    contributions; see docs/disclosure-control.md, "Negative contributions".
    """

    kind: Literal["count", "magnitude"]
    value: np.ndarray  # float64: true aggregate (count of units, or sum)
    contributors: np.ndarray  # int64: exact number of distinct holdings in the cell
    x1: np.ndarray  # float64: largest per-holding contribution (0 for counts)
    x2: np.ndarray  # float64: second largest per-holding contribution (0 if < 2)
    cell_key: np.ndarray  # int64 in [0, 2**32): sum of record keys mod 2**32
    has_negative: np.ndarray | None = None  # bool: some contribution in the cell is negative
    abs_value: np.ndarray | None = None  # float64: sum of |contribution| (only used if negative)
    # Additive stand-in for ``value`` in the relations of secondary suppression and its audit,
    # when ``value`` is not additive over margins (distinct counts: a person with registrations
    # in two buurten counts once in their total). The row counts bound the distinct counts.
    additive_value: np.ndarray | None = None

    @property
    def n_cells(self) -> int:
        return int(self.value.shape[0])

    def negative_mask(self) -> np.ndarray:
        if self.has_negative is None:
            return np.zeros(self.n_cells, dtype=bool)
        return np.asarray(self.has_negative, dtype=bool)

    def take(self, cells: np.ndarray) -> MeasureStats:
        """The statistics of ``cells`` only, in that order."""

        def pick(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else np.asarray(a)[cells]

        return MeasureStats(
            self.kind,
            np.asarray(self.value)[cells],
            np.asarray(self.contributors)[cells],
            np.asarray(self.x1)[cells],
            np.asarray(self.x2)[cells],
            np.asarray(self.cell_key)[cells],
            pick(self.has_negative),
            pick(self.abs_value),
            pick(self.additive_value),
        )


@dataclass(frozen=True, slots=True, eq=False)
class Hierarchy:
    """Drill-down items ``child_dim`` and ``parent_dim`` are two levels of one dimension.

    ``child_to_parent[i]`` is the parent member index of child member ``i``. It adds the
    relation total(child=-1, parent=p) = sum over children g of p of cell(child=g, parent=-1).
    """

    child_dim: int
    parent_dim: int
    child_to_parent: np.ndarray


@dataclass(frozen=True, slots=True, eq=False)
class CellTable:
    coords: np.ndarray  # int32 (n_cells, n_dims): member index per item, -1 = total
    measures: Mapping[str, MeasureStats]
    hierarchies: tuple[Hierarchy, ...] = ()

    @property
    def n_cells(self) -> int:
        return int(self.coords.shape[0])

    def validate(self) -> None:
        """Raise ``TableError`` listing every inconsistency (shapes, kinds, key range)."""
        problems = _coord_problems(self.coords)
        n = self.n_cells
        for name, stats in self.measures.items():
            problems += [f"measure {name}: {p}" for p in _stats_problems(stats, n)]
        for h in self.hierarchies:
            problems += _hierarchy_problems(h, self.coords)
        if problems:
            raise TableError("invalid cell table: " + "; ".join(problems))


def _coord_problems(coords: np.ndarray) -> list[str]:
    if coords.ndim != 2:
        return ["coords must be a 2-d array (cells x drill-down items)"]
    if coords.shape[0] and coords.min(initial=0) < -1:
        return ["coords must be member indexes >= 0 or -1 for a total"]
    if coords.shape[0] and _has_duplicate_rows(coords):
        return ["coords contain duplicate cells"]
    return []


def _has_duplicate_rows(coords: np.ndarray) -> bool:
    """Rows encoded as mixed-radix integers and sorted (``np.unique(axis=0)`` sorts a record
    view, ~10x slower on answers of tens of thousands of cells); the record view when the
    codes would not fit in 62 bits."""
    if coords.shape[1] == 0:  # no drill-down: one cell, the grand total
        return coords.shape[0] > 1
    shifted = coords.astype(np.int64) + 1  # -1 (a total) -> 0
    counted = _counted_duplicates(shifted)
    if counted is not None:
        return counted
    packed = packed_rows(coords)
    if packed is None:
        return len(np.unique(coords, axis=0)) != coords.shape[0]
    codes = np.sort(packed)
    return bool(np.any(codes[1:] == codes[:-1]))


def unique_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(rows, axis=0, return_inverse=True)`` of a 2-d integer array: the distinct
    rows in the same (lexicographic) order and, per row, the index of its own (flat). Each
    row packed into one integer first where they fit in 62 bits: ``np.unique(axis=0)`` sorts a
    record view, which took half a second for the 370,000 yearly cells behind an answer of
    wijken x income deciles over ten years."""
    packed = packed_rows(rows) if rows.ndim == 2 else None
    if packed is None:
        unique, inverse = np.unique(rows, axis=0, return_inverse=True)
        return unique, inverse.reshape(-1)
    _, first, inverse = np.unique(packed, return_index=True, return_inverse=True)
    return rows[first], inverse.reshape(-1)


def packed_rows(rows: np.ndarray) -> np.ndarray | None:
    """One int64 per row of a 2-d integer array, equal exactly where the rows are and in
    their lexicographic order (each column less its minimum, in mixed radix, the first most
    significant); None without rows or columns, or when the codes would pass 62 bits."""
    if rows.shape[1] == 0 or len(rows) == 0:
        return None
    low = rows.min(axis=0).astype(np.int64)
    span = rows.max(axis=0).astype(np.int64) - low + 1
    if float(np.prod(span.astype(np.float64))) >= 2.0**62:
        return None
    packed = np.zeros(len(rows), dtype=np.int64)
    for d in range(rows.shape[1]):
        packed = packed * span[d] + (rows[:, d].astype(np.int64) - low[d])
    return packed


def _counted_duplicates(shifted: np.ndarray) -> bool | None:
    """Duplicate rows found without a sort (``dense_codes``, then counted); None when the
    codes would span much more than the rows (then sort)."""
    dense = dense_codes(shifted)
    if dense is None:
        return None
    codes, ranks = dense
    span = int(np.prod([int(rank[-1]) + 1 for _, rank in ranks]))
    return bool(np.bincount(codes, minlength=span).max(initial=0) > 1)


def dense_codes(
    rows: np.ndarray,
) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]] | None:
    """One integer per row of non-negative integers, equal exactly where the rows are: each
    column renumbered densely over the values it holds, the rows numbered in mixed radix over
    those, so the codes span at most the product of the columns' distinct counts. Also, per
    column, which values it holds and their new numbers (to number other rows alike). None
    when a column's values or that span reach beyond ``4 * rows + 65,536``."""
    limit = 4 * len(rows) + 65_536
    codes = np.zeros(len(rows), dtype=np.int64)
    ranks = []
    span = 1
    for col in rows.T:
        if int(col.min(initial=0)) < 0 or int(col.max(initial=0)) >= limit:
            return None
        held = np.zeros(int(col.max(initial=0)) + 1, dtype=bool)
        held[col] = True
        rank = np.cumsum(held) - 1
        size = int(rank[-1]) + 1
        span *= size
        if span > limit:
            return None
        codes = codes * size + rank[col]
        ranks.append((held, rank))
    return codes, ranks


def _stats_problems(s: MeasureStats, n: int) -> list[str]:
    problems = []
    if s.kind not in ("count", "magnitude"):
        problems.append("kind must be 'count' or 'magnitude'")
    for field in ("value", "contributors", "x1", "x2", "cell_key", "has_negative", "abs_value"):
        arr = getattr(s, field)
        if arr is not None and np.shape(arr) != (n,):
            problems.append(f"{field} must have one entry per cell")
    if problems:
        return problems
    if np.any(s.contributors < 0):
        problems.append("contributors must be >= 0")
    if np.any((s.cell_key < 0) | (s.cell_key >= KEY_SPACE)):
        problems.append("cell_key must lie in [0, 2**32)")
    if not np.all(np.isfinite(s.value)):
        problems.append("value must be finite")
    return problems


def _hierarchy_problems(h: Hierarchy, coords: np.ndarray) -> list[str]:
    n_dims = coords.shape[1] if coords.ndim == 2 else 0
    if not (0 <= h.child_dim < n_dims and 0 <= h.parent_dim < n_dims):
        return ["hierarchy refers to a drill-down item that does not exist"]
    if h.child_dim == h.parent_dim:
        return ["hierarchy child and parent must be different drill-down items"]
    children = coords[:, h.child_dim]
    if children.max(initial=-1) >= len(h.child_to_parent):
        return ["hierarchy child_to_parent does not cover every child member"]
    return []
