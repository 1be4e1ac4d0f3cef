"""Fixed-horizon Welch tests: means and ratio metrics, two-sided.

Conventions of the gbstats frequentist engine: the p-value and `abs_ci_*` come from the Welch test of
the absolute difference (Student t, Welch–Satterthwaite df); the relative lift's delta-method interval
uses the same t quantile and df (gbstats `TwoSidedTTest.confidence_interval`).
"""

from __future__ import annotations

from scipy import stats as sps

from analysis.stats.comparison import Comparison
from analysis.stats.effect import Effect, arm_effect, check_alpha, check_types
from analysis.stats.sufficient import MeanStats, RatioStats


def fixed_horizon(effect: Effect, alpha: float) -> Comparison:
    """Two-sided t-test and intervals at level 1 − alpha (valid for one look at the data)."""
    untestable = effect.zero_variance()
    if untestable is not None:
        return untestable
    t_crit = float(sps.t.ppf(1 - alpha / 2, effect.dof))
    abs_se = effect.abs_var**0.5
    p_value = float(2 * sps.t.sf(abs(effect.abs_lift) / abs_se, effect.dof))
    return effect.comparison(abs_halfwidth=t_crit * abs_se, rel_halfwidth=t_crit * effect.rel_var**0.5, p_value=p_value)


def compare_means(control: MeanStats, treatment: MeanStats, *, alpha: float = 0.05) -> Comparison:
    """Welch two-sample t-test of per-user means (same numbers as `scipy.stats.ttest_ind(equal_var=False)`)."""
    check_alpha(alpha)
    check_types(control, treatment, MeanStats)
    effect = arm_effect(control, treatment)
    return effect if isinstance(effect, Comparison) else fixed_horizon(effect, alpha)


def compare_ratios(control: RatioStats, treatment: RatioStats, *, alpha: float = 0.05) -> Comparison:
    """Welch test of ratio metrics (e.g. CTR = clicks / impressions) analysed per user.

    The randomisation unit is the user, so impressions of one user are not independent; the per-user
    delta-method variance (`RatioStats.var`, including the −2·R·cov term) keeps the test calibrated
    where an impression-level z-test is over-confident. Degrees of freedom are Welch–Satterthwaite on the
    per-user variances, as gbstats does.
    """
    check_alpha(alpha)
    check_types(control, treatment, RatioStats)
    effect = arm_effect(control, treatment)
    return effect if isinstance(effect, Comparison) else fixed_horizon(effect, alpha)
