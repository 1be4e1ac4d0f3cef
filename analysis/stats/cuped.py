"""CUPED: regression adjustment on a pre-period covariate (Deng, Xu, Kohavi & Walker 2013).

Conventions of gbstats (`RegressionAdjustedStatistic`, `RegressionAdjustedRatioStatistic`,
`compute_theta`, `compute_theta_regression_adjusted_ratio`):

- theta is estimated on control plus the one treatment being compared, pooled across the two arms — one
  theta for both, so the adjustment cannot manufacture a difference. For means it is the slope of post on
  pre over the two arms as one sample; for ratios, Σ_arms cov(post, pre) / Σ_arms var(pre) of the per-user
  linearisations (x − R·y)/ȳ.
- the absolute lift is the difference of adjusted means; the relative lift divides it by the
  *unadjusted* control mean, with a delta-method variance over all per-user moments of both periods.
- the reported arm means stay unadjusted; `variance_reduction` = 1 − Var(adjusted diff)/Var(unadjusted diff).
- a constant pre-period (theta = 0) falls back to the unadjusted estimate, flagged `CUPED_PRE_VARIANCE_ZERO`.
- so does an arm whose own pre-period is missing or constant (`CUPED_ARM_WITHOUT_PRE`): with a pooled theta,
  adjusting one arm by a covariate the other arm lacks would subtract theta × (pre-mean difference) from
  the lift — an effect invented by the history gap, not by the treatment.

Ratio metrics and means share one implementation: each arm is a vector of per-user means with its
per-user covariance matrix, and the metric is a smooth function of that vector (its gradient linearises it).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from analysis.stats.comparison import (
    BASELINE_ZERO,
    CUPED_ARM_WITHOUT_PRE,
    CUPED_PRE_VARIANCE_ZERO,
    ZERO_VARIANCE,
    Comparison,
)
from analysis.stats.effect import Effect, arm_effect, check_alpha, check_types, degenerate, degenerate_note, welch_df
from analysis.stats.sufficient import CovariateMeanStats, CovariateRatioStats, CovariateStats, covariance
from analysis.stats.welch import fixed_horizon


@dataclass(frozen=True, eq=False)
class _Linearised:
    """One arm as per-user means `beta` with per-user covariance `sigma` (ddof = 1), and the gradients of
    the post- and pre-period metric (mean or ratio) with respect to `beta`."""

    n: int
    sigma: np.ndarray
    grad_post: np.ndarray
    grad_pre: np.ndarray
    mean_post: float
    mean_pre: float

    def quad(self, a: np.ndarray, b: np.ndarray) -> float:
        """Per-user covariance of the linearisations with gradients a and b."""
        return float(a @ self.sigma @ b)


def _linearise(stats: CovariateStats) -> _Linearised:
    n = stats.n
    if isinstance(stats, CovariateMeanStats):
        c = stats.cov_post_pre
        return _Linearised(
            n=n,
            sigma=np.array([[stats.post.var, c], [c, stats.pre.var]]),
            grad_post=np.array([1.0, 0.0]),
            grad_pre=np.array([0.0, 1.0]),
            mean_post=stats.post.mean,
            mean_pre=stats.pre.mean,
        )
    post, pre = stats.post, stats.pre
    # beta = (x̄, ȳ, ū, w̄): post numerator, post denominator, pre numerator, pre denominator.
    sums = [post.sum_x, post.sum_y, pre.sum_x, pre.sum_y]
    products = [
        [post.sum_x2, post.sum_xy, stats.sum_xu, stats.sum_xw],
        [post.sum_xy, post.sum_y2, stats.sum_yu, stats.sum_yw],
        [stats.sum_xu, stats.sum_yu, pre.sum_x2, pre.sum_xy],
        [stats.sum_xw, stats.sum_yw, pre.sum_xy, pre.sum_y2],
    ]
    sigma = np.array([[covariance(n, sums[i], sums[j], products[i][j]) for j in range(4)] for i in range(4)])
    x, y, u, w = (s / n for s in sums)
    grad_pre = np.array([0.0, 0.0, 1 / w, -u / w**2]) if w else np.zeros(4)
    return _Linearised(
        n=n,
        sigma=sigma,
        grad_post=np.array([1 / y, -x / y**2, 0.0, 0.0]),
        grad_pre=grad_pre,
        mean_post=x / y,
        mean_pre=u / w if w else 0.0,
    )


def cuped_theta(control: CovariateStats, treatment: CovariateStats) -> float:
    """The regression coefficient theta of post on pre, pooled over control and one treatment (gbstats).

    0 when the pre-period (or, for means, the post-period) has no variance: CUPED then does nothing.
    """
    check_types(control, treatment, (CovariateMeanStats, CovariateRatioStats))
    if isinstance(control, CovariateMeanStats) and isinstance(treatment, CovariateMeanStats):  # same types: checked
        joint = control + treatment
        if joint.pre.var <= 0 or joint.post.var <= 0:
            return 0.0
        return joint.cov_post_pre / joint.pre.var
    arms = (_linearise(control), _linearise(treatment))
    var_pre = sum(arm.quad(arm.grad_pre, arm.grad_pre) for arm in arms)
    if var_pre <= 0:
        return 0.0
    return sum(arm.quad(arm.grad_post, arm.grad_pre) for arm in arms) / var_pre


def arm_has_pre_period(stats: CovariateStats) -> bool:
    """Whether one arm's pre-period can serve as a covariate: it exists (a ratio's pre denominator is not
    zero) and varies across the arm's users."""
    if isinstance(stats, CovariateMeanStats):
        return stats.pre.var > 0
    if stats.pre.sum_y == 0:
        return False
    arm = _linearise(stats)
    return arm.quad(arm.grad_pre, arm.grad_pre) > 0


