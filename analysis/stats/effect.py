"""An estimated effect before any test: point estimates, their variances, degrees of freedom.

Every method (Welch, ratio delta method, CUPED, sequential, quantiles) first reduces the two arms to an
`Effect`; the fixed-horizon t-test and the confidence sequence then turn it into a `Comparison`. Keeping
the two steps apart is what lets `compare_sequential` reuse the estimates of every other method.
"""

from __future__ import annotations

from dataclasses import dataclass

from analysis.errors import StatsInputError
from analysis.stats.comparison import BASELINE_ZERO, NOT_ENOUGH_DATA, ZERO_VARIANCE, Comparison
from analysis.stats.delta import relative_variance
from analysis.stats.sufficient import ArmStats, MeanStats, RatioStats


@dataclass(frozen=True)
class Effect:
    """Treatment versus control, estimated.

    `abs_var` and `rel_var` are variances of the estimates (already divided by n); `dof` is the
    Welch–Satterthwaite degrees of freedom of the per-user variances, `math.inf` for large-sample normal
    methods (quantiles).
    """

    control_mean: float
    treatment_mean: float
    abs_lift: float
    abs_var: float
    rel_lift: float
    rel_var: float
    dof: float
    n_control: int
    n_treatment: int
    variance_reduction: float | None = None
    note: str | None = None

    def zero_variance(self) -> Comparison | None:
        """A degenerate comparison if an estimate has no variance (e.g. CUPED with a perfect covariate)."""
        if self.abs_var > 0 and self.rel_var > 0:
            return None
        return Comparison.degenerate(
            ZERO_VARIANCE,
            n_control=self.n_control,
            n_treatment=self.n_treatment,
            control_mean=self.control_mean,
            treatment_mean=self.treatment_mean,
        )

    def comparison(self, *, abs_halfwidth: float, rel_halfwidth: float, p_value: float) -> Comparison:
        """The reported comparison for symmetric intervals of the given half-widths."""
        return Comparison(
            control_mean=self.control_mean,
            treatment_mean=self.treatment_mean,
            abs_lift=self.abs_lift,
            abs_ci_low=self.abs_lift - abs_halfwidth,
            abs_ci_high=self.abs_lift + abs_halfwidth,
            rel_lift=self.rel_lift,
            ci_low=self.rel_lift - rel_halfwidth,
            ci_high=self.rel_lift + rel_halfwidth,
            p_value=min(max(p_value, 0.0), 1.0),
            n_control=self.n_control,
            n_treatment=self.n_treatment,
            variance_reduction=self.variance_reduction,
            note=self.note,
        )


def welch_df(control_var: float, n_control: int, treatment_var: float, n_treatment: int) -> float:
    """Welch–Satterthwaite degrees of freedom from per-user variances (ddof = 1) and arm sizes."""
    se2_c, se2_t = control_var / n_control, treatment_var / n_treatment
    return (se2_c + se2_t) ** 2 / (se2_c**2 / (n_control - 1) + se2_t**2 / (n_treatment - 1))


def check_types(control: object, treatment: object, expected: type | tuple[type, ...]) -> None:
    """Both arms must be the same kind of statistic: mixing a mean with a ratio is a bug upstream."""
    if not isinstance(control, expected) or type(control) is not type(treatment):
        raise StatsInputError(
            f"control and treatment must both be {expected}, got {type(control).__name__} "
            f"and {type(treatment).__name__}"
        )


def check_alpha(alpha: float) -> None:
    if not 0 < alpha < 1:
        raise StatsInputError(f"alpha must be in (0, 1), got {alpha}")


def arm_mean(stats: ArmStats) -> float | None:
    """The mean (or ratio) of an arm if it exists: no users, or no denominator, means no mean."""
    if stats.n == 0 or (isinstance(stats, RatioStats) and stats.sum_y == 0):
        return None
    return stats.mean


def degenerate_note(control: ArmStats, treatment: ArmStats) -> str | None:
    """Why two arms cannot be tested, in gbstats' order: data, baseline, variance; None when they can."""
    if control.n < 2 or treatment.n < 2 or arm_mean(control) is None or arm_mean(treatment) is None:
        return NOT_ENOUGH_DATA
    if control.mean == 0:
        return BASELINE_ZERO
    # gbstats refuses when either arm has zero variance: a standard error from one arm alone is not trusted.
    if control.var <= 0 or treatment.var <= 0:
        return ZERO_VARIANCE
    return None


def degenerate(note: str, control: ArmStats, treatment: ArmStats) -> Comparison:
    return Comparison.degenerate(
        note,
        n_control=control.n,
        n_treatment=treatment.n,
        control_mean=arm_mean(control),
        treatment_mean=arm_mean(treatment),
    )


def arm_effect(control: MeanStats | RatioStats, treatment: MeanStats | RatioStats) -> Effect | Comparison:
    """Effect of two arms of per-user means or ratios; a degenerate `Comparison` when untestable."""
    note = degenerate_note(control, treatment)
    if note is not None:
        return degenerate(note, control, treatment)
    m_c, m_t = control.mean, treatment.mean
    se2_c, se2_t = control.var / control.n, treatment.var / treatment.n
    return Effect(
        control_mean=m_c,
        treatment_mean=m_t,
        abs_lift=m_t - m_c,
        abs_var=se2_c + se2_t,
        rel_lift=m_t / m_c - 1,
        rel_var=relative_variance(m_c, se2_c, m_t, se2_t),
        dof=welch_df(control.var, control.n, treatment.var, treatment.n),
        n_control=control.n,
        n_treatment=treatment.n,
    )
