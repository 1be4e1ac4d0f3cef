"""Fixed-horizon Welch tests: means and ratio metrics, two-sided.

Conventions of the gbstats frequentist engine (`TwoSidedTTest` with `difference_type="relative"`): the
p-value tests the relative lift, t = rel_lift / se_rel with the delta-method standard error and
Welch–Satterthwaite degrees of freedom of the per-user variances, and the interval shown is rel ± t·se_rel
— so "significant" and "the interval excludes 0" agree row by row. The absolute difference gets its own
Welch test (`p_value_abs`, `abs_ci_*`), which is also the row's inference when no relative lift exists.
"""

from __future__ import annotations

from scipy import stats as sps

from analysis.stats.comparison import Comparison
from analysis.stats.effect import Effect, arm_effect, check_alpha, check_types
from analysis.stats.sufficient import MeanStats, RatioStats


def t_p_value(estimate: float, se: float, dof: float) -> float:
    """Two-sided p-value of estimate / se under Student's t (the normal when dof is infinite)."""
    return float(2 * sps.t.sf(abs(estimate) / se, dof))


def fixed_horizon(effect: Effect, alpha: float) -> Comparison:
    """Two-sided t-tests and intervals at level 1 − alpha (valid for one look at the data)."""
    untestable = effect.zero_variance()
    if untestable is not None:
        return untestable
    t_crit = float(sps.t.ppf(1 - alpha / 2, effect.dof))
    rel_se = effect.rel_se
    return effect.comparison(
        abs_halfwidth=t_crit * effect.abs_se,
        p_value_abs=t_p_value(effect.abs_lift, effect.abs_se, effect.dof),
        rel_halfwidth=None if rel_se is None else t_crit * rel_se,
        p_value_rel=None
        if rel_se is None or effect.rel_lift is None
        else t_p_value(effect.rel_lift, rel_se, effect.dof),
    )


def compare_means(control: MeanStats, treatment: MeanStats, *, alpha: float = 0.05) -> Comparison:
    """Welch two-sample t-test of per-user means (absolute: the numbers of `scipy.stats.ttest_ind(equal_var=False)`)."""
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
