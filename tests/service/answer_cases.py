"""Random answers for the writers and readers of answers (``service.formats``, ``service.tidy``,
``service.monitor``): rows as the engine holds them or as tuples built by hand."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st

from cube.query import Query
from cube.result import Answer, MeasureInfo, Row, Rows, Summary, Value

_TEXT = st.one_of(st.none(), st.text(max_size=6))  # None: a total's code or a missing label
NUMBERS = st.one_of(st.none(), st.floats(allow_nan=True), st.integers(-(10**6), 10**6).map(float))
COUNTS = st.one_of(st.none(), st.integers(0, 10**6).map(float))  # counts: whole numbers


def cell_values(numbers: st.SearchStrategy[float | None] = NUMBERS) -> st.SearchStrategy[Value]:
    return st.builds(
        Value,
        numbers,
        st.sampled_from(["safe", "perturbed", "suppressed"]),
        st.sampled_from([None, "threshold", "secondary"]),
    )


# two of one role (gemeente and wijk), a level whose digits SDMX prefixes, odd characters
ITEMS = ('résidence@"g"', "period@year", "region@gemeente", "region@wijk", "income@decile")


@st.composite
def answers(draw: st.DrawFn, numbers: st.SearchStrategy[float | None] = NUMBERS) -> Answer:
    """Random rows (codes and labels with quotes, escapes and any unicode) for drill-downs of
    0-2 items of ``ITEMS`` and 0-2 measures, as row tuples or, as the engine holds them, as
    columns with equal rows sharing one tuple of values."""
    items = tuple(draw(st.lists(st.sampled_from(ITEMS), unique=True, max_size=2)))
    m = draw(st.integers(0, 2))
    measures = tuple(MeasureInfo(f"m\\{j}", "M", "x", "count") for j in range(m))
    shared = draw(st.lists(st.tuples(*[cell_values(numbers)] * m), min_size=1, max_size=3))
    n = draw(st.integers(0, 8))
    codes = [draw(st.lists(_TEXT, min_size=n, max_size=n)) for _ in items]
    labels = [draw(st.lists(_TEXT, min_size=n, max_size=n)) for _ in items]
    which = [draw(st.integers(0, len(shared) - 1)) for _ in range(n)]
    rows: Sequence[Row] = Rows(codes, labels, shared, which)
    if draw(st.booleans()):
        rows = tuple(rows)
    q = Query("drug_suspects", tuple(mi.id for mi in measures), items)
    return Answer(q, "r1", items, measures, rows, n, False, Summary("default", n * m, {}, {}))
