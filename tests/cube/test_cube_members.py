"""Members read from a release (``cube/members.py``): every buurt's parents by index, the parents
of every region by code, and a clear error for a buurt without a parent; the compact record
reads back as the same store, or is not made."""

from __future__ import annotations

from dataclasses import replace

import duckdb
import pytest

from cube.members import (
    PARENT_LEVELS,
    RegionLevel,
    load_members,
    member_record,
    same_store,
    store_from_record,
)


@pytest.fixture(scope="module")
def con(release):
    c = duckdb.connect(str(release.db_path), read_only=True)
    yield c
    c.close()


def test_buurt_parents_are_the_indexes_of_their_parent_codes(con):
    store = load_members(con, ())
    buurten = con.execute(
        "SELECT code, wijk, gemeente, provincie, politie_eenheid, veiligheidsregio "
        "FROM region WHERE level = 'buurt' ORDER BY id"
    ).fetchall()
    assert len(buurten) == len(store.regions["buurt"].codes) > 0
    for i, (code, *parents) in enumerate(buurten):
        assert store.regions["buurt"].codes[i] == code
        for lv, parent in zip(PARENT_LEVELS, parents, strict=True):
            assert store.regions[lv].codes[store.buurt_parent[lv][i]] == parent
    assert store.buurt_parent["land"].tolist() == [0] * len(buurten)
    assert store.buurt_parent["buurt"].tolist() == list(range(len(buurten)))


def test_parents_by_code_list_the_levels_a_region_has(con):
    store = load_members(con, ())
    wijk = store.regions["wijk"].codes[0]
    (gemeente,) = con.execute("SELECT gemeente FROM region WHERE code = ?", [wijk]).fetchone()
    assert store.parents[wijk]["gemeente"] == gemeente
    assert "wijk" not in store.parents[wijk]
    assert store.parents[store.regions["land"].codes[0]] == {}


def test_a_buurt_without_a_parent_is_refused(release):
    mem = duckdb.connect()
    try:
        mem.execute(f"ATTACH '{release.db_path}' AS rel (READ_ONLY)")
        for table in ("region", "region_neighbour", "sector"):
            mem.execute(f"CREATE TABLE {table} AS SELECT * FROM rel.{table}")
        mem.execute("DETACH rel")
        first = mem.execute("SELECT min(id) FROM region WHERE level = 'buurt'").fetchone()[0]
        mem.execute("UPDATE region SET wijk = 'WK999999' WHERE level = 'buurt' AND id = ?", [first])
        with pytest.raises(ValueError, match="no parent wijk"):
            load_members(mem, ())
    finally:
        mem.close()


def test_the_record_reads_back_as_the_same_store(con):
    store = load_members(con, ("fact_population",))
    record = member_record(store)
    assert record is not None
    back = store_from_record(record)
    assert same_store(back, store)
    assert back.parents == store.parents
    assert back.buurt_parent["wijk"].dtype == store.buurt_parent["wijk"].dtype


def test_a_store_the_record_cannot_hold_has_none(con):
    store = load_members(con, ())
    gm = store.regions["gemeente"]
    names = ("Line\nbreak", *gm.names[1:])
    broken = replace(
        store,
        regions={**store.regions, "gemeente": RegionLevel("gemeente", gm.codes, names, gm.index)},
    )
    assert member_record(broken) is None


@pytest.mark.parametrize(
    ("path", "value", "error"),
    [
        (("population",), {"GM0001": "12"}, TypeError),
        (("regions", "wijk"), ["a\nb", "only one"], ValueError),
        (("parent_rows",), [["buurt", 1, None]], ValueError),
        (("neighbours",), {"GM0001": [1]}, TypeError),
    ],
)
def test_a_damaged_record_is_refused(con, path, value, error):
    record = member_record(load_members(con, ()))
    assert record is not None
    target = record
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(error):
        store_from_record(record)


def test_region_labels_are_the_names_built_once(con):
    store = load_members(con, ())
    labels = store.labels("gemeente")
    assert [(lb.nl, lb.en) for lb in labels] == [(n, n) for n in store.regions["gemeente"].names]
    assert store.labels("gemeente") is labels
