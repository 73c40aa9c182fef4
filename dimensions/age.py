"""Age groupings (CBS conventions). Codes are what queries and answers use.

>>> band5_code(17), broad_code(17), youth_code(19)
('15-19', '15-24', '18-22')
"""

from __future__ import annotations

MAX_AGE = 105  # single-year members stop here; older ages fall in the last band

BROAD = ((0, 14), (15, 24), (25, 44), (45, 64), (65, None))
YOUTH = ((0, 11), (12, 17), (18, 22), (23, None))


def _code(lo: int, hi: int | None) -> str:
    return f"{lo}+" if hi is None else f"{lo}-{hi}"


def band5_code(age: int) -> str:
    lo = min(age, 95) // 5 * 5
    return _code(lo, None if lo == 95 else lo + 4)


def band5_codes() -> tuple[str, ...]:
    return tuple(band5_code(a) for a in range(0, 100, 5))


def _group_code(groups: tuple[tuple[int, int | None], ...], age: int) -> str:
    for lo, hi in groups:
        if age >= lo and (hi is None or age <= hi):
            return _code(lo, hi)
    raise ValueError(age)


def broad_code(age: int) -> str:
    return _group_code(BROAD, age)


def youth_code(age: int) -> str:
    return _group_code(YOUTH, age)


def broad_codes() -> tuple[str, ...]:
    return tuple(_code(lo, hi) for lo, hi in BROAD)


def youth_codes() -> tuple[str, ...]:
    return tuple(_code(lo, hi) for lo, hi in YOUTH)


def bounds(groups: tuple[tuple[int, int | None], ...]) -> tuple[int, ...]:
    """Lower bounds of the groups after the first (for SQL CASE generation)."""
    return tuple(lo for lo, _ in groups[1:])
