"""Welch tests from sufficient statistics, checked against scipy/statsmodels on the raw arrays."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import stats as sps
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from analysis.errors import StatsInputError
from analysis.stats import (
    BASELINE_ZERO,
    NOT_ENOUGH_DATA,
    ZERO_VARIANCE,
    MeanStats,
    RatioStats,
    compare_means,
)


def _stats(arms: tuple[np.ndarray, np.ndarray]) -> tuple[MeanStats, MeanStats]:
    return MeanStats.from_values(arms[0]), MeanStats.from_values(arms[1])


def test_matches_scipy_welch_on_raw_arrays(normal_arms):
    control, treatment = normal_arms
    result = compare_means(*_stats(normal_arms))
    reference = sps.ttest_ind(treatment, control, equal_var=False)
    ci = reference.confidence_interval(0.95)
    assert result.p_value_abs == pytest.approx(reference.pvalue, rel=1e-9)
    assert (result.abs_ci_low, result.abs_ci_high) == pytest.approx((ci.low, ci.high), rel=1e-9)
    assert result.abs_lift == pytest.approx(treatment.mean() - control.mean(), rel=1e-12)


def test_matches_statsmodels_compare_means(normal_arms):
    control, treatment = normal_arms
    result = compare_means(*_stats(normal_arms), alpha=0.1)
    cm = CompareMeans(DescrStatsW(treatment), DescrStatsW(control))
    low, high = cm.tconfint_diff(alpha=0.1, usevar="unequal")
    _, p_value, _ = cm.ttest_ind(usevar="unequal")
    assert (result.abs_ci_low, result.abs_ci_high) == pytest.approx((low, high), rel=1e-9)
    assert result.p_value_abs == pytest.approx(p_value, rel=1e-9)


def test_relative_interval_is_symmetric_delta_method_with_welch_df(normal_arms):
    """rel ± t(df_welch)·√(v_t/(m_c²·n_t) + v_c·m_t²/(m_c⁴·n_c)) — not the absolute CI over m_c."""
    control, treatment = normal_arms
    result = compare_means(*_stats(normal_arms))
    m_c, m_t = control.mean(), treatment.mean()
    v_c, v_t = control.var(ddof=1), treatment.var(ddof=1)
    n_c, n_t = control.size, treatment.size
    _, _, df = CompareMeans(DescrStatsW(treatment), DescrStatsW(control)).ttest_ind(usevar="unequal")
    half = sps.t.ppf(0.975, df) * np.sqrt(v_t / (m_c**2 * n_t) + v_c * m_t**2 / (m_c**4 * n_c))
    assert result.rel_lift == pytest.approx(m_t / m_c - 1, rel=1e-12)
    assert (result.ci_low, result.ci_high) == pytest.approx((m_t / m_c - 1 - half, m_t / m_c - 1 + half), rel=1e-9)
    assert result.ci_low != pytest.approx(result.abs_ci_low / m_c, rel=1e-3)


def test_fixed_numbers(normal_arms):
    expected = {
        "control_mean": 9.97389,
        "treatment_mean": 10.63208,
        "abs_lift": 0.65819,
        "abs_ci_low": 0.27313,
        "abs_ci_high": 1.04324,
        "rel_lift": 0.06599,
        "ci_low": 0.02674,
        "ci_high": 0.10524,
        "p_value": 0.00102,
        "p_value_abs": 0.00084,
        "n_control": 400,
        "n_treatment": 300,
        "variance_reduction": None,
        "note": None,
    }
    result = dataclasses.asdict(compare_means(*_stats(normal_arms)))
    assert [result.pop(k) for k in ("chance_to_win", "risk_control", "risk_treatment")] == [None] * 3
    assert result.pop("inference") == "relative"
    assert result == pytest.approx(expected, abs=1e-5)


def test_p_value_tests_the_relative_interval_shown(normal_arms):
    """One inference per row: p < alpha exactly when the relative interval excludes 0, at every level."""
    result = compare_means(*_stats(normal_arms))
    for alpha in (result.p_value * 0.999, result.p_value * 1.001):
        at_level = compare_means(*_stats(normal_arms), alpha=alpha)
        excludes_zero = at_level.ci_low > 0 or at_level.ci_high < 0
        assert excludes_zero == (result.p_value < alpha)


def test_pooling_days_is_addition(normal_arms):
    control, treatment = normal_arms
    pooled = MeanStats.from_values(control[:150]) + MeanStats.from_values(control[150:])
    expected = dataclasses.asdict(compare_means(*_stats(normal_arms)))
    assert dataclasses.asdict(compare_means(pooled, MeanStats.from_values(treatment))) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("control", "treatment", "note"),
    [
        (np.array([1.0]), np.array([1.0, 2.0]), NOT_ENOUGH_DATA),
        (np.array([]), np.array([]), NOT_ENOUGH_DATA),
        (np.array([3.0, 3.0, 3.0]), np.array([3.0, 3.0]), ZERO_VARIANCE),
        (np.array([3.0, 3.0, 3.0]), np.array([4.0, 4.0]), ZERO_VARIANCE),
    ],
)
def test_degenerate_inputs_give_none_and_a_note(control, treatment, note):
    result = compare_means(MeanStats.from_values(control), MeanStats.from_values(treatment))
    assert result.note == note
    assert result.p_value is None and result.abs_lift is None and result.ci_low is None
    assert result.n_control == control.size and result.n_treatment == treatment.size
    assert result.control_mean == (control.mean() if control.size else None)


@pytest.mark.parametrize("control", [np.zeros(500), np.array([-1.0, 1.0] * 250)])
def test_zero_baseline_keeps_the_absolute_test(control):
    """An error rate going from 0 to 0.5 %: no relative lift exists, but the difference is still tested."""
    treatment = np.r_[np.ones(5), np.zeros(995)]
    result = compare_means(MeanStats.from_values(control), MeanStats.from_values(treatment))
    reference = sps.ttest_ind(treatment, control, equal_var=False)
    assert result.note == BASELINE_ZERO and result.inference == "absolute"
    assert result.rel_lift is None and result.ci_low is None
    assert result.abs_lift == pytest.approx(treatment.mean() - control.mean())
    assert result.p_value == result.p_value_abs == pytest.approx(reference.pvalue, rel=1e-9)


def test_one_constant_arm_is_tested_with_the_other_arms_variance():
    """Zero variance means both arms constant; one constant arm leaves a Welch test with the other's n - 1 df."""
    control, treatment = np.full(50, 3.0), np.r_[np.full(25, 3.0), np.full(25, 4.0)]
    result = compare_means(MeanStats.from_values(control), MeanStats.from_values(treatment))
    se = treatment.std(ddof=1) / np.sqrt(treatment.size)
    assert result.note is None
    assert result.p_value_abs == pytest.approx(2 * sps.t.sf(0.5 / se, treatment.size - 1), rel=1e-9)


def test_malformed_inputs_raise():
    with pytest.raises(StatsInputError):
        MeanStats(-1, 0.0, 0.0)
    with pytest.raises(StatsInputError):
        MeanStats(3, float("nan"), 1.0)
    with pytest.raises(StatsInputError):
        MeanStats(2.5, 1.0, 1.0)  # type: ignore[arg-type]
    with pytest.raises(StatsInputError):
        compare_means(MeanStats(3, 1.0, 1.0), RatioStats(3, 1.0, 1.0, 1.0, 1.0, 1.0))  # type: ignore[arg-type]
    with pytest.raises(StatsInputError):
        compare_means(MeanStats(1, 1.0, 1.0), MeanStats(3, 2.0, 3.0), alpha=1.5)  # checked before degeneracy
    assert issubclass(StatsInputError, ValueError)
