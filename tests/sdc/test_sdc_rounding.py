"""Rounding: τ-ARGUS §2.14 intervals (research §5.9) and the threshold-preserving rounding."""

import numpy as np

from sdc.rounding import round_published, rounding_interval


def test_tau_argus_rounding_intervals():
    assert rounding_interval(15, base=5, steps=1) == (6.0, 24.0)
    assert rounding_interval(0, base=5) == (0.0, 4.0)
    assert rounding_interval(15, base=5) == (11.0, 19.0)


def test_nearest_rounding_halves_up_and_keeps_sign():
    out = round_published(np.array([0, 2.5, 12, 13, -13]), base=5)
    assert out.tolist() == [0, 5, 10, 15, -15]


def test_only_a_true_zero_is_published_as_zero():
    out = round_published(np.array([0.0, 0.4, 2.0, -1.0]), base=5)
    assert out.tolist() == [0.0, 5.0, 5.0, -5.0]


def test_rounding_never_publishes_a_count_below_the_threshold():
    out = round_published(np.array([0.0, 7.0, 8.0, 12.0]), base=5, threshold=7)
    assert out.tolist() == [0.0, 10.0, 10.0, 10.0]


def test_nearest_rounding_lies_inside_the_controlled_rounding_interval():
    for a in range(0, 200):  # (a non-zero a below the base publishes the base: still inside)
        r = round_published(np.array([float(a)]), base=10)[0]
        lo, hi = rounding_interval(r, base=10)
        assert lo <= a <= hi
