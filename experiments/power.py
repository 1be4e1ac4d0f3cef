"""Sample size and minimum detectable effect for a CTR experiment analysed per user.

The analysis (`analysis.stats.compare_ratios`) tests CTR = clicks / impressions per *user*, so the
variance that matters is the per-user delta-method variance σ² of the linearised CTR, and
Var(CTR_t − CTR_c) = σ²/n_t + σ²/n_c. Without user-level parameters σ² comes from the binomial
approximation with a design effect (Kish): σ² = p(1−p)·DE/m, DE = 1 + (m − 1)·ICC, for m impressions
per user and intra-user correlation ICC — impressions of one user are not independent, so DE > 1
whenever users differ in their click propensity. The ICC is given directly, or derived from the variance
V of per-user click propensities (ICC = V / (p(1−p)), the beta-binomial identity), or σ² is given outright
(`RatioStats.var` of an earlier experiment on the same traffic).

Two-sided normal test, equal arms, effect = baseline_ctr × mde (mde relative: 0.03 = +3 %); power includes
both rejection tails, so the numbers agree with statsmodels' `NormalIndPower`.

Planned as the analysis reads it: the primary metric's rows are one Holm family across the treatment arms, so
with k = arms − 1 treatments each test is planned at alpha / k (Holm's first step, which guarantees the power
for every treatment); with one treatment the test is unadjusted. CUPED's expected variance reduction r (from
an earlier experiment's results: `variance_reduction`) scales the per-user variance by 1 − r.

Our formulas stay rather than statsmodels' `NormalIndPower` because `vsx power` is a light command that must not
import scipy or statsmodels (their imports alone take seconds; tests/vsx/test_cli_speed.py), so they use
`statistics.NormalDist`; tests/experiments/test_power.py checks they equal `NormalIndPower`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from statistics import NormalDist

from experiments.errors import PowerInputError

_Z = NormalDist()
MAX_USERS_PER_ARM = 10**12
"""Beyond this a plan is not an experiment (an MDE of 1e-300, say): refused with a message, not computed."""


@dataclass(frozen=True)
class CtrVariance:
    """Per-user variance of the linearised CTR and the design effect it implies."""

    per_user_variance: float
    design_effect: float


@dataclass(frozen=True)
class PowerPlan:
    """Users needed per arm (and days, given daily traffic) to detect a relative CTR lift."""

    baseline_ctr: float
    mde: float
    alpha: float
    power: float
    per_user_variance: float
    design_effect: float
    users_per_arm: int
    arms: int
    total_users: int
    days: int | None
    test_alpha: float
    cuped_reduction: float


def _check_probability(name: str, value: float) -> None:
    if not (math.isfinite(value) and 0 < value < 1):
        raise PowerInputError(f"{name} must be in (0, 1), got {value}")


def ctr_variance(
    baseline_ctr: float,
    impressions_per_user: float = 1.0,
    *,
    icc: float | None = None,
    user_variance: float | None = None,
    per_user_variance: float | None = None,
) -> CtrVariance:
    """σ² of the per-user linearised CTR from at most one of: ICC, propensity variance, σ² itself."""
    _check_probability("baseline CTR", baseline_ctr)
    if not (math.isfinite(impressions_per_user) and impressions_per_user >= 1):
        raise PowerInputError(f"impressions per user must be >= 1, got {impressions_per_user}")
    given = [
        name
        for name, v in (("icc", icc), ("user variance", user_variance), ("per-user variance", per_user_variance))
        if v is not None
    ]
    if len(given) > 1:
        raise PowerInputError(f"give at most one of icc, user variance, per-user variance; got {', '.join(given)}")
    binomial = baseline_ctr * (1 - baseline_ctr)
    if per_user_variance is not None:
        if not (math.isfinite(per_user_variance) and per_user_variance > 0):
            raise PowerInputError(f"per-user variance must be > 0, got {per_user_variance}")
        return CtrVariance(per_user_variance, per_user_variance * impressions_per_user / binomial)
    if user_variance is not None:
        if not (math.isfinite(user_variance) and 0 <= user_variance <= binomial):
            raise PowerInputError(f"user variance must be in [0, p(1-p) = {binomial:.6g}], got {user_variance}")
        icc = user_variance / binomial
    icc = 0.0 if icc is None else icc
    if not (math.isfinite(icc) and 0 <= icc <= 1):
        raise PowerInputError(f"icc must be in [0, 1], got {icc}")
    design_effect = 1 + (impressions_per_user - 1) * icc
    return CtrVariance(binomial * design_effect / impressions_per_user, design_effect)


def power_of(effect: float, per_user_variance: float, users_per_arm: float, *, alpha: float = 0.05) -> float:
    """Probability that a two-sided level-alpha test rejects for an absolute effect, both tails counted."""
    z = _Z.inv_cdf(1 - alpha / 2)
    shift = abs(effect) / math.sqrt(2 * per_user_variance / users_per_arm)
    return _Z.cdf(shift - z) + _Z.cdf(-shift - z)


def _solve(f: Callable[[float], float], low: float, high: float) -> float:
    """The root of an increasing function between low and high, by bisection (power is monotone in n and in the
    effect, so 200 halvings reach float precision without a solver library)."""
    for _ in range(200):
        middle = (low + high) / 2
        if f(middle) < 0:
            low = middle
        else:
            high = middle
    return high


def _check_design(alpha: float, power: float, arms: int) -> None:
    _check_probability("alpha", alpha)
    _check_probability("power", power)
    if power <= alpha:
        raise PowerInputError(f"power {power} must exceed alpha {alpha}: a null effect is rejected that often")
    if arms < 2:
        raise PowerInputError(f"an experiment needs at least 2 arms, got {arms}")


def test_alpha(alpha: float, arms: int) -> float:
    """The level each primary comparison is planned at: Holm across the arms − 1 treatments (see the module)."""
    return alpha / (arms - 1)


def _reduced(variance: CtrVariance, cuped_reduction: float) -> float:
    if not (math.isfinite(cuped_reduction) and 0 <= cuped_reduction < 1):
        raise PowerInputError(f"CUPED variance reduction must be in [0, 1), got {cuped_reduction}")
    return variance.per_user_variance * (1 - cuped_reduction)


def sample_size(
    baseline_ctr: float,
    mde: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    variance: CtrVariance | None = None,
    arms: int = 2,
    daily_users: float | None = None,
    cuped_reduction: float = 0.0,
) -> PowerPlan:
    """Users per arm to detect a relative lift `mde` with the given power; days if `daily_users` is known.

    `variance` defaults to the binomial one (one impression per user, no clustering).
    `daily_users` is new users entering the experiment per day, all arms together.
    """
    _check_design(alpha, power, arms)
    variance = variance or ctr_variance(baseline_ctr)
    if not (math.isfinite(mde) and 0 < mde <= 10):
        raise PowerInputError(f"mde (relative lift) must be in (0, 10], got {mde}")
    level = test_alpha(alpha, arms)
    sigma2 = _reduced(variance, cuped_reduction)
    effect = baseline_ctr * mde
    z_sum = _Z.inv_cdf(1 - level / 2) + _Z.inv_cdf(power)
    try:
        one_tail = 2 * sigma2 * (z_sum / effect) ** 2  # ignores the far tail: an upper bound
    except (OverflowError, ZeroDivisionError):  # a vanishing effect: more users than any float holds
        one_tail = math.inf
    if not one_tail <= MAX_USERS_PER_ARM:
        raise PowerInputError(f"an MDE of {mde:g} would need more than {MAX_USERS_PER_ARM:.0e} users per arm")
    n = _solve(lambda m: power_of(effect, sigma2, m, alpha=level) - power, 1e-12 * one_tail, one_tail)
    users = math.ceil(n - 1e-9)
    days = None
    if daily_users is not None:
        if not (math.isfinite(daily_users) and daily_users > 0):
            raise PowerInputError(f"daily users must be > 0, got {daily_users}")
        days = math.ceil(users * arms / daily_users)
    return PowerPlan(
        baseline_ctr=baseline_ctr,
        mde=mde,
        alpha=alpha,
        power=power,
        per_user_variance=variance.per_user_variance,
        design_effect=variance.design_effect,
        users_per_arm=users,
        arms=arms,
        total_users=users * arms,
        days=days,
        test_alpha=level,
        cuped_reduction=cuped_reduction,
    )


def minimum_detectable_effect(
    baseline_ctr: float,
    users_per_arm: int,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    variance: CtrVariance | None = None,
    arms: int = 2,
    cuped_reduction: float = 0.0,
) -> float:
    """The smallest relative lift detected with the given power by `users_per_arm` users in each arm."""
    _check_design(alpha, power, arms)
    variance = variance or ctr_variance(baseline_ctr)
    if users_per_arm < 1:
        raise PowerInputError(f"users per arm must be >= 1, got {users_per_arm}")
    level = test_alpha(alpha, arms)
    sigma2 = _reduced(variance, cuped_reduction)
    se = math.sqrt(2 * sigma2 / users_per_arm)
    upper = (_Z.inv_cdf(1 - level / 2) + _Z.inv_cdf(power)) * se  # one-tail effect: an upper bound
    effect = _solve(lambda d: power_of(d, sigma2, users_per_arm, alpha=level) - power, 0.0, upper)
    return effect / baseline_ctr
