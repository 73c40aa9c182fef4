"""Codes and labels of the answer's rows (``cube/assemble.py``)."""

from __future__ import annotations

import gc
import pickle
from dataclasses import dataclass, field

import numpy as np
import pytest

from cube.assemble import _members, _value_tuples
from cube.axes import LevelAxis
from cube.derive import Output
from cube.query import Query
from cube.result import MeasureInfo, Row, Rows, Value
from dimensions.model import Label
from sdc.status import REASON_NAMES, STATUS_NAMES


@dataclass
class _Counted:
    """A label that counts how often it is read."""

    nl: str
    en: str
    reads: list[int] = field(default_factory=lambda: [0])

    def get(self, lang: str) -> str:
        self.reads[0] += 1
        return self.en if lang == "en" else self.nl


def _level(labels: tuple) -> LevelAxis:
    codes = tuple(f"C{i}" for i in range(len(labels)))
    return LevelAxis("lv", codes, labels, codes, np.arange(len(labels)), lambda t: t)


def test_codes_labels_and_totals_per_language():
    lax = _level((Label("een", "one"), Label("twee", "two"), Label("drie", "three")))
    coords = np.array([[2], [-1], [0], [2]])
    assert _members([lax], coords, "nl", "Totaal") == (
        [["C2", None, "C0", "C2"]],
        [["drie", "Totaal", "een", "drie"]],
    )
    # the same level in another language, then the first again: never the other's labels
    assert _members([lax], coords, "en", "Total")[1] == [["three", "Total", "one", "three"]]
    assert _members([lax], coords, "nl", "Totaal")[1] == [["drie", "Totaal", "een", "drie"]]


def test_a_level_labels_are_read_once_not_per_answer():
    """A page of a few buurten must not read the labels of all 14,000 buurten each time."""
    reads = [0]
    labels = tuple(_Counted(f"n{i}", f"e{i}", reads) for i in range(500))
    lax = _level(labels)
    coords = np.array([[3], [7]])
    for _ in range(5):
        assert _members([lax], coords, "nl", "Totaal")[1] == [["n3", "n7"]]
    assert reads[0] == 500
    other = _level(labels)  # an equal level of another release: its own arrays
    assert _members([other], coords, "en", "Total")[1] == [["e3", "e7"]]
    assert reads[0] == 1000


def test_rows_with_equal_values_share_one_tuple_of_them():
    info = MeasureInfo("m", "m", "", "count")
    a = Output(
        info, np.array([5.0, np.nan, 5.0, 7.0]), np.array([0, 2, 0, 0]), np.array([0, 1, 0, 0])
    )
    b = Output(info, np.array([1.0, 1.0, 1.0, 2.0]), np.zeros(4, np.int8), np.zeros(4, np.int8), 1)
    distinct, which = _value_tuples([a, b], np.array([3, 0, 1, 2]))
    rows = [distinct[k] for k in which]
    # In the asked order; a NaN is no value; each output keeps its own decimals.
    assert [tuple(v.value for v in r) for r in rows] == [
        (7.0, 2.0),
        (5.0, 1.0),
        (None, 1.0),
        (5.0, 1.0),
    ]
    assert rows[2][0].status == STATUS_NAMES[2] and rows[2][0].reason == REASON_NAMES[1]
    assert which[1] == which[3] and len(distinct) == 3  # equal values: one tuple
    assert rows[1] != rows[2]
    assert _value_tuples([a, b], np.zeros(0, np.int64))[0] == []


