"""CUPED for means and ratio metrics, checked against independent numpy / statsmodels computations."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats as sps
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from analysis.errors import StatsInputError
from analysis.stats import (
    CUPED_ARM_WITHOUT_PRE,
    CUPED_PRE_VARIANCE_ZERO,
    CovariateMeanStats,
    CovariateRatioStats,
    MeanStats,
    RatioStats,
    compare_cuped,
    compare_means,
    compare_ratios,
    compare_sequential,
    cuped_theta,
)


def _numeric_delta_variance(fn, beta_c, sigma_c, n_c, beta_t, sigma_t, n_t) -> float:
    """Delta-method variance of fn(beta_c, beta_t) with central finite-difference gradients."""
    total = 0.0
    for which, beta, sigma, n in ((0, beta_c, sigma_c, n_c), (1, beta_t, sigma_t, n_t)):
        grad = np.zeros(beta.size)
        for k in range(beta.size):
            step = np.zeros(beta.size)
            step[k] = 1e-6 * max(abs(beta[k]), 1.0)
            up = fn(beta_c + step, beta_t) if which == 0 else fn(beta_c, beta_t + step)
            down = fn(beta_c - step, beta_t) if which == 0 else fn(beta_c, beta_t - step)
            grad[k] = (up - down) / (2 * step[k])
        total += grad @ sigma @ grad / n
    return total


def _rel_var(result, dof: float) -> float:
    return ((result.ci_high - result.rel_lift) / sps.t.ppf(0.975, dof)) ** 2


def test_means_theta_is_pooled_slope_and_test_is_welch_on_adjusted_values(cuped_arms):
    (yc, zc), (yt, zt) = cuped_arms
    control, treatment = CovariateMeanStats.from_values(yc, zc), CovariateMeanStats.from_values(yt, zt)
    theta = cuped_theta(control, treatment)
    assert theta == pytest.approx(np.polyfit(np.r_[zc, zt], np.r_[yc, yt], 1)[0], rel=1e-9)

    result = compare_cuped(control, treatment)
    cm = CompareMeans(DescrStatsW(yt - theta * zt), DescrStatsW(yc - theta * zc))
    _, p_value, dof = cm.ttest_ind(usevar="unequal")
    assert result.p_value_abs == pytest.approx(p_value, rel=1e-8)
    assert (result.abs_ci_low, result.abs_ci_high) == pytest.approx(cm.tconfint_diff(usevar="unequal"), rel=1e-8)
    # arm means stay unadjusted; the relative lift divides the adjusted difference by the unadjusted control mean
    assert (result.control_mean, result.treatment_mean) == pytest.approx((yc.mean(), yt.mean()))
    assert result.rel_lift == pytest.approx(result.abs_lift / yc.mean(), rel=1e-12)

    def rel(beta_c, beta_t):
        return ((beta_t[0] - theta * beta_t[1]) - (beta_c[0] - theta * beta_c[1])) / beta_c[0]

    beta_c, beta_t = np.array([yc.mean(), zc.mean()]), np.array([yt.mean(), zt.mean()])
    expected = _numeric_delta_variance(rel, beta_c, np.cov(yc, zc), yc.size, beta_t, np.cov(yt, zt), yt.size)
    # gbstats differentiates the baseline term at the unadjusted difference (exact match in
    # test_gbstats_reference); the exact delta-method variance agrees to first order
    assert _rel_var(result, dof) == pytest.approx(expected, rel=1e-2)

    unadjusted = yc.var(ddof=1) / yc.size + yt.var(ddof=1) / yt.size
    assert result.variance_reduction == pytest.approx(1 - cm.std_meandiff_separatevar**2 / unadjusted, rel=1e-9)


def test_means_agree_with_ancova_regression(cuped_arms):
    """OLS post ~ 1 + treatment + pre estimates the same effect (pooled-within slope ≈ pooled slope)."""
    (yc, zc), (yt, zt) = cuped_arms
    design = sm.add_constant(np.column_stack([np.r_[np.zeros(yc.size), np.ones(yt.size)], np.r_[zc, zt]]))
    fit = sm.OLS(np.r_[yc, yt], design).fit()
    result = compare_cuped(CovariateMeanStats.from_values(yc, zc), CovariateMeanStats.from_values(yt, zt))
    assert result.abs_lift == pytest.approx(fit.params[1], abs=2e-3)
    assert result.abs_ci_high - result.abs_lift == pytest.approx(fit.bse[1] * 1.96, rel=0.02)


def test_means_fixed_numbers(cuped_arms):
    (yc, zc), (yt, zt) = cuped_arms
    expected = {
        "control_mean": 5.02292,
        "treatment_mean": 5.10259,
        "abs_lift": 0.11311,
        "abs_ci_low": 0.02304,
        "abs_ci_high": 0.20319,
        "rel_lift": 0.02252,
        "ci_low": 0.00444,
        "ci_high": 0.04060,
        "p_value": 0.01469,
        "p_value_abs": 0.01390,
        "n_control": 500,
        "n_treatment": 480,
        "variance_reduction": 0.50596,
        "note": None,
    }
    result = dataclasses.asdict(
        compare_cuped(CovariateMeanStats.from_values(yc, zc), CovariateMeanStats.from_values(yt, zt))
    )
    assert [result.pop(k) for k in ("chance_to_win", "risk_control", "risk_treatment")] == [None] * 3
    assert result.pop("inference") == "relative"
    assert result == pytest.approx(expected, abs=1e-5)


def _ratio_arm(rng: np.random.Generator, n: int, lift: float) -> tuple[np.ndarray, ...]:
    """Post and pre (clicks, impressions) of the same users; a user's propensity persists across periods."""
    propensity = rng.beta(1.5, 15.0, n)
    pre_imp, post_imp = rng.poisson(5, n), rng.poisson(5, n)
    pre_clicks = rng.binomial(pre_imp, propensity)
    post_clicks = rng.binomial(post_imp, np.clip(propensity * lift, 0, 1))
    return tuple(a.astype(float) for a in (post_clicks, post_imp, pre_clicks, pre_imp))


