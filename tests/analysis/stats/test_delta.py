"""Ratio metrics per user by the delta method, and the relative lift's delta-method interval."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import stats as sps
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from analysis.errors import StatsInputError
from analysis.stats import (
    NOT_ENOUGH_DATA,
    MeanStats,
    RatioStats,
    compare_ratios,
    ratio_variance,
    relative_variance,
)


def _linearised(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    ratio = x.sum() / y.sum()
    return (x - ratio * y) / y.mean()


def test_ratio_test_is_welch_on_linearised_per_user_values(click_arms):
    (xc, yc), (xt, yt) = click_arms
    result = compare_ratios(RatioStats.from_values(xc, yc), RatioStats.from_values(xt, yt))
    lc, lt = _linearised(xc, yc), _linearised(xt, yt)
    cm = CompareMeans(DescrStatsW(lt), DescrStatsW(lc))
    _, _, df = cm.ttest_ind(usevar="unequal")
    diff = xt.sum() / yt.sum() - xc.sum() / yc.sum()
    se = cm.std_meandiff_separatevar
    assert result.abs_lift == pytest.approx(diff, rel=1e-12)
    assert result.p_value_abs == pytest.approx(2 * sps.t.sf(abs(diff) / se, df), rel=1e-9)
    half = sps.t.ppf(0.975, df) * se
    assert (result.abs_ci_low, result.abs_ci_high) == pytest.approx((diff - half, diff + half), rel=1e-9)
    assert result.n_control == xc.size and result.n_treatment == xt.size  # zero-impression users counted


def test_fixed_numbers(click_arms):
    (xc, yc), (xt, yt) = click_arms
    expected = {
        "control_mean": 0.08292,
        "treatment_mean": 0.09200,
        "abs_lift": 0.00909,
        "abs_ci_low": -0.01221,
        "abs_ci_high": 0.03039,
        "rel_lift": 0.10959,
        "ci_low": -0.16037,
        "ci_high": 0.37954,
        "p_value": 0.42592,
        "p_value_abs": 0.40277,
        "n_control": 600,
        "n_treatment": 550,
        "variance_reduction": None,
        "note": None,
    }
    result = dataclasses.asdict(compare_ratios(RatioStats.from_values(xc, yc), RatioStats.from_values(xt, yt)))
    assert [result.pop(k) for k in ("chance_to_win", "risk_control", "risk_treatment")] == [None] * 3
    assert result.pop("inference") == "relative"
    assert result == pytest.approx(expected, abs=1e-5)


def test_formulas():
    assert ratio_variance(2.0, 1.0, 4.0, 4.0, 1.5) == pytest.approx((1 - 2 * 0.5 * 1.5 + 0.25 * 4) / 16)
    assert relative_variance(2.0, 0.1, 3.0, 0.2) == pytest.approx(0.2 / 4 + 0.1 * 9 / 16)


def test_no_denominator_in_an_arm_is_not_enough_data():
    empty = RatioStats.from_values(np.zeros(5), np.zeros(5))
    result = compare_ratios(empty, RatioStats.from_values(np.array([1.0, 0, 2]), np.array([3.0, 4, 5])))
    assert result.note == NOT_ENOUGH_DATA and result.control_mean is None and result.treatment_mean is not None


def test_mixed_types_raise():
    with pytest.raises(StatsInputError):
        compare_ratios(RatioStats(3, 1, 1, 1, 1, 1), MeanStats(3, 1.0, 1.0))  # type: ignore[arg-type]


def test_relative_interval_covers_true_lift_for_clustered_ctr():
    """300 seeded experiments of heterogeneous users: the 95 % interval of the relative CTR lift covers +15 %."""
    rng = np.random.default_rng(3)
    sims, n, true_lift = 300, 800, 0.15
    covered = 0
    for _ in range(sims):
        arms = []
        for lift in (1.0, 1 + true_lift):
            impressions = rng.poisson(6, n)
            clicks = rng.binomial(impressions, rng.beta(1.0, 11.0, n) * lift)
            arms.append(RatioStats.from_values(clicks, impressions))
        result = compare_ratios(*arms)
        covered += result.ci_low <= true_lift <= result.ci_high
    assert 0.92 <= covered / sims <= 0.98
