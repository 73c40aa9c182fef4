"""What opening a release reads, kept on disk (``cube/opened.py``): a second engine opens from
the record without reading members from DuckDB or parsing YAML, has the same context and
answers alike; a record of another file, code version, a damaged or foreign record is never
used; files are private whatever the umask."""

from __future__ import annotations

import base64
import json
import os
import stat
from contextlib import contextmanager

import numpy as np
import pytest

import cube.context
import cube.model
from cube import opened
from cube.engine import Engine
from cube.members import same_store
from cube.opened import OpenedRecords
from cube.query import Cut, Query

QUERIES = [
    Query("drug_suspects", ("suspects",), ("residence@provincie",)),
    Query(
        "population",
        ("inhabitants", "share_low_income"),
        ("region@gemeente", "period@year"),
        totals="margins",
    ),
    Query(
        "drug_suspects",
        ("suspects",),
        ("residence@gemeente",),
        (Cut("period", "year", ("2023",)),),
        totals="margins",
    ),
]


@contextmanager
def _engine(release, **options):
    engine = Engine.open(release, **options)
    try:
        yield engine
    finally:
        engine.close()


def _cells(answer):
    return [(r.members, [(v.value, v.status) for v in r.values]) for r in answer.rows]


def _same_context(a, b):
    assert same_store(a.store, b.store)
    assert dict(a.schemas) == dict(b.schemas)
    assert dict(a.single_pass) == dict(b.single_pass)
    assert a.catalog.cubes == b.catalog.cubes and a.catalog.absent == b.catalog.absent
    assert a.catalog.policies == b.catalog.policies
    assert {k: tuple(v) for k, v in a.rollups.items()} == {
        k: tuple(v) for k, v in b.rollups.items()
    }


def _no_reading(monkeypatch):
    """Opening may neither read members from DuckDB nor parse the model files."""

    def refuse(*args, **kwargs):
        raise AssertionError("read from the release, not from the record")

    monkeypatch.setattr(cube.context, "load_members", refuse)
    monkeypatch.setattr(cube.model, "read_model", refuse)
    monkeypatch.setattr("cube.engine.read_model", refuse)


def test_a_second_engine_opens_from_the_record_and_answers_alike(release, tmp_path, monkeypatch):
    with _engine(release) as plain:
        want = [_cells(plain.answer(q)) for q in QUERIES]
        plain_context = plain.context
    with _engine(release, open_cache=tmp_path) as first:
        _same_context(first.context, plain_context)
    (record,) = tmp_path.rglob("*.json")
    with monkeypatch.context() as patched:
        _no_reading(patched)
        with _engine(release, open_cache=tmp_path) as again:
            _same_context(again.context, plain_context)
            assert [_cells(again.answer(q)) for q in QUERIES] == want
    assert list(tmp_path.rglob("*.json")) == [record]


def test_a_given_catalog_is_never_kept_nor_read(release, engine, tmp_path):
    with _engine(release, open_cache=tmp_path, catalog=engine.catalog):
        pass
    assert list(tmp_path.rglob("*.json")) == []


@pytest.mark.parametrize(
    "damage",
    [
        "not json",
        json.dumps([1, 2]),
        json.dumps({"model": {}, "read": {}}),
        json.dumps({"model": {"dimensions.yaml": []}, "read": {"current": True}}),
    ],
)
def test_a_damaged_record_is_read_again(release, tmp_path, damage):
    with _engine(release) as plain:
        want = _cells(plain.answer(QUERIES[0]))
        plain_context = plain.context
    with _engine(release, open_cache=tmp_path):
        pass
    (record,) = tmp_path.rglob("*.json")
    record.write_text(damage, encoding="utf-8")
    with _engine(release, open_cache=tmp_path) as again:
        _same_context(again.context, plain_context)
        assert _cells(again.answer(QUERIES[0])) == want
    assert json.loads(record.read_text(encoding="utf-8"))["read"]["current"] in (True, False)


def test_damaged_members_are_refused(release, tmp_path):
    with _engine(release, open_cache=tmp_path):
        pass
    (record,) = tmp_path.rglob("*.json")
    kept = json.loads(record.read_text(encoding="utf-8"))
    members = kept["read"]["members"]
    # every buurt's provincie index one past the last provincie
    n = len(members["regions"]["buurt"][0].split("\n"))
    provincies = len(members["regions"]["provincie"][0].split("\n"))
    far = np.full(n, provincies, dtype="<i4")
    members["buurt_parent"]["provincie"] = base64.b64encode(far.tobytes()).decode()
    record.write_text(json.dumps(kept), encoding="utf-8")
    with pytest.raises(ValueError, match="not indexes"):
        cube.context.context_from(
            kept["read"], release.id, cube.model.load_catalog(), max_cells=100_000
        )
    with _engine(release, open_cache=tmp_path) as again:  # read again from the release
        assert again.context.store.buurt_parent["provincie"].max() < provincies


def test_another_file_or_code_version_has_another_record(release, tmp_path, monkeypatch):
    kept = OpenedRecords(tmp_path, release.id, release.db_path)
    first = kept.path()
    other = OpenedRecords(tmp_path, "another-release", release.db_path).path()
    assert first is not None and other is not None and other != first
    st = release.db_path.stat()
    os.utime(release.db_path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    try:
        assert kept.path() != first  # a replaced file is another file
    finally:
        os.utime(release.db_path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert kept.path() == first
    monkeypatch.setattr(opened, "code_version", lambda: "another version")
    assert kept.path() != first


def test_a_release_keeps_one_record(release, tmp_path, monkeypatch):
    kept = OpenedRecords(tmp_path, release.id, release.db_path)
    kept.put({"version": 1})
    monkeypatch.setattr(opened, "code_version", lambda: "another version")
    kept.put({"version": 2})
    OpenedRecords(tmp_path, "another-release", release.db_path).put({"version": 3})
    assert [json.loads(p.read_text()) for p in sorted(tmp_path.rglob("*.json"))] in (
        [{"version": 2}, {"version": 3}],
        [{"version": 3}, {"version": 2}],
    )
    assert kept.get() == {"version": 2}


@pytest.mark.parametrize(
    "record", [{"a": (1, 2)}, {"a": {1: "x"}}, {"a": float("nan")}, {"a": object()}]
)
def test_what_json_would_not_read_back_is_not_kept(tmp_path, release, record):
    OpenedRecords(tmp_path, release.id, release.db_path).put(record)
    assert list(tmp_path.rglob("*.json")) == []


def test_records_are_private_whatever_the_umask(release, tmp_path):
    old = os.umask(0o022)
    try:
        OpenedRecords(tmp_path / "open", release.id, release.db_path).put({"a": [1, "b"]})
    finally:
        os.umask(old)
    (record,) = (tmp_path / "open").rglob("*.json")
    assert stat.S_IMODE(record.stat().st_mode) == 0o600
    for directory in (tmp_path / "open", record.parent):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert OpenedRecords(tmp_path / "open", release.id, release.db_path).get() == {"a": [1, "b"]}
