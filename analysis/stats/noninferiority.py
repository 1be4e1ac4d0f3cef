"""Guardrails as tests: non-inferiority against control with a relative margin in the metric's bad direction.

A guardrail asks "is the treatment no worse than control by more than the margin?". With h the change in the
bad direction (the relative lift for a lower-is-better metric such as error_rate, minus it for a
higher-is-better one) and its one-sided (1 − α) interval [L, U]:

- `pass` when U < margin: non-inferiority shown (H0: h ≥ margin rejected at one-sided α; `p_value`);
- `fail` when L > 0 and U ≥ margin: the metric got significantly worse and could be worse than the margin;
- `inconclusive` otherwise: the data cannot tell (too few users for this margin).

When both arms are constant (no errors in either arm, say) there is no sampling noise: the observed change is
compared with the margin as it is.

A harm smaller than the margin that is significant passes: the margin is the tolerance the team declared.
Relative like the margin; when the control value is zero there is no relative change, so the test runs on
the absolute difference with margin 0 (a rise from nothing can only be shown, never ruled out by a ratio).
Under sequential analysis the bounds come from the confidence sequence at level 2α (a two-sided sequence at
1 − 2α bounds each side at 1 − α, at every look) and there is no fixed-horizon p-value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from scipy import stats as sps

from analysis.errors import StatsInputError
from analysis.results import Direction
from analysis.stats.comparison import ZERO_VARIANCE, Comparison
from analysis.stats.effect import Effect, check_alpha
from analysis.stats.estimation import AnyStats, estimate
from analysis.stats.sequential import check_tuning, sequential_halfwidth, sequential_rho

GuardrailStatus = Literal["pass", "fail", "inconclusive"]


@dataclass(frozen=True)
class NonInferiority:
    """One guardrail test. `estimate` and `bound` are on `scale` (relative fractions, or absolute values);
    `bound` is the one-sided (1 − α) bound in the bad direction — the worst change the data allow — and
    `margin_on_scale` the tolerated change on the same scale, signed in the bad direction."""

    direction: Direction
    scale: Literal["relative", "absolute"] | None
    margin_on_scale: float | None
    estimate: float | None
    bound: float | None
    p_value: float | None
    status: GuardrailStatus
    n_control: int
    n_treatment: int
    control_mean: float | None
    treatment_mean: float | None
    note: str | None = None


def _inconclusive(direction: Direction, untestable: Comparison) -> NonInferiority:
    return NonInferiority(
        direction=direction,
        scale=None,
        margin_on_scale=None,
        estimate=None,
        bound=None,
        p_value=None,
        status="inconclusive",
        n_control=untestable.n_control,
        n_treatment=untestable.n_treatment,
        control_mean=untestable.control_mean,
        treatment_mean=untestable.treatment_mean,
        note=untestable.note,
    )


def _exact(direction: Direction, constant: Comparison, margin: float, bad: float) -> NonInferiority:
    """Both arms constant (no errors in either, say): no sampling noise, so the observed change is the answer —
    pass when it is within the margin, fail when beyond."""
    c, t = constant.control_mean, constant.treatment_mean
    if c is None or t is None:
        return _inconclusive(direction, constant)
    scale: Literal["relative", "absolute"] = "relative" if c != 0 else "absolute"
    value, scaled_margin = (t / c - 1, margin) if c != 0 else (t - c, 0.0)
    return NonInferiority(
        direction=direction,
        scale=scale,
        margin_on_scale=bad * scaled_margin,
        estimate=value,
        bound=value,
        p_value=None,
        status="pass" if bad * value <= scaled_margin else "fail",
        n_control=constant.n_control,
        n_treatment=constant.n_treatment,
        control_mean=c,
        treatment_mean=t,
        note=ZERO_VARIANCE,
    )


def _scaled(effect: Effect, margin: float) -> tuple[Literal["relative", "absolute"], float, float, float]:
    """(scale, estimate, its standard error, margin on that scale)."""
    if effect.rel_lift is not None and effect.rel_var is not None and effect.rel_var > 0:
        return "relative", effect.rel_lift, math.sqrt(effect.rel_var), margin
    return "absolute", effect.abs_lift, effect.abs_se, margin * abs(effect.control_mean)


def non_inferiority(
    control: AnyStats,
    treatment: AnyStats,
    *,
    margin: float,
    direction: Direction,
    alpha: float = 0.05,
    tuning: float | None = None,
) -> NonInferiority:
    """Test that treatment is not worse than control by `margin` (relative, > 0) in `direction`'s bad sense.

    `tuning` (planned total users) makes it sequential: bounds from the always-valid confidence sequence.
    """
    check_alpha(alpha)
    if direction not in ("higher_is_better", "lower_is_better"):
        raise StatsInputError(f"a guardrail needs a direction (higher_is_better or lower_is_better), got {direction!r}")
    if not (math.isfinite(margin) and margin > 0):
        raise StatsInputError(f"the non-inferiority margin must be a relative change > 0, got {margin}")
    if tuning is not None:
        check_tuning(tuning)
        if alpha >= 0.5:
            raise StatsInputError(f"a sequential one-sided test needs alpha < 0.5, got {alpha}")
    bad = 1.0 if direction == "lower_is_better" else -1.0
    effect = estimate(control, treatment)
    if isinstance(effect, Comparison):
        if effect.note == ZERO_VARIANCE:
            return _exact(direction, effect, margin, bad)
        return _inconclusive(direction, effect)
    untestable = effect.zero_variance()
    if untestable is not None:
        return _exact(direction, untestable, margin, bad)
    scale, value, se, scaled_margin = _scaled(effect, margin)
    harm = bad * value
    if tuning is None:
        halfwidth = float(sps.t.ppf(1 - alpha, effect.dof)) * se
        p_value: float | None = float(sps.t.cdf((harm - scaled_margin) / se, effect.dof))
    else:
        n_total = effect.n_control + effect.n_treatment
        halfwidth = sequential_halfwidth(se * se, n_total, 2 * alpha, sequential_rho(2 * alpha, tuning))
        p_value = None
    upper, lower = harm + halfwidth, harm - halfwidth
    if upper < scaled_margin:
        status: GuardrailStatus = "pass"
    elif lower > 0:
        status = "fail"
    else:
        status = "inconclusive"
    return NonInferiority(
        direction=direction,
        scale=scale,
        margin_on_scale=bad * scaled_margin,
        estimate=value,
        bound=bad * upper,
        p_value=p_value,
        status=status,
        n_control=effect.n_control,
        n_treatment=effect.n_treatment,
        control_mean=effect.control_mean,
        treatment_mean=effect.treatment_mean,
        note=effect.note,
    )
