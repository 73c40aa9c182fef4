"""Small builders shared by the sdc tests (unique module name: pytest rootdir import mode)."""

from __future__ import annotations

import numpy as np

from sdc.table import MeasureStats


def magnitude(value, x1, x2, contributors=None, negative=None, abs_value=None) -> MeasureStats:
    value = np.atleast_1d(np.asarray(value, dtype=np.float64))
    n = len(value)
    contributors = np.full(n, 20) if contributors is None else np.atleast_1d(contributors)
    return MeasureStats(
        "magnitude",
        value,
        np.asarray(contributors, dtype=np.int64),
        np.atleast_1d(np.asarray(x1, dtype=np.float64)),
        np.atleast_1d(np.asarray(x2, dtype=np.float64)),
        np.zeros(n, dtype=np.int64),
        None if negative is None else np.atleast_1d(np.asarray(negative, dtype=bool)),
        None if abs_value is None else np.atleast_1d(np.asarray(abs_value, dtype=np.float64)),
    )


def count(values, contributors=None, keys=None) -> MeasureStats:
    value = np.asarray(values, dtype=np.float64)
    n = len(value)
    contributors = value.astype(np.int64) if contributors is None else contributors
    keys = np.zeros(n, dtype=np.int64) if keys is None else keys
    zeros = np.zeros(n)
    return MeasureStats(
        "count",
        value,
        np.asarray(contributors, np.int64),
        zeros,
        zeros,
        np.asarray(keys, dtype=np.int64),
    )
