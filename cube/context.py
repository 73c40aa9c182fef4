"""What the stages of an answer read, apart from the engine that owns connections and threads.

``ReleaseContext`` is the open release, immutable once built: the model's cubes it serves,
its members, fact schemas, rollups and per-cube facts (one row per holding?); per-cube axes are
built on first use and kept. ``SqlCaches`` holds compiled SQL. A stage takes these (and the
backend to run SQL on), never the engine, which builds them from a release file
(``cube/engine.py``): no stage module imports the engine.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import cachetools

from cube.axes import RoleAxis, role_axis
from cube.members import MemberStore
from cube.model import Catalog, Cube
from cube.rollups import RollupTable


@dataclass(frozen=True, slots=True, eq=False)
class ReleaseContext:
    release_id: str
    catalog: Catalog  # the cubes this release has (``Catalog.absent``: the others)
    store: MemberStore
    schemas: Mapping[str, Mapping[str, str]]  # fact table -> column -> Ibis type
    single_pass: Mapping[str, bool]  # cube -> one row per holding (and year, for stocks)
    rollups: Mapping[str, tuple[RollupTable, ...]]  # cube -> its rollups, smallest first
    max_cells: int
    _axes: dict[str, dict[str, RoleAxis]] = field(default_factory=dict)
    _axes_lock: threading.Lock = field(default_factory=threading.Lock)

    def axes_for(self, cube: Cube) -> dict[str, RoleAxis]:
        """The cube's role axes (members per level), built once."""
        axes = self._axes.get(cube.id)
        if axes is None:
            years = self.store.fact_years.get(cube.fact, ())
            axes = {r.id: role_axis(r, self.store, years, r.unknown) for r in cube.roles}
            with self._axes_lock:
                self._axes[cube.id] = axes
        return axes


@dataclass(frozen=True, slots=True, eq=False)
class SqlCaches:
    """Compiled SQL per plan part, and per part shape (``cube/run.py``)."""

    sql: cachetools.LRUCache[Any, Any] = field(
        default_factory=lambda: cachetools.LRUCache(maxsize=1024)
    )
    templates: cachetools.LRUCache[Any, Any] = field(
        default_factory=lambda: cachetools.LRUCache(maxsize=512)
    )
    lock: threading.Lock = field(default_factory=threading.Lock)
