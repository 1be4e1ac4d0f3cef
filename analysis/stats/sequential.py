"""Sequential testing valid under continuous peeking: asymptotic confidence sequences.

Method: the always-valid asymptotic confidence sequence of Waudby-Smith, Arbour, Sinha, Kennedy &
Ramdas, "Time-uniform central limit theory and asymptotic confidence sequences" (arXiv:2103.06476,
2021–23; eq. 155 for the p-value), building on Howard, Ramdas, McAuliffe & Sekhon (2021, Ann. Statist.,
"Time-uniform, nonparametric, nonasymptotic confidence sequences"; eq. 161 of arXiv:1810.08240 for rho).
It is the gbstats `SequentialTwoSidedTTest`: the interval around the same estimate as the fixed-horizon
test (Welch, ratio delta method or CUPED) has half-width

    sqrt(s²) · sqrt(2·(N·ρ² + 1) · log(sqrt(N·ρ² + 1) / α) / (N·ρ)²),   s² = Var(estimate) · N,

with N = n_control + n_treatment, and the always-valid p-value is min(1, 1/e-value). The tuning
parameter is the sample size (total users) at which the sequence is tightest: set it to the expected
sample size of the experiment. The cost of peeking safely is a wider interval than the fixed-horizon one.
"""

from __future__ import annotations

import math

from analysis.errors import StatsInputError
from analysis.stats.comparison import Comparison
from analysis.stats.cuped import cuped_effect
from analysis.stats.effect import Effect, arm_effect, check_alpha, check_types
from analysis.stats.sufficient import (
    ArmStats,
    CovariateMeanStats,
    CovariateRatioStats,
    CovariateStats,
    MeanStats,
    RatioStats,
)

DEFAULT_TUNING = 5000.0
"""gbstats' default: total users at which the confidence sequence is tightest."""


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


def confidence_sequence(effect: Effect, alpha: float, tuning: float) -> Comparison:
    """Turn an effect into an always-valid comparison; p < alpha exactly when the abs interval excludes 0."""
    untestable = effect.zero_variance()
    if untestable is not None:
        return untestable
    rho = sequential_rho(alpha, tuning)
    n_total = effect.n_control + effect.n_treatment
    return effect.comparison(
        abs_halfwidth=sequential_halfwidth(effect.abs_var, n_total, alpha, rho),
        rel_halfwidth=sequential_halfwidth(effect.rel_var, n_total, alpha, rho),
        p_value=sequential_p_value(effect.abs_lift, effect.abs_var, n_total, rho),
    )


def compare_sequential(
    control: ArmStats | CovariateStats,
    treatment: ArmStats | CovariateStats,
    *,
    alpha: float = 0.05,
    tuning: float = DEFAULT_TUNING,
) -> Comparison:
    """Always-valid comparison of means, ratios, or (given covariate statistics) CUPED-adjusted metrics."""
    check_alpha(alpha)
    if not (math.isfinite(tuning) and tuning > 0):
        raise StatsInputError(f"sequential tuning (expected total users) must be > 0, got {tuning}")
    if isinstance(control, CovariateMeanStats | CovariateRatioStats):
        effect = cuped_effect(control, treatment)
    else:
        check_types(control, treatment, (MeanStats, RatioStats))
        effect = arm_effect(control, treatment)
    return effect if isinstance(effect, Comparison) else confidence_sequence(effect, alpha, tuning)
