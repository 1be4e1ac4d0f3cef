"""Quantile metrics (dwell_p50, dwell_p90, latency_p95) on event-level values clustered by user.

Method: the quantile delta method of Deng, Knoblich & Lu (2018), "Applying the Delta Method in Metric
Analytics: A Practical Guide with Novel Ideas" (KDD '18, section 4.2). Events of one user are correlated,
so the i.i.d. variance p(1−p)/N of the empirical CDF at the sample quantile q̂ is wrong. Instead

1. F̂(q̂) = Σ_i S_i / Σ_i N_i is a ratio metric over users (S_i: user i's values ≤ q̂, N_i: user i's
   values), whose clustered variance σ² comes from the ratio delta method on per-user sums;
2. the outer order statistics at levels p ∓ z·σ bracket q̂; their spread estimates the density, so
   Var(q̂) = σ² · ((upper − lower) / (level_high − level_low))² — (upper − lower)/(2z) squared for
   the levels of `outer_levels`, without estimating a density kernel.

What the data path computes, per arm, for a quantile p of values v (three queries, all SQL):

1. `quantile` = the sample quantile of v at p (e.g. ClickHouse `quantileExact(p)(v)`);
2. per user i: S_i = countIf(v <= quantile), N_i = count(); then over users the six sums of
   `RatioStats(n, ΣS, ΣS², ΣN, ΣN², ΣS·N)` — n counts every user with at least one value;
3. `level_low, level_high = outer_levels(p, counts, alpha=0.05)`, then `lower`, `upper` = the sample
   quantiles of v at those two levels (same quantile function as step 1).

`QuantileStats.from_values` does exactly this with numpy, for tests and simulations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Real

import numpy as np
from scipy import stats as sps

from analysis.errors import StatsInputError
from analysis.stats.comparison import BASELINE_ZERO, NOT_ENOUGH_DATA, ZERO_VARIANCE, Comparison
from analysis.stats.delta import relative_variance
from analysis.stats.effect import Effect, check_alpha
from analysis.stats.sufficient import RatioStats
from analysis.stats.welch import fixed_horizon


def _fraction_var(counts: RatioStats) -> float:
    """Clustered variance of F̂(q̂) = ΣS/ΣN: per-user delta-method variance over the number of users."""
    return counts.var / counts.n if counts.n else 0.0


def outer_levels(p: float, counts: RatioStats, *, alpha: float = 0.05) -> tuple[float, float]:
    """The two quantile levels p ∓ z·σ at which the data path evaluates the outer order statistics.

    σ is floored at 1/ΣN (one event), so the levels differ even when all users look alike.
    """
    check_alpha(alpha)
    if not 0 < p < 1:
        raise StatsInputError(f"quantile level must be in (0, 1), got {p}")
    n_events = counts.sum_y
    sigma = math.sqrt(_fraction_var(counts))
    if n_events > 0:
        sigma = max(sigma, 1 / n_events)
    z = float(sps.norm.ppf(1 - alpha / 2))
    return max(p - z * sigma, 0.0), min(p + z * sigma, 1.0)


@dataclass(frozen=True)
class QuantileStats:
    """One arm's quantile at level `p` with what its clustered variance needs (see the module docstring).

    `counts` holds per-user (S_i, N_i): values ≤ quantile and all values; `lower`/`upper` are the sample
    quantiles at `level_low`/`level_high`.
    """

    p: float
    quantile: float
    counts: RatioStats
    level_low: float
    level_high: float
    lower: float
    upper: float

    def __post_init__(self) -> None:
        if not isinstance(self.counts, RatioStats):
            raise StatsInputError("QuantileStats.counts must be RatioStats of per-user (S_i, N_i)")
        values = (self.p, self.quantile, self.level_low, self.level_high, self.lower, self.upper)
        if not all(isinstance(v, Real) and not isinstance(v, bool) and math.isfinite(v) for v in values):
            raise StatsInputError(f"QuantileStats values must be finite numbers, got {values}")
        if not 0 < self.p < 1:
            raise StatsInputError(f"quantile level must be in (0, 1), got {self.p}")
        if not 0 <= self.level_low <= self.p <= self.level_high <= 1:
            raise StatsInputError(f"levels must bracket p: {self.level_low} <= {self.p} <= {self.level_high}")
        if not self.lower <= self.upper:
            raise StatsInputError(f"outer quantiles out of order: lower {self.lower} > upper {self.upper}")

    @classmethod
    def from_values(cls, values: np.ndarray, user_index: np.ndarray, p: float, *, alpha: float = 0.05) -> QuantileStats:
        """Build from event-level values and the user of each event (any labels), as the SQL would."""
        values = np.asarray(values, dtype=float)
        user_index = np.asarray(user_index)
        if values.ndim != 1 or values.shape != user_index.shape:
            raise StatsInputError(f"values {values.shape} and user_index {user_index.shape} must be equal 1-d")
        if values.size == 0:
            raise StatsInputError("no values: build an empty arm's stats from SQL sums instead")
        _, users = np.unique(user_index, return_inverse=True)
        quantile = float(np.quantile(values, p, method="inverted_cdf"))
        below = np.bincount(users, weights=(values <= quantile).astype(float))
        per_user = np.bincount(users).astype(float)
        counts = RatioStats.from_values(below, per_user)
        level_low, level_high = outer_levels(p, counts, alpha=alpha)
        lower, upper = (float(v) for v in np.quantile(values, [level_low, level_high], method="inverted_cdf"))
        return cls(p, quantile, counts, level_low, level_high, lower, upper)

    @property
    def n(self) -> int:
        """Users with at least one value."""
        return self.counts.n

    @property
    def n_events(self) -> int:
        return int(self.counts.sum_y)

    @property
    def var(self) -> float:
        """Variance of the sample quantile, clustered by user (0 if the outer quantiles coincide)."""
        if self.level_high <= self.level_low:
            return 0.0
        spread = (self.upper - self.lower) / (self.level_high - self.level_low)
        return _fraction_var(self.counts) * spread * spread


def quantile_effect(control: QuantileStats, treatment: QuantileStats) -> Effect | Comparison:
    """Difference and ratio of two arms' quantiles with large-sample variances; a degenerate `Comparison` when
    untestable.

    The reported "means" are the arm quantiles. Degenerate: fewer than two users or no events
    (NOT_ENOUGH_DATA), coinciding outer quantiles in both arms (ZERO_VARIANCE, e.g. most values tied).
    A zero control quantile keeps the absolute test (BASELINE_ZERO removes only the relative lift).
    """
    if not isinstance(control, QuantileStats) or not isinstance(treatment, QuantileStats):
        raise StatsInputError("quantile comparisons need QuantileStats for both arms")
    if control.p != treatment.p:
        raise StatsInputError(f"arms measure different quantiles: {control.p} != {treatment.p}")
    note = None
    if control.n < 2 or treatment.n < 2 or control.n_events == 0 or treatment.n_events == 0:
        note = NOT_ENOUGH_DATA
    elif control.var <= 0 and treatment.var <= 0:
        note = ZERO_VARIANCE
    if note is not None:
        return Comparison.degenerate(
            note,
            n_control=control.n,
            n_treatment=treatment.n,
            control_mean=control.quantile if control.n_events else None,
            treatment_mean=treatment.quantile if treatment.n_events else None,
        )
    q_c, q_t = control.quantile, treatment.quantile
    baseline_zero = q_c == 0
    return Effect(
        control_mean=q_c,
        treatment_mean=q_t,
        abs_lift=q_t - q_c,
        abs_var=control.var + treatment.var,
        rel_lift=None if baseline_zero else q_t / q_c - 1,
        rel_var=None if baseline_zero else relative_variance(q_c, control.var, q_t, treatment.var),
        dof=math.inf,
        n_control=control.n,
        n_treatment=treatment.n,
        note=BASELINE_ZERO if baseline_zero else None,
    )


def compare_quantiles(control: QuantileStats, treatment: QuantileStats, *, alpha: float = 0.05) -> Comparison:
    """Fixed-horizon comparison of two arms' quantiles: normal (large-sample) intervals and p-values."""
    check_alpha(alpha)
    effect = quantile_effect(control, treatment)
    return effect if isinstance(effect, Comparison) else fixed_horizon(effect, alpha)
