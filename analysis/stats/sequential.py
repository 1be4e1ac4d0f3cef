"""Sequential testing valid under continuous peeking: asymptotic confidence sequences.

Method: the always-valid asymptotic confidence sequence of Waudby-Smith, Arbour, Sinha, Kennedy &
Ramdas, "Time-uniform central limit theory and asymptotic confidence sequences" (arXiv:2103.06476,
2021–23; eq. 155 for the p-value), building on Howard, Ramdas, McAuliffe & Sekhon (2021, Ann. Statist.,
"Time-uniform, nonparametric, nonasymptotic confidence sequences"; eq. 161 of arXiv:1810.08240 for rho).
It is the gbstats `SequentialTwoSidedTTest`: the interval around the same estimate as the fixed-horizon
test (Welch, ratio delta method, CUPED or quantile delta method) has half-width

    sqrt(s²) · sqrt(2·(N·ρ² + 1) · log(sqrt(N·ρ² + 1) / α) / (N·ρ)²),   s² = Var(estimate) · N,

with N = n_control + n_treatment, and the always-valid p-value is min(1, 1/e-value); like the fixed-horizon
rows, the p-value tests the relative lift whose interval is shown (`p_value_abs` the difference).
The tuning parameter is the sample size (total users) at which the sequence is tightest: the analysis
sets it to the experiment's planned total users. The cost of peeking safely is a wider interval.

Quantiles: the theory needs an estimator that is an average of per-unit terms up to a remainder smaller
than its √(log log N / N) rate. A sample quantile is (Bahadur representation; clustered by user, the
per-user terms are the users' linearised CDF counts), so the same sequence applies to the quantile delta
method's estimate and variance.
"""

from __future__ import annotations

import math

from analysis.errors import StatsInputError
from analysis.stats.comparison import Comparison
from analysis.stats.effect import Effect, check_alpha
from analysis.stats.estimation import AnyStats, estimate

DEFAULT_TUNING = 5000.0
"""gbstats' default: total users at which the confidence sequence is tightest (used when no plan says)."""


def sequential_rho(alpha: float, tuning: float) -> float:
    """Mixture scale rho chosen so the sequence is tightest at N = tuning (Howard et al. 2021, eq. 161)."""
    log_alpha = -2 * math.log(alpha)
    return math.sqrt((log_alpha + math.log(log_alpha + 1)) / tuning)


def sequential_halfwidth(var: float, n_total: int, alpha: float, rho: float) -> float:
    """Half-width of the two-sided asymptotic confidence sequence for an estimate of variance `var`."""
    s2 = var * n_total
    nr2p1 = n_total * rho * rho + 1
    return math.sqrt(s2) * math.sqrt(2 * nr2p1 * math.log(math.sqrt(nr2p1) / alpha) / (n_total * rho) ** 2)


def sequential_p_value(estimate: float, var: float, n_total: int, rho: float) -> float:
    """Always-valid p-value min(1, 1/e-value), computed in logs so large effects cannot overflow."""
    st2 = estimate * estimate * n_total / var
    nr2p1 = n_total * rho * rho + 1
    log_evalue = rho * rho * st2 / (2 * nr2p1) - 0.5 * math.log(nr2p1)
    return math.exp(-log_evalue) if log_evalue > 0 else 1.0


def check_tuning(tuning: float) -> None:
    if not (math.isfinite(tuning) and tuning > 0):
        raise StatsInputError(f"sequential tuning (expected total users) must be > 0, got {tuning}")


def confidence_sequence(effect: Effect, alpha: float, tuning: float) -> Comparison:
    """Turn an effect into an always-valid comparison; p < alpha exactly when the shown interval excludes 0."""
    untestable = effect.zero_variance()
    if untestable is not None:
        return untestable
    rho = sequential_rho(alpha, tuning)
    n_total = effect.n_control + effect.n_treatment
    rel_halfwidth = p_value_rel = None
    if effect.rel_lift is not None and effect.rel_var is not None and effect.rel_var > 0:
        rel_halfwidth = sequential_halfwidth(effect.rel_var, n_total, alpha, rho)
        p_value_rel = sequential_p_value(effect.rel_lift, effect.rel_var, n_total, rho)
    return effect.comparison(
        abs_halfwidth=sequential_halfwidth(effect.abs_var, n_total, alpha, rho),
        p_value_abs=sequential_p_value(effect.abs_lift, effect.abs_var, n_total, rho),
        rel_halfwidth=rel_halfwidth,
        p_value_rel=p_value_rel,
    )


def compare_sequential(
    control: AnyStats,
    treatment: AnyStats,
    *,
    alpha: float = 0.05,
    tuning: float = DEFAULT_TUNING,
) -> Comparison:
    """Always-valid comparison of means, ratios, quantiles, or (given covariate statistics) CUPED-adjusted
    metrics."""
    check_alpha(alpha)
    check_tuning(tuning)
    effect = estimate(control, treatment)
    return effect if isinstance(effect, Comparison) else confidence_sequence(effect, alpha, tuning)
