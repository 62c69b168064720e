"""Paired statistics over seeds, against hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fame_bench.reports.paired import (
    BOOTSTRAP_MIN_N,
    mean_interval,
    paired_difference,
    versus_constant,
)


def test_three_seeds_use_student_t_with_two_degrees_of_freedom():
    # Student t with 2 dof has a closed form: F(t) = 1/2 + t / (2 sqrt(2 + t^2)), so
    # t_0.975 = sqrt(2 * 0.95^2 / (1 - 0.95^2)) = 4.30265..., and for differences 1, 2, 3
    # (mean 2, sd 1): half width 4.30265 / sqrt(3); t = 2 sqrt(3), p = 1 - 2 sqrt(3)/sqrt(14).
    t975 = math.sqrt(2 * 0.95**2 / (1 - 0.95**2))
    assert t975 == pytest.approx(4.302652729911275)
    d = mean_interval([1.0, 2.0, 3.0])
    assert d.method == "t" and d.n == 3 and d.mean == pytest.approx(2.0)
    assert d.low == pytest.approx(2.0 - t975 / math.sqrt(3))
    assert d.high == pytest.approx(2.0 + t975 / math.sqrt(3))
    assert d.p_value == pytest.approx(1 - 2 * math.sqrt(3) / math.sqrt(14))
    assert d.includes_zero and not d.above_zero


def test_two_seeds_use_the_cauchy_quantile():
    # t with 1 dof is Cauchy: t_0.975 = tan(0.475 pi) = 12.706...; differences 1 and 3:
    # mean 2, sd sqrt(2), half width 12.706 * sqrt(2) / sqrt(2); p = 1 - 2 atan(2) / pi.
    d = mean_interval([1.0, 3.0])
    half = math.tan(0.475 * math.pi)
    assert (d.low, d.high) == pytest.approx((2.0 - half, 2.0 + half))
    assert d.p_value == pytest.approx(1 - 2 * math.atan(2.0) / math.pi)


def test_paired_difference_uses_only_common_seeds_and_pairs_them():
    a = {0: 0.50, 1: 0.60, 2: 0.70, 5: 0.99}
    b = {0: 0.40, 1: 0.50, 2: 0.61, 3: 0.10}
    diff = paired_difference(a, b)
    assert diff.seeds == (0, 1, 2)
    # the rows' spread over seeds (0.1) is far larger than that of their differences
    assert diff.interval.mean == pytest.approx((0.1 + 0.1 + 0.09) / 3)
    assert diff.interval.above_zero
    assert diff.to_dict()["seeds"] == [0, 1, 2]


def test_one_and_zero_values_have_no_noise_estimate():
    one = mean_interval([0.3])
    assert one.n == 1 and one.mean == 0.3 and math.isnan(one.low) and math.isnan(one.p_value)
    assert not one.has_noise_estimate and not one.above_zero and not one.includes_zero
    assert "no confidence interval" in one.fmt()
    assert one.to_dict()["ci_low"] is None and one.to_dict()["p_value"] is None  # JSON-safe
    none = paired_difference({0: 0.1}, {1: 0.2})
    assert none.interval.n == 0 and none.seeds == ()


def test_identical_differences_give_a_point_interval():
    d = mean_interval([0.02, 0.02, 0.02])
    assert d.low == d.high == pytest.approx(0.02) and d.p_value == 0.0 and d.above_zero
    zero = versus_constant({0: 0.1, 1: 0.1, 2: 0.1}, 0.1)
    assert zero.interval.includes_zero and zero.interval.p_value == 1.0


def test_bootstrap_from_eight_seeds_is_deterministic_and_brackets_the_mean():
    rng = np.random.default_rng(3)
    values = list(rng.normal(0.05, 0.02, size=BOOTSTRAP_MIN_N))
    d = mean_interval(values)
    assert d.method == "bootstrap" and d.n == BOOTSTRAP_MIN_N
    assert d.low < d.mean < d.high
    assert mean_interval(values) == d  # the same numbers give the same interval
    # the percentile interval of a mean is close to the t interval for well-behaved data
    t_like = mean_interval(values[:7])  # 7 seeds: Student t
    assert t_like.method == "t"
    assert 0.3 < (d.high - d.low) / (t_like.high - t_like.low) < 1.5
    # p is the paired t-test's at every n
    from scipy import stats

    assert d.p_value == pytest.approx(stats.ttest_1samp(values, 0.0).pvalue)


def test_fmt_names_interval_method_n_and_p():
    text = mean_interval([0.01, 0.02, 0.03]).fmt()
    assert text.startswith("+2.0 points, 95 % CI [")
    assert "Student t, n = 3" in text and "p = 0.074" in text
    with pytest.raises(ValueError, match="finite"):
        mean_interval([0.1, float("nan")])