def test_ratio_cuped_matches_linearised_regression_adjustment():
    rng = np.random.default_rng(5)
    arm_c, arm_t = _ratio_arm(rng, 3000, 1.0), _ratio_arm(rng, 2800, 1.08)
    control, treatment = CovariateRatioStats.from_values(*arm_c), CovariateRatioStats.from_values(*arm_t)

    def linear(x, y):
        return (x - x.sum() / y.sum() * y) / y.mean()

    posts = [linear(a[0], a[1]) for a in (arm_c, arm_t)]
    pres = [linear(a[2], a[3]) for a in (arm_c, arm_t)]
    theta = sum(np.cov(p, q)[0, 1] for p, q in zip(posts, pres, strict=True)) / sum(np.var(q, ddof=1) for q in pres)
    assert cuped_theta(control, treatment) == pytest.approx(theta, rel=1e-9)

    result = compare_cuped(control, treatment)
    adjusted = [p - theta * q for p, q in zip(posts, pres, strict=True)]
    cm = CompareMeans(DescrStatsW(adjusted[1]), DescrStatsW(adjusted[0]))
    _, _, dof = cm.ttest_ind(usevar="unequal")

    def adjusted_ratio(beta):
        return beta[0] / beta[1] - theta * beta[2] / beta[3]

    betas = [np.array([a.mean() for a in arm]) for arm in (arm_c, arm_t)]
    diff = adjusted_ratio(betas[1]) - adjusted_ratio(betas[0])
    assert result.abs_lift == pytest.approx(diff, rel=1e-10)
    assert result.p_value_abs == pytest.approx(2 * sps.t.sf(abs(diff) / cm.std_meandiff_separatevar, dof), rel=1e-8)
    assert result.control_mean == pytest.approx(arm_c[0].sum() / arm_c[1].sum())

    def rel(beta_c, beta_t):
        return (adjusted_ratio(beta_t) - adjusted_ratio(beta_c)) / (beta_c[0] / beta_c[1])

    sigmas = [np.cov(np.vstack(arm)) for arm in (arm_c, arm_t)]
    expected = _numeric_delta_variance(rel, betas[0], sigmas[0], 3000, betas[1], sigmas[1], 2800)
    assert _rel_var(result, dof) == pytest.approx(expected, rel=1e-5)
    assert 0.05 < result.variance_reduction < 0.6