def _unadjusted(control: CovariateStats, treatment: CovariateStats, note: str) -> Effect | Comparison:
    unadjusted = arm_effect(control.post, treatment.post)
    if isinstance(unadjusted, Comparison):
        return unadjusted
    return replace(unadjusted, variance_reduction=0.0, note=unadjusted.note or note)


def cuped_effect(control: CovariateStats, treatment: CovariateStats) -> Effect | Comparison:
    """The CUPED-adjusted effect, or a degenerate `Comparison` when the post period cannot be tested."""
    check_types(control, treatment, (CovariateMeanStats, CovariateRatioStats))
    note = degenerate_note(control.post, treatment.post)
    if note is not None:
        return degenerate(note, control.post, treatment.post)
    if not (arm_has_pre_period(control) and arm_has_pre_period(treatment)):
        return _unadjusted(control, treatment, CUPED_ARM_WITHOUT_PRE)
    theta = cuped_theta(control, treatment)
    if theta == 0:
        return _unadjusted(control, treatment, CUPED_PRE_VARIANCE_ZERO)
    arm_c, arm_t = _linearise(control), _linearise(treatment)
    grad_c = arm_c.grad_post - theta * arm_c.grad_pre
    grad_t = arm_t.grad_post - theta * arm_t.grad_pre
    var_c, var_t = arm_c.quad(grad_c, grad_c), arm_t.quad(grad_t, grad_t)
    if var_c <= 0 and var_t <= 0:
        return degenerate(ZERO_VARIANCE, control.post, treatment.post)
    m_c, m_t = arm_c.mean_post, arm_t.mean_post
    diff = (m_t - theta * arm_t.mean_pre) - (m_c - theta * arm_c.mean_pre)
    abs_var = var_c / arm_c.n + var_t / arm_t.n
    unadjusted_var = (
        arm_c.quad(arm_c.grad_post, arm_c.grad_post) / arm_c.n + arm_t.quad(arm_t.grad_post, arm_t.grad_post) / arm_t.n
    )
    rel_lift = rel_var = None
    if m_c != 0:
        # d(diff / m_c): treatment moves only the numerator; control moves both it and the unadjusted baseline.
        # gbstats differentiates the baseline term of means at the unadjusted difference, of ratios at the
        # adjusted one; both agree to first order (randomised arms have equal pre-period means), and the
        # intervals then match gbstats' exactly.
        baseline_diff = (m_t - m_c) if isinstance(control, CovariateMeanStats) else diff
        rel_grad_t = grad_t / m_c
        rel_grad_c = -grad_c / m_c - baseline_diff * arm_c.grad_post / m_c**2
        rel_lift = diff / m_c
        rel_var = arm_c.quad(rel_grad_c, rel_grad_c) / arm_c.n + arm_t.quad(rel_grad_t, rel_grad_t) / arm_t.n
    return Effect(
        control_mean=m_c,
        treatment_mean=m_t,
        abs_lift=diff,
        abs_var=abs_var,
        rel_lift=rel_lift,
        rel_var=rel_var,
        dof=welch_df(var_c, arm_c.n, var_t, arm_t.n),
        n_control=arm_c.n,
        n_treatment=arm_t.n,
        variance_reduction=1 - abs_var / unadjusted_var,
        note=None if m_c != 0 else BASELINE_ZERO,
    )


def compare_cuped(control: CovariateStats, treatment: CovariateStats, *, alpha: float = 0.05) -> Comparison:
    """Fixed-horizon Welch test of the CUPED-adjusted difference (means or ratio metrics)."""
    check_alpha(alpha)
    effect = cuped_effect(control, treatment)
    return effect if isinstance(effect, Comparison) else fixed_horizon(effect, alpha)
