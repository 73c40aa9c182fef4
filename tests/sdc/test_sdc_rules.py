"""Primary rules: threshold, dominance (n,k), p % — Handbook §4.2.1 worked examples (§5.1)."""

import numpy as np
import pytest
from sdc_cases import count, magnitude

from sdc.policy import Policy
from sdc.protect import primary_suppression
from sdc.rules import RULES, dominance, p_percent, threshold
from sdc.status import DOMINANCE, P_PERCENT, THRESHOLD


def test_rules_run_in_documented_order():
    assert [r.name for r in RULES] == ["threshold", "dominance", "p_percent"]


def test_threshold_flags_one_to_threshold_minus_one_but_not_empty_cells():
    stats = count([0, 1, 9, 10, 11])
    result = threshold.check(stats, Policy(threshold=10))
    assert result.unsafe.tolist() == [False, True, True, False, False]


def test_threshold_counts_holdings_not_records():
    # 40 transactions of one company: one contributor, unsafe.
    stats = count([40.0], contributors=np.array([1]))
    assert threshold.check(stats, Policy()).unsafe.tolist() == [True]


def test_threshold_level_is_a_share_of_the_value_and_at_least_one_for_counts():
    result = threshold.check(count([2, 9]), Policy(threshold_range=30))
    assert result.level.tolist() == pytest.approx([1.0, 2.7])


def test_handbook_p_percent_safe_where_dominance_2_90_9_is_unsafe():
    # X=110,000, x1=52,000, x2=50,000 (Handbook §4.2.1).
    stats = magnitude(110_000, 52_000, 50_000)
    policy = Policy(dominance_n=2, dominance_k=100 * 100 / 110, p_percent=10)
    assert p_percent.check(stats, policy).unsafe.tolist() == [False]
    assert dominance.check(stats, policy).unsafe.tolist() == [True]


def test_handbook_dominance_1_85_protection_level():
    # X=330 with contributions (300, 20, 10): upper bound needed 100/85·300 = 352.94.
    stats = magnitude(330, 300, 20)
    result = dominance.check(stats, Policy(dominance_n=1, dominance_k=85))
    assert result.unsafe.tolist() == [True]
    assert 330 + result.level[0] == pytest.approx(352.94, abs=0.005)


def test_dominance_is_strict():
    # x1 + x2 = 85 % exactly is safe; a little more is not.
    stats = magnitude([100, 100], [50, 50], [35, 35.01])
    assert dominance.check(stats, Policy()).unsafe.tolist() == [False, True]


def test_p_percent_level_matches_handbook_formula():
    # p/100·x1 − (X − x1 − x2) = 0.1·100 − (115 − 100 − 10) = 5
    stats = magnitude(115, 100, 10)
    result = p_percent.check(stats, Policy(p_percent=10))
    assert result.unsafe.tolist() == [True]
    assert result.level[0] == pytest.approx(5.0)


def test_all_zero_magnitude_cell_is_only_subject_to_threshold():
    stats = magnitude([0.0, 0.0], [0.0, 0.0], [0.0, 0.0], contributors=[25, 3])
    unsafe, reason, _ = primary_suppression(stats, Policy())
    assert unsafe.tolist() == [False, True]
    assert reason.tolist() == [0, THRESHOLD]


def test_negative_contribution_judged_per_cell_on_absolute_contributions():
    # Cell 0: net 10 from +60 and -50 (abs total 110, top two = 100 %): dominated.
    # Cell 1: an ordinary safe cell in the same table stays safe, unlike acro.
    # Cell 2: a dominant positive cell elsewhere is still flagged.
    stats = magnitude(
        [10, 1000, 1000],
        [60, 100, 900],
        [50, 90, 50],
        negative=[True, False, False],
        abs_value=[110, 1000, 1000],
    )
    unsafe, reason, _ = primary_suppression(stats, Policy())
    assert unsafe.tolist() == [True, False, True]
    assert reason.tolist() == [DOMINANCE, 0, DOMINANCE]


def test_negative_cell_without_abs_total_uses_a_conservative_bound():
    # Without Σ|x| the rule uses max(|X|, x1 + x2): never laxer than the true abs total.
    stats = magnitude([10], [60], [50], negative=[True])
    assert dominance.check(stats, Policy()).unsafe.tolist() == [True]


def test_first_rule_gives_the_reason_and_levels_take_the_maximum():
    stats = magnitude([115, 115], [100, 100], [10, 10], contributors=[5, 20])
    unsafe, reason, level = primary_suppression(stats, Policy(dominance_k=97))
    assert unsafe.tolist() == [True, True]
    assert reason.tolist() == [THRESHOLD, P_PERCENT]
    assert level[1] == pytest.approx(5.0)
    assert level[0] >= 5.0


def test_counts_get_only_the_threshold_rule():
    stats = count([12.0], contributors=np.array([12]))
    unsafe, _, _ = primary_suppression(stats, Policy())
    assert not unsafe.any()
