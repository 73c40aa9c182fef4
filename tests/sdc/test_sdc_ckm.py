"""Cell key method: Handbook §5.4 worked examples and properties of generated ptables."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sdc import ckm
from sdc.ckm import (
    PTable,
    generate_ptable,
    perturb_counts,
    perturb_magnitudes,
    solve_ptable,
    stored_ptables,
    uniform_keys,
)
from sdc.ptables import STORED_PARAMS, stored_json

# Handbook example table: max deviation 1, no 1s in the output.
HANDBOOK = PTable.from_rows(
    {
        0: {0: 1.0},
        1: {-1: 0.5, 1: 0.5},
        2: {0: 1.0},
        3: {-1: 0.3, 0: 0.4, 1: 0.3},
    }
)


def key(fraction: float) -> int:
    return round(fraction * 2**32)


def test_handbook_count_example_3_becomes_4():
    # Record keys 0.9, 0.3, 0.6 → cell key frac(1.8) = 0.8 → row 3 → +1.
    ck = (key(0.9) + key(0.3) + key(0.6)) % 2**32
    u = uniform_keys(np.array([ck]))
    assert u[0] == pytest.approx(0.8)
    assert perturb_counts(np.array([3.0]), u, HANDBOOK).tolist() == [4.0]


def test_row_boundaries_follow_u_less_than_upper_bound():
    u = np.array([0.0, 0.2999, 0.3, 0.6999, 0.7, 0.9999])
    out = perturb_counts(np.full(6, 3.0), u, HANDBOOK)
    assert out.tolist() == [2, 2, 3, 3, 4, 4]


@pytest.mark.parametrize(("delta", "expected"), [(0.5, 400.0), (0.6, 360.0)])
def test_handbook_magnitude_examples(delta, expected):
    # x=300, x_max=200, ck=0.8: δ=0.5 → row 3 → v=1 → 400; δ=0.6 → a=2.5 → v=0.5 → 360.
    u = np.array([0.8])
    out = perturb_magnitudes(np.array([300.0]), np.array([200.0]), u, HANDBOOK, delta)
    assert out[0] == pytest.approx(expected)


@pytest.mark.parametrize(
    ("D", "V", "js", "floor"), [(2, 1.0, 2, 10), (3, 2.0, 0, 0), (1, 0.5, 1, 5)]
)
def test_generated_table_is_unbiased_bounded_and_never_negative(D, V, js, floor):
    t = generate_ptable(D, V, js, floor)
    d = t.deviations
    assert np.allclose(t.probs.sum(axis=1), 1.0)
    assert np.allclose(t.probs @ d, 0.0, atol=1e-9)  # unbiased, every row
    assert t.probs[-1] @ d**2 == pytest.approx(V)  # full rows have variance V
    for i, row in enumerate(t.probs):
        results = i + d[row > 0]
        assert results.min() >= 0
        assert np.all((results == 0) | (results > js))
        if i >= floor:
            assert results.min() >= floor  # 0 or at least the threshold
        assert np.abs(d[row > 0]).max() <= max(D, js if i <= js else D)


def test_documented_default_rows():
    t = generate_ptable(2, 1.0, 2, 10)
    assert t.max_row == 12
    assert t.probs[10, t.deviations == 0] == 1.0  # 10 can only stay 10 (mean 0, never < 10)


@given(st.integers(0, 10_000), st.integers(0, 2**32 - 1))
def test_published_count_is_zero_or_at_least_threshold(n, ck):
    t = generate_ptable(2, 1.0, 2, 10)
    out = perturb_counts(np.array([float(n)]), uniform_keys(np.array([ck])), t)[0]
    assert abs(out - n) <= 2 or n <= 2
    if n >= 10:
        assert out >= 10
    if n == 0:
        assert out == 0


@given(st.floats(0.0, 1e7), st.floats(1.0, 1e6), st.integers(0, 2**32 - 1))
def test_magnitude_noise_is_bounded_and_keeps_the_sign(x, x1, ck):
    t = generate_ptable(2, 1.0, 0, 0)
    u = uniform_keys(np.array([ck]))
    out = perturb_magnitudes(np.array([x, -x]), np.array([x1, x1]), np.repeat(u, 2), t, 0.05)
    assert out[0] >= 0 and out[1] <= 0
    assert abs(out[0] - x) <= 2 * 0.05 * x1 * (1 + 1e-9) + 1e-9
    assert out[1] == pytest.approx(-out[0])


def test_same_cell_key_same_noise_and_keys_reduced_mod_bits():
    t = generate_ptable(2, 1.0, 2, 10)
    ck = np.array([123456789, 123456789, 123456789 + 2**16])
    u = uniform_keys(ck, key_bits=16)
    out = perturb_counts(np.array([50.0, 50.0, 50.0]), u, t)
    assert out[0] == out[1] == out[2]


def test_empty_and_all_zero_magnitudes_stay_zero():
    t = generate_ptable(2, 1.0, 0, 0)
    out = perturb_magnitudes(np.zeros(2), np.zeros(2), np.array([0.1, 0.9]), t, 0.05)
    assert out.tolist() == [0.0, 0.0]


def test_tail_keeps_the_table_unbiased_above_the_floor_and_widens_the_support():
    core = generate_ptable(2, 1.0, 2, 10)
    t = generate_ptable(2, 1.0, 2, 10, tail=5, tail_mass=0.02)
    d = t.deviations
    for row in range(t.max_row + 1):
        p = t.probs[row]
        assert abs(p.sum() - 1) < 1e-12 and abs(p @ d) < 1e-9  # a distribution, mean 0
        if row >= 10:
            assert not np.any((p > 0) & (row + d < 10))  # never below the threshold
    full = t.probs[t.max_row]
    assert full[np.abs(d) > 2].sum() == pytest.approx(0.02)  # the tail's mass
    assert {int(x) for x in d[full > 0]} == set(range(-5, 6))  # ±5 reachable
    assert t.probs[10][d == 0] == 1.0  # a published 10 stays 10: no room below
    assert core.probs.shape[1] < t.probs.shape[1]


def test_tail_settings_are_validated():
    from sdc.policy import PolicyError, parse_policy

    assert parse_policy({"ckm": {"tail": 5, "tail_mass": 0.02}}).ckm.tail == 5
    with pytest.raises(PolicyError) as err:
        parse_policy({"ckm": {"tail": 2, "tail_mass": 0.5}})
    assert len(err.value.problems) == 2


def test_stored_tables_are_the_solutions_of_their_parameters():
    stored = stored_ptables()
    assert set(stored) == set(STORED_PARAMS)
    for params, table in stored.items():
        solved = solve_ptable(*params)
        assert table.low == solved.low
        assert np.array_equal(table.probs > 0, solved.probs > 0)  # the same allowed results
        np.testing.assert_allclose(table.probs, solved.probs, rtol=0, atol=1e-12)


def test_a_stored_table_is_looked_up_and_others_are_solved():
    params = STORED_PARAMS[0]
    assert generate_ptable(*params) is stored_ptables()[params]
    other = generate_ptable(2, 1.0, 2, 10)  # no tail: not stored
    assert other.probs.shape != stored_ptables()[params].probs.shape


def test_every_shipped_policy_has_its_tables_stored():
    # otherwise each process imports SciPy to solve them (``python -m sdc.ptables``)
    from cube.model import load_catalog

    for policy in load_catalog().policies.values():
        ckm = policy.ckm
        counts = (ckm.D, float(ckm.V), ckm.js, policy.threshold, ckm.tail, float(ckm.tail_mass))
        magnitudes = (ckm.D, float(ckm.V), 0, 0, ckm.tail, float(ckm.tail_mass))
        assert {counts, magnitudes} <= set(stored_ptables()), policy.id


def test_stored_text_reads_back_as_the_same_tables(tmp_path, monkeypatch):
    path = tmp_path / "ptables.json"
    path.write_text(stored_json(STORED_PARAMS[1:]), encoding="utf-8")
    monkeypatch.setattr(ckm, "STORED", path)
    stored_ptables.cache_clear()
    try:
        (params,) = stored_ptables()
        assert np.array_equal(stored_ptables()[params].probs, solve_ptable(*params).probs)
    finally:
        stored_ptables.cache_clear()


@given(st.integers(0, 2**31), st.sampled_from([10, ckm._SMALL + 1, 20_000]))
def test_many_cells_find_the_same_deviation_as_the_comparison_of_every_bound(seed, n):
    # Above ``_SMALL`` cells the lookup groups cells by row and searches; it must give the
    # first deviation whose upper bound exceeds u, also for u exactly on a bound.
    rng = np.random.default_rng(seed)
    table = generate_ptable(2, 1.0, 2, 0)
    ub = table.upper_bounds()
    rows = rng.integers(0, table.max_row + 20, n)
    u = rng.random(n)
    on = rng.random(n) < 0.3  # some exactly on a bound of their row (below 1)
    row = np.minimum(rows, table.max_row)
    col = rng.integers(0, ub.shape[1], n)
    u = np.where(on & (ub[row, col] < 1.0), ub[row, col], u)
    expected = np.argmax(u[:, None] < ub[row], axis=1) + table.low
    assert table.deviation(rows, u).tolist() == expected.tolist()


def test_the_upper_bounds_a_caller_gets_are_its_own_copy():
    table = generate_ptable(2, 1.0, 2, 0)
    ub = table.upper_bounds()
    ub[:] = 0.0
    assert table.upper_bounds()[0, -1] == 1.0
