"""Reference numbers from GrowthBook's stats engine (gbstats) on the data the stats tests use.

`tests/analysis/stats/test_gbstats_reference.py` pins what this prints: the same seeded arms, analysed by
gbstats' frequentist engine (relative differences: `TwoSidedTTest`, `SequentialTwoSidedTTest`, the one-sided
tests a guardrail uses, CUPED for means and ratios) and by its Bayesian engine (`EffectBayesianABTest`: flat
and proper priors on the relative lift, a lower-is-better metric, CUPED); `tests/analysis/stats/test_bayesian.py`
pins those. gbstats is not a dependency of vsx (it pins pandas and
numpy versions of its own), so run this with an interpreter that has it, e.g. a scratch venv with
`pip install pandas scipy pydantic` and the repository's `packages/stats` on `PYTHONPATH`:

    PYTHONPATH=growthbook/packages/stats /tmp/gbvenv/bin/python benchmarks/gbstats_reference.py
"""

from __future__ import annotations

import json

import numpy as np
from gbstats.bayesian.tests import EffectBayesianABTest, EffectBayesianConfig, GaussianPrior
from gbstats.frequentist.tests import (
    FrequentistConfig,
    OneSidedTreatmentGreaterTTest,
    OneSidedTreatmentLesserTTest,
    SequentialConfig,
    SequentialTwoSidedTTest,
    TwoSidedTTest,
)
from gbstats.models.statistics import (
    RatioStatistic,
    RegressionAdjustedRatioStatistic,
    RegressionAdjustedStatistic,
    SampleMeanStatistic,
    compute_theta,
    compute_theta_regression_adjusted_ratio,
)


def mean_stat(x: np.ndarray) -> SampleMeanStatistic:
    return SampleMeanStatistic(n=len(x), sum=float(x.sum()), sum_squares=float((x * x).sum()))


def ratio_stat(x: np.ndarray, y: np.ndarray) -> RatioStatistic:
    return RatioStatistic(
        n=len(x), m_statistic=mean_stat(x), d_statistic=mean_stat(y), m_d_sum_of_products=float((x * y).sum())
    )


def cuped_mean_stat(y: np.ndarray, z: np.ndarray, theta: float = 0.0) -> RegressionAdjustedStatistic:
    return RegressionAdjustedStatistic(
        n=len(y),
        post_statistic=mean_stat(y),
        pre_statistic=mean_stat(z),
        post_pre_sum_of_products=float((y * z).sum()),
        theta=theta,
    )


def cuped_ratio_stat(x, y, u, w, theta: float | None = None) -> RegressionAdjustedRatioStatistic:
    def dot(a, b):
        return float((a * b).sum())

    return RegressionAdjustedRatioStatistic(
        n=len(x),
        m_statistic_post=mean_stat(x),
        d_statistic_post=mean_stat(y),
        m_statistic_pre=mean_stat(u),
        d_statistic_pre=mean_stat(w),
        m_post_m_pre_sum_of_products=dot(x, u),
        d_post_d_pre_sum_of_products=dot(y, w),
        m_pre_d_pre_sum_of_products=dot(u, w),
        m_post_d_post_sum_of_products=dot(x, y),
        m_post_d_pre_sum_of_products=dot(x, w),
        m_pre_d_post_sum_of_products=dot(u, y),
        theta=theta,
    )


def normal_arms():
    rng = np.random.default_rng(20240601)
    return rng.normal(10.0, 2.0, 400), rng.normal(10.3, 3.0, 300)


def click_arms():
    rng = np.random.default_rng(7)

    def arm(n, lift):
        impressions = rng.poisson(3, n)
        propensity = np.clip(rng.beta(1.0, 11.0, n) * lift, 0, 1)
        return rng.binomial(impressions, propensity).astype(float), impressions.astype(float)

    return arm(600, 1.0), arm(550, 1.15)


def cuped_arms():
    rng = np.random.default_rng(11)

    def arm(n, lift):
        pre = rng.normal(5.0, 1.0, n)
        return 5.0 + 0.7 * (pre - 5.0) + rng.normal(0, 0.714, n) + lift, pre

    return arm(500, 0.0), arm(480, 0.12)


