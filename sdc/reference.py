"""Reference computation of a ``CellTable`` from records (pure numpy, slow but obvious).

Used by tests, the benchmark and as the oracle for the cube engine's one-scan statistics:
every combination of members (zeros included) plus every margin (GROUPING SETS "cube").
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from sdc.table import KEY_SPACE, CellTable, Hierarchy, MeasureStats


def cell_table_from_records(
    members: np.ndarray,
    n_members: Sequence[int],
    holding: np.ndarray,
    record_key: np.ndarray,
    magnitudes: dict[str, np.ndarray] | None = None,
    margins: bool = True,
    hierarchies: tuple[Hierarchy, ...] = (),
) -> CellTable:
    """Records with ``members`` (n_records, n_dims) → cells with a ``count`` measure
    (number of records) and one magnitude measure per entry of ``magnitudes``."""
    members = np.asarray(members, dtype=np.int64).reshape(len(holding), -1)
    coords = _all_coords(n_members, margins)
    shape = np.asarray(n_members) + 1
    cell_of = np.full(int(np.prod(shape)), -1, dtype=np.int64)
    cell_of[_flat(coords, shape)] = np.arange(len(coords))
    rec_cells = [
        cell_of[_flat(np.where(mask, -1, members), shape)]
        for mask in _patterns(len(n_members), margins)
    ]
    ones = np.ones(len(holding))
    measures = {"count": _stats("count", len(coords), rec_cells, holding, ones, record_key)}
    for name, vals in (magnitudes or {}).items():
        measures[name] = _stats("magnitude", len(coords), rec_cells, holding, vals, record_key)
    return CellTable(coords.astype(np.int32), measures, hierarchies)


def _all_coords(n_members: Sequence[int], margins: bool) -> np.ndarray:
    ranges = [range(-1 if margins else 0, n) for n in n_members]
    return np.array(list(itertools.product(*ranges)), dtype=np.int64).reshape(-1, len(n_members))


def _patterns(n_dims: int, margins: bool):
    for bits in itertools.product((False, True) if margins else (False,), repeat=n_dims):
        yield np.array(bits, dtype=bool)


def _flat(coords: np.ndarray, shape: np.ndarray) -> np.ndarray:
    return np.ravel_multi_index(tuple((coords + 1).T), tuple(shape))


def _stats(kind, n_cells, rec_cells, holding, vals, record_key) -> MeasureStats:
    cells = np.concatenate(rec_cells)
    hold = np.tile(holding, len(rec_cells))
    v = np.tile(np.asarray(vals, dtype=np.float64), len(rec_cells))
    keys = np.tile(np.asarray(record_key, dtype=np.int64), len(rec_cells))
    value = np.bincount(cells, weights=v, minlength=n_cells)
    ck = np.zeros(n_cells, dtype=np.int64)
    np.add.at(ck, cells, keys)
    negative = np.bincount(cells, weights=(v < 0), minlength=n_cells) > 0
    # Contributions summed per holding, then per cell the number and the two largest.
    pair, inv = np.unique(np.column_stack([cells, hold]), axis=0, return_inverse=True)
    per_holding = np.bincount(inv.ravel(), weights=v)
    contributors = np.bincount(pair[:, 0], minlength=n_cells)
    x1, x2 = _top_two(pair[:, 0], np.abs(per_holding), n_cells)
    abs_value = np.bincount(pair[:, 0], weights=np.abs(per_holding), minlength=n_cells)
    return MeasureStats(
        kind, value, contributors.astype(np.int64), x1, x2, ck % KEY_SPACE, negative, abs_value
    )


def _top_two(cells: np.ndarray, amount: np.ndarray, n_cells: int):
    order = np.lexsort((-amount, cells))
    c, a = cells[order], amount[order]
    first = np.r_[True, c[1:] != c[:-1]]
    x1, x2 = np.zeros(n_cells), np.zeros(n_cells)
    x1[c[first]] = a[first]
    second = np.r_[False, first[:-1]] & ~first
    x2[c[second]] = a[second]
    return x1, x2
