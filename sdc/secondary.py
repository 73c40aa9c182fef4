"""Secondary (complementary) suppression over all additive relations of one answer.

Heuristic with a proof at the end:
1. *Singletons*: a relation with exactly one suppressed cell gives that cell away; add the
   cheapest unsuppressed partner able to absorb the cell's protection level (a part needs a
   value >= the level to move down by it; a total can always move). Repeat until no relation
   has exactly one suppressed cell.
2. *LP audit* (``sdc.audit``) of each component. For every cell whose feasibility interval
   is too narrow add the cheapest partner in one of its relations, redo 1, re-audit the
   components that changed. Stop when the audit passes; otherwise ``AuditError``.

Every choice is ranked by (cost, coordinates), never by row order, so permuting the cells of
an answer changes nothing; feeding a final pattern back in adds nothing (idempotent).
Empty cells (no contributors) are never chosen: their zero is structural and known.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sdc.audit import AuditError, Targets, audit_component, components
from sdc.relations import Relations

MAX_ROUNDS = 200


@dataclass(frozen=True, slots=True, eq=False)
class Suppression:
    suppressed: np.ndarray  # bool: primary or secondary
    secondary: np.ndarray  # bool: added by this stage
    n_lps: int
    rounds: int


@dataclass(slots=True, eq=False)
class _State:
    rel: Relations
    rank: np.ndarray  # preference order of cells as partners (lower = cheaper)
    candidate: np.ndarray  # bool: may become a secondary
    values: np.ndarray
    level: np.ndarray  # protection to carry, propagated from primaries to partners
    suppressed: np.ndarray
    count: np.ndarray  # suppressed members per relation
    lower_bound: np.ndarray


def cell_rank(coords: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Rank of each cell by (cost, coordinates): independent of the order of the rows."""
    keys = [coords[:, d] for d in range(coords.shape[1] - 1, -1, -1)] + [cost]
    order = np.lexsort(keys)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank


def suppress(
    rel: Relations,
    values: np.ndarray,
    primary: np.ndarray,
    level: np.ndarray,
    rank: np.ndarray,
    candidate: np.ndarray,
    lower_bound: np.ndarray,
    already: np.ndarray | None = None,
) -> Suppression:
    """Complete the primary pattern ``primary`` (+ ``already`` suppressed cells) and audit it."""
    start = primary | (already if already is not None else False)
    state = _State(
        rel,
        rank,
        candidate & ~start,
        values,
        level.astype(np.float64).copy(),
        start.copy(),
        abs(rel.matrix) @ start.astype(np.float64),
        lower_bound,
    )
    targets = _targets(values, primary, state.suppressed, level, lower_bound)
    passed: set[bytes] = set()
    n_lps = 0
    for rounds in range(1, MAX_ROUNDS + 1):
        _resolve_singletons(state)
        targets = _targets(values, primary, state.suppressed, level, lower_bound)
        failing, lps = _audit_changed(state, targets, passed)
        n_lps += lps
        if not failing:
            return Suppression(state.suppressed, state.suppressed & ~start, n_lps, rounds)
        for cell in sorted(failing, key=lambda c: rank[c]):
            if not _add_partner(state, cell, need=state.level[cell]):
                raise AuditError("no complementary cell can protect a suppressed cell")
    raise AuditError("secondary suppression did not converge")


def _targets(values, primary, suppressed, level, lower_bound) -> Targets:
    hi = np.where(primary, values + level, np.nan)
    lo = np.where(primary, np.maximum(values - level, lower_bound), np.nan)
    secondary = suppressed & ~primary
    eps = np.where(secondary, secondary_eps(values), np.nan)
    return Targets(hi, lo, eps, lower_bound)


def secondary_eps(values: np.ndarray) -> np.ndarray:
    """How far a secondary cell must be able to move: 1 unit, or 0.1 % of larger values."""
    return np.maximum(1e-3 * np.abs(values), np.minimum(1.0, np.abs(values) + 1e-6))


def _audit_changed(state: _State, targets: Targets, passed: set[bytes]) -> tuple[list[int], int]:
    failing: list[int] = []
    n_lps = 0
    for cells in components(state.rel, state.suppressed):
        key = cells.tobytes()
        if key in passed:  # same cells, same published neighbours: same verdict
            continue
        up, down, lps = audit_component(state.rel, state.values, state.suppressed, targets, cells)
        n_lps += lps
        if up or down:
            failing += sorted(set(up) | set(down))
        else:
            passed.add(key)
    return failing, n_lps


def _resolve_singletons(s: _State) -> None:
    stuck: set[int] = set()  # lonely relations without any candidate: left to the audit
    while True:
        lonely = [int(r) for r in np.flatnonzero(s.count == 1) if int(r) not in stuck]
        if not lonely:
            return
        # Deterministic order: by the rank of the lone suppressed cell, then of the relation.
        alone = [_lone_member(s, r) for r in lonely]
        for r, cell in sorted(zip(lonely, alone, strict=True), key=lambda rc: _order(s, rc)):
            if s.count[r] == 1 and not _add_partner(s, cell, s.level[cell], relations=[r]):
                stuck.add(r)


def _order(s: _State, rc: tuple[int, int]) -> tuple[int, int]:
    r, cell = rc
    return int(s.rank[cell]), int(s.rank[s.rel.members(r)].min())


def _lone_member(s: _State, r: int) -> int:
    members = s.rel.members(r)
    return int(members[s.suppressed[members]][0])


def _add_partner(s: _State, cell: int, need: float, relations=None) -> bool:
    """Suppress the cheapest good partner of ``cell`` in ``relations`` (default: all its)."""
    best = -1
    for r in s.rel.of_cell(cell) if relations is None else relations:
        p = _best_in_relation(s, r, need)
        if p >= 0 and (best < 0 or _better(s, p, best, need)):
            best = p
    if best < 0:
        return False
    s.suppressed[best] = True
    s.candidate[best] = False
    s.level[best] = max(s.level[best], need)
    s.count[s.rel.of_cell(best)] += 1
    return True


def _best_in_relation(s: _State, r: int, need: float) -> int:
    m = s.rel.matrix
    lo, hi = m.indptr[r], m.indptr[r + 1]
    members, signs = m.indices[lo:hi], m.data[lo:hi]
    ok = s.candidate[members]
    if not ok.any():
        return -1
    members, signs = members[ok], signs[ok]
    # A part can absorb a movement of `need` only if it holds that much; a total always can.
    able = (signs > 0) | (np.abs(s.values[members]) >= need)
    pool = members[able] if able.any() else members
    return int(pool[np.argmin(s.rank[pool])])


def _better(s: _State, p: int, q: int, need: float) -> bool:
    able_p, able_q = abs(s.values[p]) >= need, abs(s.values[q]) >= need
    if able_p != able_q:
        return bool(able_p)
    return bool(s.rank[p] < s.rank[q])