def ratio_cuped_arms():
    rng = np.random.default_rng(5)

    def arm(n, lift):
        propensity = rng.beta(1.5, 15.0, n)
        pre_imp, post_imp = rng.poisson(5, n), rng.poisson(5, n)
        pre_clicks = rng.binomial(pre_imp, propensity)
        post_clicks = rng.binomial(post_imp, np.clip(propensity * lift, 0, 1))
        return tuple(a.astype(float) for a in (post_clicks, post_imp, pre_clicks, pre_imp))

    return arm(3000, 1.0), arm(2800, 1.08)


def summary(result) -> dict[str, float]:
    low, high = result.ci
    return {"rel_lift": result.expected, "ci_low": low, "ci_high": high, "p_value": result.pValue}


def bayesian(pair, **config) -> dict[str, float]:
    result = EffectBayesianABTest(pair, EffectBayesianConfig(**config)).compute_result()
    low, high = result.ci
    return {"rel_lift": result.expected, "ci_low": low, "ci_high": high, "chance_to_win": result.chanceToWin,
            "risk_control": result.risk[0], "risk_treatment": result.risk[1]}  # fmt: skip


def bayesian_cases() -> dict[str, dict[str, float]]:
    """The Bayesian engine: flat (default) and proper N(0, 0.3²) priors, inverse (lower is better), CUPED."""
    proper = GaussianPrior(mean=0, variance=0.3**2, proper=True)
    means = [(mean_stat(normal_arms()[0]), mean_stat(normal_arms()[1]))]
    (xc, yc), (xt, yt) = click_arms()
    ratios = [(ratio_stat(xc, yc), ratio_stat(xt, yt))]
    (pc, zc), (pt, zt) = cuped_arms()
    theta = compute_theta(cuped_mean_stat(pc, zc), cuped_mean_stat(pt, zt))
    cuped = [(cuped_mean_stat(pc, zc, theta), cuped_mean_stat(pt, zt, theta))]
    return {
        "bayes_means_flat": bayesian(means),
        "bayes_means_proper": bayesian(means, prior_effect=proper),
        "bayes_means_inverse": bayesian(means, inverse=True),
        "bayes_ratios_flat": bayesian(ratios),
        "bayes_ratios_proper": bayesian(ratios, prior_effect=proper),
        "bayes_cuped_means_flat": bayesian(cuped),
    }


def main() -> None:
    out = {}
    control, treatment = mean_stat(normal_arms()[0]), mean_stat(normal_arms()[1])
    out["means"] = summary(TwoSidedTTest([(control, treatment)], FrequentistConfig(alpha=0.05)).compute_result())
    sequential = SequentialConfig(alpha=0.05, sequential_tuning_parameter=5000)
    out["means_sequential"] = summary(SequentialTwoSidedTTest([(control, treatment)], sequential).compute_result())
    lesser = FrequentistConfig(alpha=0.05, test_value=0.10)
    out["means_lesser_0.10"] = summary(OneSidedTreatmentLesserTTest([(control, treatment)], lesser).compute_result())
    greater = FrequentistConfig(alpha=0.05, test_value=-0.02)
    out["means_greater_-0.02"] = summary(
        OneSidedTreatmentGreaterTTest([(control, treatment)], greater).compute_result()
    )
    (xc, yc), (xt, yt) = click_arms()
    ratios = [(ratio_stat(xc, yc), ratio_stat(xt, yt))]
    out["ratios"] = summary(TwoSidedTTest(ratios, FrequentistConfig(alpha=0.05)).compute_result())
    (pc, zc), (pt, zt) = cuped_arms()
    theta = compute_theta(cuped_mean_stat(pc, zc), cuped_mean_stat(pt, zt))
    pair = [(cuped_mean_stat(pc, zc, theta), cuped_mean_stat(pt, zt, theta))]
    out["cuped_means"] = summary(TwoSidedTTest(pair, FrequentistConfig(alpha=0.05)).compute_result())
    arm_c, arm_t = ratio_cuped_arms()
    theta = compute_theta_regression_adjusted_ratio(
        cuped_ratio_stat(*arm_c, theta=1), cuped_ratio_stat(*arm_t, theta=1)
    )
    pair = [(cuped_ratio_stat(*arm_c, theta=theta), cuped_ratio_stat(*arm_t, theta=theta))]
    out["cuped_ratios"] = summary(TwoSidedTTest(pair, FrequentistConfig(alpha=0.05)).compute_result())
    out.update(bayesian_cases())
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
