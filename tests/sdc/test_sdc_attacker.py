"""An attacker differencing overlapping populations (ages 0–99 vs 0–98) at the sdc level.

What CKM promises (docs/disclosure-control.md): the difference of two published totals is the
true difference plus the difference of two bounded noises, so the attacker is left with
several candidate values for a small group — never a certainty. It does *not* promise that the
attacker learns nothing: the candidates are a narrow range of small numbers.
"""

import numpy as np
import pytest

from sdc.ckm import generate_ptable
from sdc.policy import Policy
from sdc.protect import protect
from sdc.reference import cell_table_from_records


def population(seed: int, n: int, group: int):
    rng = np.random.default_rng(seed)
    ages = np.concatenate([rng.integers(0, 99, n - group), np.full(group, 99)])
    sex = rng.integers(0, 2, n)
    keys = rng.integers(0, 2**32, n)  # record keys fixed at load
    return ages, sex, keys


def published_total(ages, sex, keys, max_age: int, policy: Policy) -> float:
    """Query: persons aged 0..max_age by sex, with the total (margin) cell."""
    keep = ages <= max_age
    table = cell_table_from_records(sex[keep, None], [2], np.flatnonzero(keep), keys[keep])
    m = protect(table, policy).measures["count"]
    total = int(np.flatnonzero(table.coords[:, 0] == -1)[0])
    return float(m.published[total])


def candidates(published: float, policy: Policy) -> set[int]:
    """Every true count that the public ptable can turn into ``published``."""
    t = generate_ptable(policy.ckm.D, policy.ckm.V, policy.ckm.js, policy.threshold)
    p = int(published)
    out = set()
    for n in range(max(0, p - t.probs.shape[1]), p + t.probs.shape[1] + 1):
        d = p - n - t.low
        if 0 <= d < t.probs.shape[1] and t.probs[min(n, t.max_row), d] > 0:
            out.add(n)
    return out


@pytest.mark.parametrize("group", [1, 2, 3, 5, 9])
def test_differencing_never_pins_a_sub_threshold_group(group):
    policy = Policy()
    for seed in range(25):
        ages, sex, keys = population(seed, 300, group)
        all_ages = published_total(ages, sex, keys, 99, policy)
        but_last = published_total(ages, sex, keys, 98, policy)
        possible = {
            a - b for a in candidates(all_ages, policy) for b in candidates(but_last, policy)
        }
        possible = {g for g in possible if g >= 0}
        assert group in possible  # the truth is consistent ...
        assert len(possible) >= 2  # ... but never the only consistent value


def test_same_contributors_same_noise_from_different_queries():
    # The total of "by sex" and of "by age band" covers the same persons: same published value.
    policy = Policy()
    ages, sex, keys = population(4, 500, 0)
    holdings = np.arange(len(ages))
    by_sex = cell_table_from_records(sex[:, None], [2], holdings, keys)
    by_band = cell_table_from_records((ages // 20)[:, None], [5], holdings, keys)
    totals = []
    for table in (by_sex, by_band):
        m = protect(table, policy).measures["count"]
        totals.append(m.published[np.flatnonzero(table.coords[:, 0] == -1)[0]])
    assert totals[0] == totals[1]


def test_repeating_a_query_cannot_average_the_noise_away():
    policy = Policy()
    ages, sex, keys = population(9, 400, 3)
    answers = {published_total(ages, sex, keys, 99, policy) for _ in range(5)}
    assert len(answers) == 1
