"""Additive relations of an answer, derived from cell coordinates.

For every drill-down item d and every cell c with ``coords[c, d] == -1``: c is the sum of the
cells that agree with c on all other items and have a member on d (a GROUPING SETS answer
holds all of them, zeros included). Hierarchies add: total(child=-1, parent=p) = sum of
cell(child=g, parent=-1) over the children g of p. Each relation is one row of a sparse
matrix ``A`` with ``A @ values == 0`` (+1 for the total, -1 for each part).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sdc.table import CellTable, Hierarchy, unique_rows

if TYPE_CHECKING:  # SciPy is imported where relations are built, not at start-up
    from scipy import sparse


@dataclass(frozen=True, slots=True, eq=False)
class Relations:
    matrix: sparse.csr_matrix  # (n_relations, n_cells), entries +1 (total) / -1 (parts)
    by_cell: sparse.csc_matrix  # the same matrix in column form: relations of each cell
    total: np.ndarray  # per relation, its total cell (-1: none)

    @property
    def n(self) -> int:
        return int(self.matrix.shape[0])

    def members(self, r: int) -> np.ndarray:
        m = self.matrix
        return m.indices[m.indptr[r] : m.indptr[r + 1]]

    def of_cell(self, c: int) -> np.ndarray:
        m = self.by_cell
        return m.indices[m.indptr[c] : m.indptr[c + 1]]


def entries(m, major: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The stored entries of rows (CSR) or columns (CSC) ``major`` of ``m``: for each, the
    position in ``major`` it belongs to, its minor index and its value. (Read straight from
    the compressed form: SciPy's slicing costs more than the work for a few cells.)"""
    starts, ends = m.indptr[major], m.indptr[major + 1]
    sizes = ends - starts
    at = np.repeat(starts - np.cumsum(sizes) + sizes, sizes) + np.arange(int(sizes.sum()))
    return np.repeat(np.arange(len(major)), sizes), m.indices[at], m.data[at]


def build_relations(table: CellTable) -> Relations:
    from scipy import sparse

    coords = np.asarray(table.coords, dtype=np.int64)
    n_cells = coords.shape[0]
    pieces = [_margin_relations(coords, d) for d in range(coords.shape[1])]
    pieces += [_hierarchy_relations(coords, h) for h in table.hierarchies]
    rows, cols, vals, offset = [], [], [], 0
    for r, c, v, n_rel in pieces:
        rows.append(r + offset)
        cols.append(c)
        vals.append(v)
        offset += n_rel
    matrix = sparse.csr_matrix(
        (
            np.concatenate(vals or [np.zeros(0)]),
            (
                np.concatenate(rows or [np.zeros(0, int)]),
                np.concatenate(cols or [np.zeros(0, int)]),
            ),
        ),
        shape=(offset, n_cells),
    )
    matrix.sum_duplicates()
    coo = matrix.tocoo()
    total = np.full(offset, -1, dtype=np.int64)
    is_total = coo.data > 0
    total[coo.row[is_total]] = coo.col[is_total]
    return Relations(matrix, matrix.tocsc(), total)


def _margin_relations(coords: np.ndarray, d: int):
    is_total = coords[:, d] == -1
    others = np.delete(coords, d, axis=1)
    cells = np.arange(coords.shape[0])
    return _match(others[is_total], cells[is_total], others[~is_total], cells[~is_total])


def _hierarchy_relations(coords: np.ndarray, h: Hierarchy):
    child, parent = coords[:, h.child_dim], coords[:, h.parent_dim]
    others = np.delete(coords, [h.child_dim, h.parent_dim], axis=1)
    cells = np.arange(coords.shape[0])
    totals = (child == -1) & (parent >= 0)
    parts = (child >= 0) & (parent == -1)
    c2p = np.asarray(h.child_to_parent, dtype=np.int64)
    total_keys = np.column_stack([others[totals], parent[totals]])
    part_keys = np.column_stack([others[parts], c2p[child[parts]]])
    return _match(total_keys, cells[totals], part_keys, cells[parts])


def _match(total_keys, total_cells, part_keys, part_cells):
    """One relation per total whose key is shared by at least one part."""
    n_tot = len(total_cells)
    if n_tot == 0 or len(part_cells) == 0:
        return np.zeros(0, int), np.zeros(0, int), np.zeros(0), 0
    keys = np.concatenate([total_keys, part_keys]).reshape(n_tot + len(part_cells), -1)
    group = _groups(keys)
    rel_of_group = np.full(group.max() + 1, -1)
    rel_of_group[group[:n_tot]] = np.arange(n_tot)
    part_rel = rel_of_group[group[n_tot:]]
    keep = part_rel >= 0
    part_rel, part_cells = part_rel[keep], part_cells[keep]
    used = np.bincount(part_rel, minlength=n_tot) > 0
    renumber = np.cumsum(used) - 1
    tot_ids = np.flatnonzero(used)
    rows = np.concatenate([renumber[tot_ids], renumber[part_rel]])
    cols = np.concatenate([total_cells[tot_ids], part_cells])
    vals = np.concatenate([np.ones(len(tot_ids)), -np.ones(len(part_cells))])
    return rows, cols, vals, len(tot_ids)


def _groups(keys: np.ndarray) -> np.ndarray:
    """A group number per row of ``keys`` (equal rows, equal numbers).

    Coordinates are small (members numbered from 0, -1 for a total), so the rows are usually
    packed into one integer each (``sdc.table.unique_rows``): sorting rows
    (``np.unique(axis=0)``) took most of the time of building the relations of a 100k-cell
    table.
    """
    if keys.shape[1] == 0:
        return np.zeros(len(keys), dtype=np.int64)
    return unique_rows(keys)[1]
