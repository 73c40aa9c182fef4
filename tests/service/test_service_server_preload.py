"""A server imports, before its request threads run, every module that the engine and
disclosure control import inside functions (at first use): two first uses at once in two
threads could otherwise meet in a circular import and fail the answer (a 500)."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

from service.server import PRELOAD, preload

ROOT = Path(__file__).resolve().parents[2]
# The Spark and DataFusion backends and their libraries: imported when an engine opens on them
# (in the main thread).
OPTIONAL = ("pyspark", "cube.backends.spark", "datafusion", "cube.backends.datafusion")


def imported_in_functions(package: str) -> set[str]:
    found: set[str] = set()
    for path in (ROOT / package).rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.Import):
                    found.update(a.name for a in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    found.add(node.module)
    return found


def test_every_module_imported_at_first_use_is_preloaded():
    lazy = imported_in_functions("cube") | imported_in_functions("sdc")
    lazy = {m for m in lazy if not m.startswith(OPTIONAL) and importlib.util.find_spec(m)}
    missing = sorted(
        m
        for m in lazy
        if not any(m == p or m.startswith(f"{p}.") or p.startswith(f"{m}.") for p in PRELOAD)
    )
    assert missing == [], "add to service.server.PRELOAD: " + ", ".join(missing)


def test_preload_imports_them():
    preload()
    import sys

    assert all(name in sys.modules for name in PRELOAD)
