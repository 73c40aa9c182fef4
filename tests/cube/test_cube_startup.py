"""Start-up stays light: opening a release imports neither Ibis, sqlglot, pandas nor SciPy's
optimiser (they come when SQL is first compiled or an LP first solved), so ``zicht query`` and
worker start-up do not pay for them before they need them."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("ibis", "sqlglot", "pandas", "scipy.optimize", "scipy.sparse")

PROGRAM = """
import json, sys
from cube.engine import Engine
from loaders.releases import current_release
from pathlib import Path
engine = Engine.open(current_release(Path(sys.argv[1])))
print(json.dumps({m: m in sys.modules for m in sys.argv[2:]}))
"""


def test_opening_a_release_imports_no_heavy_library(release):
    home = release.db_path.parents[2]
    out = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(home), *HEAVY],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == dict.fromkeys(HEAVY, False)
