"""The engine against GrowthBook's gbstats on the same sufficient statistics.

The expected numbers are what `benchmarks/gbstats_reference.py` prints with gbstats (the growthbook
repository's `packages/stats`): relative lifts, intervals and p-values of its frequentist engine for
the seeded arms of `conftest.py`. Agreement to 1e-9 means the same estimand, variance, degrees of
freedom and test, not just similar numbers.
"""

from __future__ import annotations

import numpy as np
import pytest

from analysis.stats import (
    CovariateMeanStats,
    CovariateRatioStats,
    MeanStats,
    RatioStats,
    compare_cuped,
    compare_means,
    compare_ratios,
    compare_sequential,
    non_inferiority,
)

GBSTATS = {
    "means": (0.06599091454677065, 0.026744191944534722, 0.10523763714900658, 0.0010242291231699063),
    "means_sequential": (0.06599091454677065, -0.0054820457719688825, 0.1374638748655102, 0.08219237759827874),
    "ratios": (0.10958605576563743, -0.1603708279095957, 0.3795429394408706, 0.4259195917941909),
    "cuped_means": (0.02251912535276814, 0.004439801534373934, 0.04059844917116234, 0.014688902536424076),
    "cuped_ratios": (0.08053191168906416, -0.004215226107355599, 0.16527904948548394, 0.06253152421825003),
}
"""(rel_lift, ci_low, ci_high, p_value) per case, from gbstats."""


def _summary(result) -> tuple[float | None, ...]:
    return result.rel_lift, result.ci_low, result.ci_high, result.p_value


def test_means_match_two_sided_relative_t_test(normal_arms):
    result = compare_means(*(MeanStats.from_values(a) for a in normal_arms))
    assert _summary(result) == pytest.approx(GBSTATS["means"], rel=1e-9)
    assert result.inference == "relative"


def test_sequential_matches_sequential_two_sided_t_test(normal_arms):
    result = compare_sequential(*(MeanStats.from_values(a) for a in normal_arms), tuning=5000)
    assert _summary(result) == pytest.approx(GBSTATS["means_sequential"], rel=1e-9)


def test_ratios_match(click_arms):
    result = compare_ratios(*(RatioStats.from_values(*arm) for arm in click_arms))
    assert _summary(result) == pytest.approx(GBSTATS["ratios"], rel=1e-9)


def test_cuped_means_match_regression_adjusted_relative_interval(cuped_arms):
    result = compare_cuped(*(CovariateMeanStats.from_values(*arm) for arm in cuped_arms))
    assert _summary(result) == pytest.approx(GBSTATS["cuped_means"], rel=1e-9)


def test_cuped_ratios_match_regression_adjusted_ratio_interval():
    rng = np.random.default_rng(5)

    def arm(n: int, lift: float) -> tuple[np.ndarray, ...]:
        propensity = rng.beta(1.5, 15.0, n)
        pre_imp, post_imp = rng.poisson(5, n), rng.poisson(5, n)
        pre_clicks = rng.binomial(pre_imp, propensity)
        post_clicks = rng.binomial(post_imp, np.clip(propensity * lift, 0, 1))
        return tuple(a.astype(float) for a in (post_clicks, post_imp, pre_clicks, pre_imp))

    control, treatment = arm(3000, 1.0), arm(2800, 1.08)
    result = compare_cuped(CovariateRatioStats.from_values(*control), CovariateRatioStats.from_values(*treatment))
    assert _summary(result) == pytest.approx(GBSTATS["cuped_ratios"], rel=1e-9)


def test_guardrails_match_one_sided_tests(normal_arms):
    """A lower-is-better guardrail is gbstats' `OneSidedTreatmentLesserTTest` at the margin; higher-is-better
    is `OneSidedTreatmentGreaterTTest` at minus the margin (p 0.0446376, bound 0.0989085; p 1.00984e-5,
    bound 0.0330733)."""
    control, treatment = (MeanStats.from_values(a) for a in normal_arms)
    lower = non_inferiority(control, treatment, margin=0.10, direction="lower_is_better")
    assert (lower.p_value, lower.bound) == pytest.approx((0.04463763902687361, 0.09890854841821824), rel=1e-9)
    assert lower.status == "pass" and lower.margin_on_scale == pytest.approx(0.10)
    higher = non_inferiority(control, treatment, margin=0.02, direction="higher_is_better")
    assert (higher.p_value, higher.bound) == pytest.approx((1.0098353250165282e-05, 0.03307328067532307), rel=1e-7)
    assert higher.status == "pass" and higher.margin_on_scale == pytest.approx(-0.02)