def test_constant_pre_period_falls_back_to_unadjusted(normal_arms):
    control, treatment = normal_arms
    result = compare_cuped(
        CovariateMeanStats.from_values(control, np.ones(control.size)),
        CovariateMeanStats.from_values(treatment, np.ones(treatment.size)),
    )
    plain = compare_means(MeanStats.from_values(control), MeanStats.from_values(treatment))
    assert result.note == CUPED_ARM_WITHOUT_PRE and result.variance_reduction == 0.0
    assert result.p_value == pytest.approx(plain.p_value) and result.ci_low == pytest.approx(plain.ci_low)


def test_pre_period_constant_only_when_pooled_falls_back_with_its_own_note():
    """Each arm's pre varies, but post does not move with it at all: theta = 0, CUPED changes nothing."""
    yc = np.tile([1.0, 2.0], 200)
    yt = np.tile([1.0, 2.5], 200)
    zc = np.tile([3.0, 3.0, 7.0, 7.0], 100)
    zt = np.tile([3.0, 3.0, 7.0, 7.0], 100)
    result = compare_cuped(CovariateMeanStats.from_values(yc, zc), CovariateMeanStats.from_values(yt, zt))
    assert result.note == CUPED_PRE_VARIANCE_ZERO and result.variance_reduction == 0.0


@pytest.mark.parametrize("kind", ["mean", "ratio"])
def test_an_arm_without_history_cannot_invent_an_effect(kind):
    """A/A data where control users have no pre-period: adjusting with a pooled theta would subtract
    theta × (pre-mean gap) and report a large, 'significant' lift. The arm check falls back to the
    unadjusted estimate instead."""
    rng = np.random.default_rng(17)
    n = 2000
    propensity = rng.beta(2, 18, (2, n))
    pre_imp, post_imp = rng.poisson(8, (2, n)), rng.poisson(8, (2, n))
    pre_clicks, post_clicks = rng.binomial(pre_imp, propensity), rng.binomial(post_imp, propensity)
    pre_imp[0], pre_clicks[0] = 0, 0  # control: no history at all
    arms = [tuple(a[i].astype(float) for a in (post_clicks, post_imp, pre_clicks, pre_imp)) for i in (0, 1)]
    if kind == "ratio":
        control, treatment = (CovariateRatioStats.from_values(*arm) for arm in arms)
        plain = compare_ratios(*(RatioStats.from_values(*arm[:2]) for arm in arms))
    else:
        control, treatment = (CovariateMeanStats.from_values(arm[0], arm[2]) for arm in arms)
        plain = compare_means(*(MeanStats.from_values(arm[0]) for arm in arms))
    result = compare_cuped(control, treatment)
    assert result.note == CUPED_ARM_WITHOUT_PRE
    assert result.rel_lift == pytest.approx(plain.rel_lift) and result.p_value == pytest.approx(plain.p_value)
    assert result.p_value > 0.01


def test_sequential_accepts_covariate_statistics(cuped_arms):
    (yc, zc), (yt, zt) = cuped_arms
    control, treatment = CovariateMeanStats.from_values(yc, zc), CovariateMeanStats.from_values(yt, zt)
    fixed, sequential = compare_cuped(control, treatment), compare_sequential(control, treatment, tuning=1000)
    assert sequential.abs_lift == fixed.abs_lift and sequential.variance_reduction == fixed.variance_reduction
    assert sequential.abs_ci_high - sequential.abs_ci_low > fixed.abs_ci_high - fixed.abs_ci_low


def test_mismatched_kinds_raise(cuped_arms):
    (yc, zc), _ = cuped_arms
    means = CovariateMeanStats.from_values(yc, zc)
    ratios = CovariateRatioStats.from_values(yc, np.ones(yc.size), zc, np.ones(zc.size))
    with pytest.raises(StatsInputError):
        compare_cuped(means, ratios)
    with pytest.raises(StatsInputError):
        compare_cuped(MeanStats.from_values(yc), MeanStats.from_values(yc))  # type: ignore[arg-type]
