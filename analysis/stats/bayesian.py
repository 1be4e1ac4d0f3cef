"""The Bayesian engine: chance to beat control, expected loss (risk) and a credible interval of the relative lift.

Conventions of GrowthBook's gbstats (`bayesian/tests.py: EffectBayesianABTest`, the default engine there): the
data enter as a Gaussian likelihood of the relative lift, centred on the same estimate the frequentist rows use
(delta method, CUPED, quantile delta method) with its delta-method variance. With the default flat prior the
posterior is N(lift, se²); a proper prior N(m, s²) on the relative lift shrinks it:
precision = 1/se² + 1/s², mean = (lift/se² + m/s²) / precision.

- chance to win: the posterior probability that the treatment is better in the metric's good direction
  (P(lift > 0), or P(lift < 0) for a lower-is-better metric; a neutral metric reads as higher-is-better);
- risk: the expected loss of each choice, in relative-lift units, `E[max(0, lift)]` for keeping control and
  `E[max(0, −lift)]` for shipping the treatment (swapped for a lower-is-better metric) — the same numbers
  as gbstats' truncated-normal means, computed in closed form;
- credible interval: the posterior's central 1 − α interval.

No multiple-comparison correction (gbstats applies none to its Bayesian results); the decision thresholds on
chance to win and risk are the plan's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from scipy import stats as sps

from analysis.errors import StatsInputError
from analysis.stats.comparison import Comparison
from analysis.stats.effect import Effect, check_alpha
from analysis.stats.estimation import AnyStats, estimate
from analysis.stats.noninferiority import Direction


@dataclass(frozen=True)
class Prior:
    """Prior on the relative lift: flat (improper) unless `proper`, then Normal(`mean`, `stddev`²)."""

    proper: bool = False
    mean: float = 0.0
    stddev: float = 0.3

    def __post_init__(self) -> None:
        if not (math.isfinite(self.mean) and math.isfinite(self.stddev) and self.stddev > 0):
            raise StatsInputError(f"prior needs a finite mean and a stddev > 0, got {self.mean}, {self.stddev}")


def posterior(lift: float, variance: float, prior: Prior) -> tuple[float, float]:
    """(mean, standard deviation) of the relative lift after the data."""
    if not prior.proper:
        return lift, math.sqrt(variance)
    prior_variance = prior.stddev**2
    precision = 1 / variance + 1 / prior_variance
    return (lift / variance + prior.mean / prior_variance) / precision, math.sqrt(1 / precision)


def expected_gain(mean: float, sd: float) -> float:
    """E[max(0, X)] for X ~ N(mean, sd²): μ·Φ(μ/σ) + σ·φ(μ/σ)."""
    z = mean / sd
    return float(mean * sps.norm.cdf(z) + sd * sps.norm.pdf(z))


def bayesian_comparison(effect: Effect, *, prior: Prior, alpha: float, direction: Direction) -> Comparison:
    """The effect read by the Bayesian engine; without a relative lift (zero control, no variance) no chance to
    win: the absolute difference keeps its normal interval and the row says why."""
    untestable = effect.zero_variance()
    if untestable is not None:
        return untestable
    z = float(sps.norm.ppf(1 - alpha / 2))
    frequentist = effect.comparison(
        abs_halfwidth=z * effect.abs_se, p_value_abs=1.0, rel_halfwidth=None, p_value_rel=None
    )
    base = replace(frequentist, p_value=None, p_value_abs=None)  # the absolute interval stays; no test is read
    if not effect.relative or effect.rel_lift is None or effect.rel_var is None:
        return base
    mean, sd = posterior(effect.rel_lift, effect.rel_var, prior)
    up, down = expected_gain(mean, sd), expected_gain(-mean, sd)
    better_if_up = direction != "lower_is_better"
    chance = float(sps.norm.sf(0, mean, sd)) if better_if_up else float(sps.norm.cdf(0, mean, sd))
    return replace(
        base,
        rel_lift=mean,
        ci_low=mean - z * sd,
        ci_high=mean + z * sd,
        inference="relative",
        note=effect.note,
        chance_to_win=chance,
        risk_control=up if better_if_up else down,
        risk_treatment=down if better_if_up else up,
    )


def compare_bayesian(
    control: AnyStats,
    treatment: AnyStats,
    *,
    prior: Prior | None = None,
    alpha: float = 0.05,
    direction: Direction = "higher_is_better",
) -> Comparison:
    """Chance to win, risk and credible interval of the relative lift (CUPED-adjusted for covariate statistics)."""
    check_alpha(alpha)
    effect = estimate(control, treatment)
    if isinstance(effect, Comparison):
        return effect
    return bayesian_comparison(effect, prior=prior or Prior(), alpha=alpha, direction=direction)