def test_one_output_rows_are_its_values_each_shared():
    info = MeasureInfo("m", "m", "", "count")
    a = Output(
        info,
        np.array([5.0, np.nan, 5.0, 7.0, np.nan]),
        np.array([0, 2, 0, 0, 2]),
        np.array([0, 1, 0, 0, 4]),
    )
    distinct, which = _value_tuples([a], np.array([4, 3, 0, 1, 2]))
    rows = [distinct[k] for k in which]
    assert [(r[0].value, r[0].reason) for r in rows] == [
        (None, REASON_NAMES[4]),
        (7.0, REASON_NAMES[0]),
        (5.0, REASON_NAMES[0]),
        (None, REASON_NAMES[1]),
        (5.0, REASON_NAMES[0]),
    ]
    assert all(len(r) == 1 for r in rows)
    assert which[2] == which[4] and len(distinct) == 4  # equal value, status, reason: one
    assert rows[0] != rows[3]  # both suppressed, for different reasons
    assert _value_tuples([a], np.zeros(0, np.int64))[0] == []


def _rows() -> tuple[Rows, tuple[Row, ...]]:
    """Three rows held as columns, and the same rows as a tuple."""
    ok, low = (Value(12.0, "safe"),), (Value(None, "suppressed", "threshold"),)
    codes, labels = [["A", "B", None], ["2023", "2023", "2023"]], [["a", "b", "Totaal"], ["j"] * 3]
    rows = Rows(codes, labels, [ok, low], [0, 1, 0])
    plain = (
        Row(("A", "2023"), ("a", "j"), ok),
        Row(("B", "2023"), ("b", "j"), low),
        Row((None, "2023"), ("Totaal", "j"), ok),
    )
    return rows, plain


def test_rows_held_as_columns_read_as_a_tuple_of_rows():
    rows, plain = _rows()
    assert len(rows) == 3 and list(rows) == list(plain) and rows == plain and plain == rows
    assert all(type(r) is Row for r in rows) and rows[1] == plain[1] and rows[-1] == plain[-1]
    assert rows[1:] == plain[1:] and type(rows[1:]) is Rows and rows[::2] == plain[::2]
    assert rows[5:] == () and not rows[5:] and rows.index(plain[2]) == 2 and plain[0] in rows
    with pytest.raises(IndexError):
        rows[3]
    assert pickle.loads(pickle.dumps(rows)) == rows
    assert (
        Rows([], [], [()], [0, 0]) == (Row((), (), ()),) * 2
    )  # no drill-down: one member-less row each


def test_rows_differ_where_one_code_label_or_value_does():
    rows, plain = _rows()
    other = Value(13.0, "safe")
    assert rows != plain[:2] and rows != [*plain[:2], plain[2]._replace(values=(other,))]
    assert rows != (*plain[:2], plain[2]._replace(labels=(None, "j")))
    c = rows.columns
    assert rows != Rows([["A", "B", "C"], ["2023"] * 3], c.labels, c.distinct, c.which)
    assert rows != "ABC" and rows != 3


def test_an_answer_holds_its_rows_as_columns_not_objects_per_row(engine):
    """The garbage collector walks what an answer holds as long as it stays cached: columns
    and the distinct value tuples, not three tuples per row."""
    a = engine.answer(
        Query("population", ("inhabitants",), ("region@buurt", "age@band5", "period@year"))
    )
    assert len(a.rows) > 200
    tracked, todo, seen = 0, [a.rows], set()
    while todo:
        obj = todo.pop()
        if id(obj) in seen or not gc.is_tracked(obj) or isinstance(obj, type):
            continue
        seen.add(id(obj))
        tracked += 1
        todo.extend(gc.get_referents(obj))
    distinct = len({id(r.values) for r in a.rows})
    assert tracked <= 2 * distinct + 10 < len(a.rows), (tracked, distinct)


def test_rows_built_by_hand_become_columns_with_equal_values_held_once():
    rows, plain = _rows()
    again = Rows.of(plain, 2)
    assert again == plain and len(again.columns.distinct) == 2 and Rows.of(rows, 2) is rows
    made: list[tuple[Value, ...]] = []
    assert again.columns.per_row(lambda v: made.append(v) or len(made)) == [1, 2, 1]
    assert made == [plain[0].values, plain[1].values]  # once per distinct tuple, in order
