"""Compiled SQL templates on disk (``cube/sqlcache.py``): a new engine fills the template another
one compiled, answers alike, and never reads a template of another release, code version or
library version, nor a damaged file."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from contextlib import contextmanager

import cube.run
from cube import sqlcache
from cube.engine import Engine
from cube.query import Cut, Query
from cube.sqlcache import DiskTemplates, code_version
from cube.statement import Statement


def _query(members: tuple[str, ...]) -> Query:
    cut = Cut(role="residence", level="provincie", members=members)
    return Query("drug_suspects", ("suspects",), ("residence@gemeente",), (cut,))


def _cells(answer):
    return [(r.members, [(v.value, v.status) for v in r.values]) for r in answer.rows]


@contextmanager
def _engine(release, **options):
    engine = Engine.open(release, **options)
    try:
        yield engine
    finally:
        engine.close()


def _texts(compiled):
    """A strategy's SQL as DuckDB and Spark text, with its class and columns."""
    out = [type(compiled), compiled.columns]
    for f in dataclasses.fields(compiled):
        value = getattr(compiled, f.name)
        if isinstance(value, Statement):
            out += [f.name, value.render("duckdb"), value.render("spark")]
    return out


def _files(tmp_path):
    return sorted(tmp_path.rglob("*.json"))


def test_a_new_engine_fills_the_template_another_compiled(release, tmp_path, monkeypatch):
    with _engine(release, sql_cache=tmp_path) as first:
        first.answer(_query(("PV20",)))
    assert len(_files(tmp_path)) >= 1
    with _engine(release) as plain:
        expected = _cells(plain.answer(_query(("PV27",))))
    monkeypatch.setattr(cube.run, "choose", _refuse)
    with _engine(release, sql_cache=tmp_path) as second:
        assert _cells(second.answer(_query(("PV27",)))) == expected


def _refuse(*_args, **_kwargs):
    raise AssertionError("compiled although a template was on disk")


def test_another_code_version_compiles_again(release, tmp_path, monkeypatch):
    with _engine(release, sql_cache=tmp_path) as first:
        first.answer(_query(("PV20",)))
    before = _files(tmp_path)
    monkeypatch.setattr(sqlcache, "code_version", lambda: "another version")
    with _engine(release, sql_cache=tmp_path) as second:
        second.answer(_query(("PV27",)))
    assert len(_files(tmp_path)) == 2 * len(before)  # its own templates beside the others


def test_a_damaged_file_is_compiled_again(release, tmp_path):
    with _engine(release, sql_cache=tmp_path) as first:
        expected = _cells(first.answer(_query(("PV20",))))
    for path in _files(tmp_path):
        record = json.loads(path.read_text())
        record["texts"] = {"nonsense": "SELECT 1"}
        path.write_text(json.dumps(record))
    with _engine(release, sql_cache=tmp_path) as second:
        assert _cells(second.answer(_query(("PV20",)))) == expected
    for path in _files(tmp_path):
        path.write_text("{not json")
    with _engine(release, sql_cache=tmp_path) as third:
        assert _cells(third.answer(_query(("PV20",)))) == expected


def test_templates_are_kept_per_release(release, tmp_path):
    with _engine(release, sql_cache=tmp_path) as engine:
        engine.answer(_query(("PV20",)))
    assert {p.parent.name for p in _files(tmp_path)} == {release.id}


def test_the_version_names_the_sources_and_libraries():
    assert len(code_version()) == 64
    assert "cube" in sqlcache.SOURCES and "ibis-framework" in sqlcache.LIBRARIES


def test_only_sql_texts_and_columns_are_stored(release, tmp_path):
    with _engine(release) as engine:
        part = next(iter(engine.caches.sql.values()), None)
        assert part is None
        engine.answer(_query(("PV20",)))
        (compiled,) = list(engine.caches.sql.values())
        ((shape_part, *_),) = list(engine.caches.templates.keys())
    disk = DiskTemplates(tmp_path, release.id)
    disk.put(("key",), compiled, shape_part)
    assert _texts(disk.get(("key",), shape_part)) == _texts(compiled)

    @dataclasses.dataclass(frozen=True)
    class WithMore:
        columns: object
        one_pass: str
        extra: int

    disk.put(("other",), WithMore(compiled.columns, "SELECT 1", 1), shape_part)
    assert disk.get(("other",), shape_part) is None
    assert len(_files(tmp_path)) == 1


