"""Guardrails as non-inferiority tests: pass, fail, inconclusive; relative and absolute scales; sequential."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from analysis.errors import StatsInputError
from analysis.stats import MeanStats, QuantileStats, RatioStats, compare_means, non_inferiority


def _rates(rng: np.random.Generator, n: int, rate: float) -> MeanStats:
    return MeanStats.from_values(rng.binomial(1, rate, n).astype(float))


def test_three_outcomes_for_a_lower_is_better_metric():
    rng = np.random.default_rng(1)
    control = _rates(rng, 20_000, 0.05)
    same = non_inferiority(control, _rates(rng, 20_000, 0.05), margin=0.1, direction="lower_is_better")
    worse = non_inferiority(control, _rates(rng, 20_000, 0.07), margin=0.1, direction="lower_is_better")
    small = non_inferiority(_rates(rng, 300, 0.05), _rates(rng, 300, 0.05), margin=0.1, direction="lower_is_better")
    assert same.status == "pass" and same.bound < 0.1 and same.p_value < 0.05
    assert worse.status == "fail" and worse.estimate > 0.2 and worse.bound > 0.1
    assert small.status == "inconclusive"


def test_bound_is_the_one_sided_interval_of_the_relative_lift(normal_arms):
    control, treatment = (MeanStats.from_values(a) for a in normal_arms)
    test = non_inferiority(control, treatment, margin=0.2, direction="lower_is_better", alpha=0.05)
    two_sided = compare_means(control, treatment, alpha=0.10)
    assert test.bound == pytest.approx(two_sided.ci_high, rel=1e-12)
    assert test.scale == "relative" and test.margin_on_scale == pytest.approx(0.2)


def test_zero_baseline_tests_the_absolute_difference_with_margin_zero():
    control = MeanStats.from_values(np.zeros(2000))
    treatment = MeanStats.from_values(np.r_[np.ones(20), np.zeros(1980)])
    test = non_inferiority(control, treatment, margin=0.1, direction="lower_is_better")
    se = np.sqrt(0.01 * 0.99 / 2000 * 2000 / 1999)
    assert test.scale == "absolute" and test.margin_on_scale == 0.0
    assert test.bound == pytest.approx(0.01 + sps.t.ppf(0.95, 1999) * se, rel=1e-6)
    assert test.status == "fail"


def test_sequential_bounds_are_wider_and_have_no_fixed_horizon_p_value(normal_arms):
    control, treatment = (MeanStats.from_values(a) for a in normal_arms)
    fixed = non_inferiority(control, treatment, margin=0.2, direction="higher_is_better")
    always_valid = non_inferiority(control, treatment, margin=0.2, direction="higher_is_better", tuning=700)
    assert always_valid.p_value is None and always_valid.bound < fixed.bound  # worse bound is lower here
    assert always_valid.estimate == fixed.estimate


def test_quantiles_and_ratios_are_accepted(click_arms):
    ratio = non_inferiority(*(RatioStats.from_values(*a) for a in click_arms), margin=0.5, direction="higher_is_better")
    assert ratio.status in ("pass", "inconclusive") and ratio.scale == "relative"
    users = np.repeat(np.arange(200), 3)
    rng = np.random.default_rng(2)
    arms = [QuantileStats.from_values(rng.lognormal(4, 0.5, 600), users, 0.95) for _ in range(2)]
    latency = non_inferiority(*arms, margin=0.5, direction="lower_is_better")
    assert latency.scale == "relative" and latency.bound is not None


def test_untestable_arms_are_inconclusive_with_a_note():
    tiny = MeanStats.from_values(np.array([1.0]))
    test = non_inferiority(tiny, tiny, margin=0.1, direction="lower_is_better")
    assert test.status == "inconclusive" and test.note == "NOT_ENOUGH_DATA" and test.bound is None


@pytest.mark.parametrize(
    ("margin", "direction", "alpha"),
    [(0.0, "lower_is_better", 0.05), (float("nan"), "lower_is_better", 0.05), (0.1, "neutral", 0.05)],
)
def test_bad_parameters_raise(margin, direction, alpha):
    stats = MeanStats.from_values(np.arange(10.0))
    with pytest.raises(StatsInputError):
        non_inferiority(stats, stats, margin=margin, direction=direction, alpha=alpha)


def test_constant_arms_are_compared_exactly():
    """No errors in either arm passes; a constant rise beyond the margin fails; no sampling noise to test."""
    zeros = MeanStats.from_values(np.zeros(500))
    clean = non_inferiority(zeros, zeros, margin=0.1, direction="lower_is_better")
    assert (
        clean.status == "pass" and clean.scale == "absolute" and clean.estimate == 0.0 and clean.note == "ZERO_VARIANCE"
    )
    ones, twos = MeanStats.from_values(np.ones(500)), MeanStats.from_values(np.full(500, 2.0))
    assert non_inferiority(ones, twos, margin=0.1, direction="lower_is_better").status == "fail"
    assert non_inferiority(ones, twos, margin=0.1, direction="higher_is_better").status == "pass"
