import numpy as np

from sdc.relations import build_relations
from sdc.table import CellTable, Hierarchy


def dense(coords, hierarchies=()):
    rel = build_relations(CellTable(np.array(coords, dtype=np.int32), {}, hierarchies))
    return {tuple(row) for row in rel.matrix.toarray().astype(int).tolist()}


def test_two_dimensional_margins_give_row_column_and_grand_relations():
    coords = [[0, 0], [0, 1], [1, 0], [1, 1], [-1, 0], [-1, 1], [0, -1], [1, -1], [-1, -1]]
    assert dense(coords) == {
        (-1, 0, -1, 0, 1, 0, 0, 0, 0),  # column 0
        (0, -1, 0, -1, 0, 1, 0, 0, 0),  # column 1
        (-1, -1, 0, 0, 0, 0, 1, 0, 0),  # row 0
        (0, 0, -1, -1, 0, 0, 0, 1, 0),  # row 1
        (0, 0, 0, 0, -1, -1, 0, 0, 1),  # grand total over columns
        (0, 0, 0, 0, 0, 0, -1, -1, 1),  # grand total over rows
    }


def test_no_totals_no_relations():
    assert dense([[0, 0], [0, 1], [1, 0]]) == set()


def test_relations_do_not_depend_on_row_order():
    coords = np.array(
        [[0, 0], [0, 1], [1, 0], [1, 1], [-1, 0], [-1, 1], [0, -1], [1, -1], [-1, -1]]
    )
    perm = np.random.default_rng(3).permutation(len(coords))
    a = build_relations(CellTable(coords.astype(np.int32), {})).matrix.toarray()
    b = build_relations(CellTable(coords[perm].astype(np.int32), {})).matrix.toarray()

    def as_sets(m, order):
        return {tuple(sorted((order[j], v) for j, v in enumerate(r) if v)) for r in m}

    assert as_sets(a, np.arange(len(coords))) == as_sets(b, perm)


def test_hierarchy_relation_between_two_items_of_one_dimension():
    # item 0 = gemeente (0, 1 in provincie 0; 2 in provincie 1), item 1 = provincie.
    coords = [[0, -1], [1, -1], [2, -1], [-1, 0], [-1, 1], [-1, -1]]
    h = Hierarchy(child_dim=0, parent_dim=1, child_to_parent=np.array([0, 0, 1]))
    rows = dense(coords, (h,))
    assert (-1, -1, 0, 1, 0, 0) in rows  # provincie 0 = gemeente 0 + gemeente 1
    assert (0, 0, -1, 0, 1, 0) in rows  # provincie 1 = gemeente 2
    assert (-1, -1, -1, 0, 0, 1) in rows  # national = all gemeenten
    assert (0, 0, 0, -1, -1, 1) in rows  # national = all provincies


def test_packed_groups_number_rows_as_sorting_the_rows_does():
    from sdc.relations import _groups

    rng = np.random.default_rng(5)
    small = rng.integers(-1, 7, size=(400, 3))
    wide = np.column_stack([rng.integers(-1, 2**40, 300), rng.integers(-1, 2**30, 300)])
    wide = np.concatenate([wide, wide[:50]])  # repeated rows share a group
    for keys in (small, wide, small[:, :1]):
        expected = np.unique(keys, axis=0, return_inverse=True)[1].ravel()
        assert np.array_equal(_groups(keys), expected)
    assert np.array_equal(_groups(np.zeros((4, 0), dtype=np.int64)), np.zeros(4))