FROM_DISK = """
import json, sys
from pathlib import Path
from cube.engine import Engine
from cube.query import Cut, Query
from loaders.releases import current_release
{woz}
engine = Engine.open(current_release(Path(sys.argv[1])), sql_cache=Path(sys.argv[2]))
cut = Cut(role="residence", level="provincie", members=("PV27",))
answer = engine.answer(Query("drug_suspects", ("suspects",), ("residence@gemeente",), (cut,)))
woz = engine.answer(WOZ("GM0363"))
print(json.dumps({"rows": [len(answer.rows), len(woz.rows)], "sqlglot": "sqlglot" in sys.modules,
                  "ibis": "ibis" in sys.modules}))
"""
WOZ = """
def WOZ(code):  # two statements run as one (cube.sql.together) from a rollup
    return Query("dwellings", ("woz_total", "dwellings"), ("region@wijk",), (
        Cut("region", "gemeente", (code,)), Cut("period", "year", ("2023",))))
"""


def test_a_template_from_disk_answers_integer_keys_without_sqlglot(release, tmp_path):
    """The template's DuckDB text around its member lists is on disk: another province or
    gemeente (integer keys) is written without reading the tree, also for statements run as
    one, so the process imports neither Ibis nor sqlglot."""
    namespace: dict = {"Query": Query, "Cut": Cut}
    exec(WOZ, namespace)
    with _engine(release, sql_cache=tmp_path) as first:
        want = [len(first.answer(_query(("PV27",))).rows)]
        first.answer(namespace["WOZ"]("GM0014"))  # compiles the shape, stored on disk
        want.append(len(first.answer(namespace["WOZ"]("GM0363")).rows))
        first.caches.sql.clear()
    strategies = {getattr(c, "strategy", None) for c in first.caches.templates.values()}
    assert "rollup" in strategies  # the statement run as one is among those read back
    home = release.db_path.parents[2]
    program = FROM_DISK.replace("{woz}", WOZ)
    out = subprocess.run(
        [sys.executable, "-c", program, str(home), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got == {"rows": want, "sqlglot": False, "ibis": False}


def test_the_cache_is_private_whatever_the_umask(release, tmp_path):
    import os
    import stat

    old = os.umask(0o022)
    try:
        with _engine(release, sql_cache=tmp_path / "cache" / "sql") as engine:
            engine.answer(_query(("PV20",)))
    finally:
        os.umask(old)
    found = [tmp_path / "cache", *(tmp_path / "cache").rglob("*")]
    assert len(found) >= 4  # cache, sql, the release's directory, a template
    for path in found:
        expected = 0o700 if path.is_dir() else 0o600
        assert stat.S_IMODE(path.stat().st_mode) == expected, path


def _lists(compiled) -> dict[str, tuple[str, ...]]:
    return {
        f.name: value.memo.get("list_columns")
        for f in dataclasses.fields(compiled)
        if isinstance(value := getattr(compiled, f.name), Statement)
    }


def test_the_list_columns_are_known_from_compilation_and_kept_on_disk(release, tmp_path):
    """A sum's two largest contributions come back from DuckDB as a list per row; which
    columns do is known when the shape is compiled and stored with it, so that even the first
    answer fetches them as plain columns (``cube.backend.DuckDbBackend``)."""
    namespace: dict = {"Query": Query, "Cut": Cut}
    exec(WOZ, namespace)
    with _engine(release) as engine:
        engine.answer(namespace["WOZ"]("GM0014"))
        (compiled,) = list(engine.caches.sql.values())
        ((shape_part, *_),) = list(engine.caches.templates.keys())
    lists = _lists(compiled)
    assert any(
        names and all(n.startswith(("top", "rtop")) for n in names) for names in lists.values()
    )
    disk = DiskTemplates(tmp_path, release.id)
    disk.put(("key",), compiled, shape_part)
    assert _lists(disk.get(("key",), shape_part)) == lists
