"""Query-level risk monitor: flags answer patterns that look like attacks.

Per client it remembers the last ``window`` answers and flags:

- ``differencing``: two answers on the same cube, measures and drill-down whose cuts differ and
  whose populations differ by more than 0 and fewer than ``threshold`` units: subtracting them
  would isolate a group smaller than the threshold rule allows (perturbation blunts this; the
  monitor still tells the privacy officer who tries).
- ``near_identical``: ``similar_limit`` answers of one shape (cube, measures, drill-down, cut
  dimensions and levels) with different cut members: a systematic walk over members.
- ``small_cell_sweep``: more than ``small_cell_limit`` suppressed cells received in the window:
  probing where the small cells are.

Flags never contain cell values; they go to the admin resource and to counters in /metrics.
The memory (``window`` answers per client) and the flags live in the state store.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import numpy as np

from cube.query import Query
from cube.result import Answer, Value, row_columns
from service.store.base import Flag, Observation, Store
from service.store.memory import MemoryStore

KINDS = ("differencing", "near_identical", "small_cell_sweep")


def answer_population(answer: Answer) -> float | None:
    """Units covered by an answer: the grand total row of the first count measure, else the
    sum of its published count cells. Read from the answer's columns: the answer of a buurt
    table has tens of thousands of rows, and this runs on every answer the service gives."""
    idx = next((i for i, m in enumerate(answer.measures) if m.kind == "count"), None)
    if idx is None:
        return None
    cols = row_columns(answer.rows, len(answer.drilldown))
    if not len(cols.which):
        return None

    def published(cells: tuple[Value, ...]) -> float:
        v = cells[idx]
        return math.nan if v.status == "suppressed" or v.value is None else v.value

    shown = np.array([published(d) for d in cols.distinct.tolist()], dtype=np.float64)[cols.which]
    total = [np.array(codes, dtype=object) == None for codes in cols.members]  # noqa: E711
    grand = np.logical_and.reduce(total) if total else np.ones(len(shown), dtype=bool)
    if grand.any():
        first = shown[int(np.argmax(grand))]
        return None if math.isnan(first) else float(first)
    cells = shown[~np.logical_or.reduce(total) & ~np.isnan(shown)]
    return float(cells.sum()) if len(cells) else None


def query_id(canonical: str) -> str:
    """A short stable id of a canonical query (in audit records and risk flags)."""
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def shapes(query: Query) -> tuple[str, str]:
    """Digests of (comparable, shape): answers that can be subtracted; a walk over members."""
    comparable = json.dumps([query.cube, sorted(query.measures), list(query.drilldown)])
    forms = sorted(
        (c.role, c.level, "members" if c.members else c.relation or "range", c.exclude)
        for c in query.cuts
    )
    return query_id(comparable), query_id(comparable + json.dumps(forms))


class RiskMonitor:
    """The rules above over each client's recent answers, kept in the state store so that
    every worker process sees every answer (and the memory outlives a restart)."""

    def __init__(
        self,
        threshold: int,
        window: int,
        similar_limit: int,
        small_cell_limit: int,
        store: Store | None = None,
    ) -> None:
        self.threshold = threshold
        self.window = window
        self.similar_limit = similar_limit
        self.small_cell_limit = small_cell_limit
        self.store: Store = store if store is not None else MemoryStore()

    def observe(
        self, client: str, query: Query, canonical: str, answer: Answer, suppressed: int
    ) -> list[Flag]:
        comparable, shape = shapes(query)
        population = answer_population(answer)
        return self.record(client, query_id(canonical), comparable, shape, population, suppressed)

    def record(
        self,
        client: str,
        canonical_id: str,
        comparable: str,
        shape: str,
        population: float | None,
        suppressed: int,
    ) -> list[Flag]:
        """``observe`` with the digests and population computed beforehand (once per query and
        per answer, not per request: see ``service.prepared``)."""
        obs = Observation(time.time(), canonical_id, comparable, shape, population, suppressed)
        return self.store.observe(
            client, obs, self.window, lambda history: self._check(client, obs, history)
        )

    def _check(self, client: str, obs: Observation, history: Sequence[Observation]) -> list[Flag]:
        flags = []
        for old in history:
            if old.comparable != obs.comparable or old.canonical == obs.canonical:
                continue
            if old.population is None or obs.population is None:
                continue
            if 0 < abs(old.population - obs.population) < self.threshold:
                msg = f"two answers' populations differ by fewer than {self.threshold} units"
                pair = (old.canonical, obs.canonical)
                flags.append(Flag(obs.time, client, "differencing", msg, pair))
                break
        same_shape = {o.canonical for o in history if o.shape == obs.shape}
        same_shape.add(obs.canonical)
        if obs.canonical not in {o.canonical for o in history} and (
            len(same_shape) % self.similar_limit == 0
        ):
            msg = f"{len(same_shape)} near-identical queries in the recent window"
            flags.append(Flag(obs.time, client, "near_identical", msg, ()))
        before = sum(o.suppressed for o in history)
        if before <= self.small_cell_limit < before + obs.suppressed:
            msg = f"more than {self.small_cell_limit} suppressed cells in the recent window"
            flags.append(Flag(obs.time, client, "small_cell_sweep", msg, ()))
        return flags

    def flags(self, limit: int = 100, client: str | None = None) -> list[dict[str, Any]]:
        return [{**asdict(f), "queries": list(f.queries)} for f in self.store.flags(limit, client)]

    def summary(self) -> dict[str, Any]:
        clients, counts = self.store.risk_summary()
        return {"clients": clients, "flags": {k: counts.get(k, 0) for k in KINDS}}
