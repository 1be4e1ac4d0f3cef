"""An estimated effect before any test: point estimates, their variances, degrees of freedom.

Every method (Welch, ratio delta method, CUPED, sequential, quantiles) first reduces the two arms to an
`Effect`; the fixed-horizon t-test, the confidence sequence and the non-inferiority test then turn it into
a result. Keeping the steps apart is what lets `compare_sequential` and the guardrails reuse the estimates
of every other method.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from analysis.errors import StatsInputError
from analysis.stats.comparison import (
    BASELINE_ZERO,
    NOT_ENOUGH_DATA,
    RELATIVE_SE_ZERO,
    ZERO_VARIANCE,
    Comparison,
    Inference,
)
from analysis.stats.delta import relative_variance
from analysis.stats.sufficient import ArmStats, MeanStats, RatioStats


@dataclass(frozen=True)
class Effect:
    """Treatment versus control, estimated.

    `abs_var` and `rel_var` are variances of the estimates (already divided by n); `dof` is the
    Welch–Satterthwaite degrees of freedom of the per-user variances, `math.inf` for large-sample normal
    methods (quantiles). `rel_lift` and `rel_var` are None when the control value is zero.
    """

    control_mean: float
    treatment_mean: float
    abs_lift: float
    abs_var: float
    rel_lift: float | None
    rel_var: float | None
    dof: float
    n_control: int
    n_treatment: int
    variance_reduction: float | None = None
    note: str | None = None

    @property
    def relative(self) -> bool:
        """Whether the relative lift can be tested (it exists and has a standard error)."""
        return self.rel_lift is not None and self.rel_var is not None and self.rel_var > 0

    @property
    def abs_se(self) -> float:
        return math.sqrt(self.abs_var)

    @property
    def rel_se(self) -> float | None:
        return math.sqrt(self.rel_var) if self.relative and self.rel_var is not None else None

    def zero_variance(self) -> Comparison | None:
        """A degenerate comparison if the difference has no variance (both arms constant, or CUPED exact)."""
        if self.abs_var > 0:
            return None
        return Comparison.degenerate(
            ZERO_VARIANCE,
            n_control=self.n_control,
            n_treatment=self.n_treatment,
            control_mean=self.control_mean,
            treatment_mean=self.treatment_mean,
        )

    def comparison(
        self,
        *,
        abs_halfwidth: float,
        p_value_abs: float,
        rel_halfwidth: float | None,
        p_value_rel: float | None,
    ) -> Comparison:
        """The reported comparison for symmetric intervals of the given half-widths (one inference per row)."""
        rel_low = rel_high = None
        p_value = _clip(p_value_abs)
        inference: Inference = "absolute"
        note = self.note
        if self.rel_lift is not None and self.relative and rel_halfwidth is not None and p_value_rel is not None:
            rel_low, rel_high = self.rel_lift - rel_halfwidth, self.rel_lift + rel_halfwidth
            p_value, inference = _clip(p_value_rel), "relative"
        elif self.rel_lift is not None and note is None:
            note = RELATIVE_SE_ZERO
        return Comparison(
            control_mean=self.control_mean,
            treatment_mean=self.treatment_mean,
            abs_lift=self.abs_lift,
            abs_ci_low=self.abs_lift - abs_halfwidth,
            abs_ci_high=self.abs_lift + abs_halfwidth,
            rel_lift=self.rel_lift,
            ci_low=rel_low,
            ci_high=rel_high,
            p_value=p_value,
            p_value_abs=_clip(p_value_abs),
            inference=inference,
            n_control=self.n_control,
            n_treatment=self.n_treatment,
            variance_reduction=self.variance_reduction,
            note=note,
        )


def _clip(p_value: float) -> float:
    return min(max(p_value, 0.0), 1.0)


def welch_df(control_var: float, n_control: int, treatment_var: float, n_treatment: int) -> float:
    """Welch–Satterthwaite degrees of freedom from per-user variances (ddof = 1) and arm sizes.

    With one arm constant the other arm's n − 1 remain; both constant is refused upstream (no variance).
    """
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
    """Why two arms cannot be tested at all: too little data, or no variance in either arm; None when they can.

    A zero control value is not degenerate here: the absolute difference is still tested (`BASELINE_ZERO`
    only removes the relative lift). One constant arm is not degenerate either: the difference's standard
    error then comes from the other arm (gbstats refuses that case; an error rate going from 0 to 0.5 % is
    exactly the change a guardrail must see).
    """
    if control.n < 2 or treatment.n < 2 or arm_mean(control) is None or arm_mean(treatment) is None:
        return NOT_ENOUGH_DATA
    if control.var <= 0 and treatment.var <= 0:
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
    baseline_zero = m_c == 0
    return Effect(
        control_mean=m_c,
        treatment_mean=m_t,
        abs_lift=m_t - m_c,
        abs_var=se2_c + se2_t,
        rel_lift=None if baseline_zero else m_t / m_c - 1,
        rel_var=None if baseline_zero else relative_variance(m_c, se2_c, m_t, se2_t),
        dof=welch_df(control.var, control.n, treatment.var, treatment.n),
        n_control=control.n,
        n_treatment=treatment.n,
        note=BASELINE_ZERO if baseline_zero else None,
    )
