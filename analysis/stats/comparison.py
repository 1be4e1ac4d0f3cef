"""The result of comparing one treatment arm with control, and the codes explaining missing values.

`Comparison` has exactly the numeric fields of `analysis.results.MetricResult`, so the data path
copies it field by field (`dataclasses.asdict`). Degenerate inputs give `None` values with a note code,
after gbstats `messages.py`: a results.json never carries NaN.

One inference per row: `p_value` tests the estimate whose interval the row shows. That is the relative
lift and its delta-method interval (`inference = "relative"`, gbstats' frequentist convention), except
where no relative lift exists (a zero control value) or it has no standard error: then the absolute
difference (`inference = "absolute"`). `p_value_abs` is always the absolute difference's own test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

BASELINE_ZERO = "BASELINE_ZERO"
"""The control mean (or ratio denominator) is zero: no relative lift exists; the absolute test stands."""
ZERO_VARIANCE = "ZERO_VARIANCE"
"""Both arms have zero variance: no standard error, so no test."""
NOT_ENOUGH_DATA = "NOT_ENOUGH_DATA"
"""An arm has fewer than two users (or no events, for quantiles)."""
CUPED_PRE_VARIANCE_ZERO = "CUPED_PRE_VARIANCE_ZERO"
"""The pre-period covariate is constant: CUPED falls back to the unadjusted estimate (theta = 0)."""
CUPED_ARM_WITHOUT_PRE = "CUPED_ARM_WITHOUT_PRE"
"""One arm's pre-period data are missing or constant: CUPED falls back to the unadjusted estimate."""
RELATIVE_SE_ZERO = "RELATIVE_SE_ZERO"
"""The relative lift has no standard error (e.g. a treatment mean of zero): the absolute test stands."""

Inference = Literal["relative", "absolute"]

_FLOAT_FIELDS = (
    "control_mean",
    "treatment_mean",
    "abs_lift",
    "abs_ci_low",
    "abs_ci_high",
    "rel_lift",
    "ci_low",
    "ci_high",
    "p_value",
    "p_value_abs",
    "variance_reduction",
    "chance_to_win",
    "risk_control",
    "risk_treatment",
)


@dataclass(frozen=True)
class Comparison:
    """Treatment versus control for one metric and one method.

    Relative values are fractions (0.03 = +3 %). `abs_*` is the difference treatment − control with
    its CI and `p_value_abs`; `rel_lift` = treatment/control − 1 with `ci_low`/`ci_high` its delta-method
    interval. `p_value` tests what `inference` names (see the module docstring).
    `variance_reduction` is set by CUPED only (1 − var_adjusted / var_unadjusted). The Bayesian engine
    (`analysis.stats.bayesian`) sets `chance_to_win` and the risks of keeping control and of shipping the
    treatment, and no p-value: its interval is the credible interval.
    """

    control_mean: float | None
    treatment_mean: float | None
    abs_lift: float | None
    abs_ci_low: float | None
    abs_ci_high: float | None
    rel_lift: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    n_control: int
    n_treatment: int
    p_value_abs: float | None = None
    inference: Inference = "relative"
    variance_reduction: float | None = None
    note: str | None = None
    chance_to_win: float | None = None
    risk_control: float | None = None
    risk_treatment: float | None = None

    def __post_init__(self) -> None:
        # A NaN here is a bug in the engine, never data: refuse it where it is made.
        for name in _FLOAT_FIELDS:
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                raise ValueError(f"Comparison.{name} is not finite: {value}")

    @classmethod
    def degenerate(
        cls,
        note: str,
        *,
        n_control: int,
        n_treatment: int,
        control_mean: float | None = None,
        treatment_mean: float | None = None,
    ) -> Comparison:
        """A comparison that cannot be tested: arm means if known, everything else None, and why."""
        return cls(
            control_mean=_finite_or_none(control_mean),
            treatment_mean=_finite_or_none(treatment_mean),
            abs_lift=None,
            abs_ci_low=None,
            abs_ci_high=None,
            rel_lift=None,
            ci_low=None,
            ci_high=None,
            p_value=None,
            n_control=int(n_control),
            n_treatment=int(n_treatment),
            note=note,
        )


def _finite_or_none(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)
