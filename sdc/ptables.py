"""Writes ``sdc/ptables.json``, the solved perturbation tables ``sdc.ckm`` looks up:

    python -m sdc.ptables

Run it after a change of the default policy's cell key parameters or of the table's
definition in ``sdc.ckm``; ``tests/sdc/test_sdc_ckm.py`` fails until the stored tables are
the solutions again.
"""

from __future__ import annotations

import json
import sys

from sdc.ckm import STORED, Params, solve_ptable

# (D, V, js, floor, tail, tail_mass): counts and magnitudes of the default policy
# (cube/models/policies.yaml).
STORED_PARAMS: tuple[Params, ...] = (
    (2, 1.0, 2, 10, 5, 0.02),
    (2, 1.0, 0, 0, 5, 0.02),
)


def stored_json(params: tuple[Params, ...] = STORED_PARAMS) -> str:
    """The file's text: each table solved now, its probabilities as exact hex floats, a row
    a line."""
    tables = []
    for D, V, js, floor, tail, tail_mass in params:
        t = solve_ptable(D, V, js, floor, tail, tail_mass)
        head = {"D": D, "V": V, "js": js, "floor": floor, "tail": tail, "tail_mass": tail_mass}
        rows = ",\n   ".join(json.dumps([float(x).hex() for x in row]) for row in t.probs)
        opening = json.dumps({**head, "low": t.low})[:-1]  # the object left open for "probs"
        tables.append(f'  {opening},\n  "probs": [\n   {rows}\n  ]}}')
    return '{"tables": [\n' + ",\n".join(tables) + "\n]}\n"


def main() -> int:
    STORED.write_text(stored_json(), encoding="utf-8")
    print(f"wrote {STORED}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
