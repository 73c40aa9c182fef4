"""An attacker who combines every answer it received by integer programming.

It knows what the documentation says (docs/disclosure-control.md, "Threat model"): the policy,
the perturbation table's support, and how the engine builds a cell — a hierarchy member is
one population with its own noise, fixed by its contributors; a custom group (range, member
set, complement, relation) is the sum of the published values of the coarsest whole members
that tile it.

Unknowns: the true count of every *unit* of the attack (a gemeente-month, a buurt, ...) and
one noise term per population (node) the answers touched, shared by every answer that
reached it. Each answer cell adds one constraint:

- published ``v``: Σ over its nodes of (Σ units of the node + noise of the node) = v, every
  noise within the table's support; a single population published non-zero has at least
  threshold contributors (and so at least as many rows);
- published ``0`` with status ``safe``: every unit of the cell is 0;
- suppressed for ``threshold``: the cell has 1 .. threshold−1 contributors (its rows: ≥ 1);
- suppressed for ``dominance``, ``p_percent`` or ``secondary``: the threshold rule passed it,
  so it has at least threshold contributors (and rows);
- suppressed as ``derived`` (a group with a suppressed member): nothing.

A small group is *recovered* when the integer programme's minimum equals its maximum; its
feasible interval is also compared with its protection interval (``threshold_range`` % of its
value, at least 1, within what the attacker knows anyway: at least 1 and, for a count of
contributors, at most threshold − 1).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from sdc.ckm import PTable

THRESHOLD = 10
# Reasons that say a suppressed cell passed the threshold rule (a later rule flagged it, or
# it hides another): it has at least THRESHOLD contributors, so at least as many rows.
PASSED_THRESHOLD = ("dominance", "p_percent", "secondary")
RANGE = 0.30  # threshold_range: protection of a threshold-suppressed count, % of its value


Node = tuple[Hashable, tuple[int, ...]]  # (population id, its units)


@dataclass(frozen=True, slots=True)
class Levels:
    """The hierarchy the attacker reasons with: per level, the member of every unit."""

    member_of: dict[str, Sequence[Hashable]]  # level -> member per unit (coarse -> fine)

    @property
    def n_units(self) -> int:
        return len(next(iter(self.member_of.values())))

    def nodes(self, units: Sequence[int]) -> list[Node]:
        """The nodes of a population: itself if it is one member, else the coarsest whole
        members that tile it (the engine's rule)."""
        chosen = set(units)
        for level, members in self.member_of.items():  # one member of some level: a node
            of = {members[u] for u in chosen}
            if len(of) == 1 and {u for u in range(len(members)) if members[u] in of} == chosen:
                return [((level, of.pop()), tuple(sorted(chosen)))]
        for level, members in self.member_of.items():
            of = {members[u] for u in chosen}
            whole = {u for u in range(len(members)) if members[u] in of}
            if whole == chosen:
                return [
                    ((level, m), tuple(u for u in sorted(chosen) if members[u] == m))
                    for m in sorted(of, key=str)
                ]
        raise AssertionError("the finest level must tile every population")


@dataclass(frozen=True, slots=True)
class Product:
    """Units that are pairs (a, b) of two roles (woon- × pleeggemeente): unit a·nb + b. A
    population is a product A × B; its nodes are the products of both roles' nodes."""

    a: Levels
    b: Levels

    @property
    def n_units(self) -> int:
        return self.a.n_units * self.b.n_units

    def nodes(self, units: Sequence[int]) -> list[Node]:
        nb = self.b.n_units
        pairs = {(u // nb, u % nb) for u in units}
        a_set, b_set = {a for a, _ in pairs}, {b for _, b in pairs}
        assert len(pairs) == len(a_set) * len(b_set), "a population is a product of members"
        out = []
        for ka, ua in self.a.nodes(sorted(a_set)):
            for kb, ub in self.b.nodes(sorted(b_set)):
                out.append(((ka, kb), tuple(sorted(x * nb + y for x in ua for y in ub))))
        return out


@dataclass
class Reconstruction:
    """Every answer an attacker received, as constraints on the units (see the module doc)."""

    n_units: int
    table: PTable  # the perturbation table of counts (public)
    holdings: bool  # counts of contributors (a threshold cell is then at most threshold − 1)
    _nodes: dict[Hashable, tuple[int, ...]] = field(default_factory=dict)
    _published: list[tuple[tuple[Hashable, ...], float]] = field(default_factory=list)
    _ranges: list[tuple[tuple[int, ...], float, float]] = field(default_factory=list)
    _singles: list[tuple[tuple[int, ...], int]] = field(default_factory=list)
    answers: int = 0

    def observe(self, levels: Levels | Product, units: Sequence[int], cell: dict[str, Any]) -> None:
        self.answers += 1
        units = tuple(sorted(units))
        value, status, reason = cell["value"], cell["status"], cell["reason"]
        if status == "suppressed":
            if reason == "threshold":
                top = THRESHOLD - 1 if self.holdings else math.inf
                self._ranges.append((units, 1.0, top))
            elif reason in PASSED_THRESHOLD:  # the threshold rule passed it: >= 10 contributors
                self._ranges.append((units, float(THRESHOLD), math.inf))
            return
        if value == 0:
            self._ranges.append((units, 0.0, 0.0))
            return
        keys = []
        for key, own in levels.nodes(units):
            assert self._nodes.setdefault(key, own) == own
            keys.append(key)
        self._published.append((tuple(keys), float(value)))
        if len(keys) == 1:  # one population: the rows of the table that can publish ``value``
            self._singles.append((units, round(value)))

    def support(self, table: PTable) -> int:
        used = table.probs.sum(axis=0) > 0
        return int(np.abs(table.deviations[used]).max())

    def feasible(
        self, target: Sequence[int], table: PTable | None = None, statuses_only: bool = False
    ) -> tuple[float, float] | None:
        """Integer minimum and maximum of the sum of the ``target`` units, assuming the noise
        follows ``table`` (default: the real one); ``None`` if the answers refute that. With
        ``statuses_only``, from what the statuses alone say (no published value): a cell
        suppressed for the threshold has 1..9 contributors, a published one at least 10, an
        empty one none — what suppression cannot hide."""
        if statuses_only:
            return self._from_statuses(target)
        table = self.table if table is None else table
        support = self.support(table)
        nodes = list(self._nodes)
        index = {k: i for i, k in enumerate(nodes)}
        nx, ne = self.n_units, len(nodes)
        rows, lo, hi = [], [], []
        for keys, value in self._published:
            row = np.zeros(nx + ne)
            for k in keys:
                row[list(self._nodes[k])] += 1.0
                row[nx + index[k]] += 1.0
            rows.append(row)
            lo.append(value)
            hi.append(value)
        singles = []
        for units, value in self._singles:
            found = true_values(table, value)
            if found is None:
                return None
            singles.append((units, *found))
        for units, a, b in self._ranges + singles:
            row = np.zeros(nx + ne)
            row[list(units)] = 1.0
            rows.append(row)
            lo.append(a)
            hi.append(b)
        var_lo = np.concatenate([np.zeros(nx), np.full(ne, -float(support))])
        var_hi = np.concatenate([np.full(nx, np.inf), np.full(ne, float(support))])
        cons = [LinearConstraint(np.array(rows), np.array(lo), np.array(hi))] if rows else []
        out = []
        for sign in (1.0, -1.0):
            c = np.zeros(nx + ne)
            c[list(target)] = sign
            res = milp(c, constraints=cons, integrality=np.ones(nx + ne),
                       bounds=Bounds(var_lo, var_hi))  # fmt: skip
            if not res.success:  # unbounded, or HiGHS cannot tell unbounded from infeasible
                check = milp(np.zeros(nx + ne), constraints=cons, integrality=np.ones(nx + ne),
                             bounds=Bounds(var_lo, var_hi))  # fmt: skip
                if not check.success:
                    return None  # the answers refute the assumed noise
                out.append(-sign * math.inf)
                continue
            out.append(sign * res.fun)
        return out[0], out[1]

    def _from_statuses(self, target: Sequence[int]) -> tuple[float, float] | None:
        ranges = self._ranges + [(u, float(THRESHOLD), math.inf) for u, _ in self._singles]
        nx = self.n_units
        rows = np.zeros((len(ranges), nx))
        for r, (units, _, _) in enumerate(ranges):
            rows[r, list(units)] = 1.0
        cons = [LinearConstraint(rows, [a for _, a, _ in ranges], [b for _, _, b in ranges])]
        c = np.zeros(nx)
        c[list(target)] = 1.0
        res = milp(c, constraints=cons if len(ranges) else [], integrality=np.ones(nx),
                   bounds=Bounds(np.zeros(nx), np.full(nx, np.inf)))  # fmt: skip
        return (res.fun, math.inf) if res.success else None

    def consistent_with(self, truth: Sequence[float]) -> None:
        """The true values satisfy the model (else the attacker's model, or the engine, is
        wrong): every node's implied noise lies within the support."""
        support = self.support(self.table)
        for keys, value in self._published:
            noise = value - sum(sum(truth[u] for u in self._nodes[k]) for k in keys)
            assert abs(noise) <= support * len(keys) + 1e-9, (keys, value, noise)
        singles = [(u, *(true_values(self.table, v) or (-1.0, -1.0))) for u, v in self._singles]
        for units, a, b in self._ranges + singles:
            true = sum(truth[u] for u in units)
            assert a - 1e-9 <= true <= b + 1e-9, (units, a, b, true)


@dataclass
class Outcome:
    """What one attack achieved over all the small groups it tried."""

    groups: int = 0
    recovered: list[str] = field(default_factory=list)
    narrowed: list[str] = field(default_factory=list)
    widths: list[float] = field(default_factory=list)
    answers: int = 0
    bets: int = 0  # recoveries of an attacker who bets that no deviation exceeded ±D
    bets_right: int = 0
    floored: int = 0  # lower side fixed by the statuses alone (not by any published value)

    def record(
        self, name: str, true: float, lo: float, hi: float, holdings: bool, floor: float = 1.0
    ) -> None:
        """``floor``: the lowest value the statuses alone allow (a total of k non-empty small
        cells has at least k); the lower protection target stops there."""
        self.groups += 1
        assert lo - 1e-6 <= true <= hi + 1e-6, f"{name}: the truth lies outside the model"
        if math.isfinite(hi) and round(lo) == round(hi):
            self.recovered.append(name)
        self.floored += int(floor > 1.0 and floor > true - max(1.0, RANGE * true))
        need = max(1.0, RANGE * true)
        need_lo = max(1.0, floor, true - need)
        need_hi = min(THRESHOLD - 1.0, true + need) if holdings else true + need
        if lo > need_lo + 1e-6 or hi < need_hi - 1e-6:
            self.narrowed.append(f"{name}: {true:g} in [{lo:g}, {hi:g}]")
        self.widths.append(hi - lo)

    def figures(self) -> dict[str, Any]:
        finite = [w for w in self.widths if math.isfinite(w)]
        return {
            "answers": self.answers,
            "small_groups_attacked": self.groups,
            "recovered_exactly": len(self.recovered),
            "narrower_than_protection": len(self.narrowed),
            "narrowest_feasible_width": min(finite) if finite else None,
            "core_bet_recoveries": self.bets,
            "core_bet_recoveries_right": self.bets_right,
            "lower_side_set_by_statuses": self.floored,
        }

    def bet(self, true: float, found: tuple[float, float] | None) -> None:
        """An attacker who assumes the noise never left ±D (the table without its tail)."""
        if found is not None and math.isfinite(found[1]) and round(found[0]) == round(found[1]):
            self.bets += 1
            self.bets_right += int(round(found[0]) == round(true))


def true_values(table: PTable, value: int) -> tuple[float, float] | None:
    """Smallest and largest true count that the table can publish as ``value``: published
    counts come from at least ``THRESHOLD`` contributors, so from rows >= THRESHOLD."""
    ok = [
        x
        for x in range(max(THRESHOLD, value + int(table.low)), value - int(table.low) + 1)
        if 0 <= value - x - table.low < table.probs.shape[1]
        and table.probs[min(x, table.max_row), value - x - table.low] > 0
    ]
    return (float(min(ok)), float(max(ok))) if ok else None


def units_of(keys: Iterable[Hashable]) -> dict[Hashable, int]:
    return {k: i for i, k in enumerate(keys)}
