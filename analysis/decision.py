"""The decision rule: one recommendation per treatment variant, with its reasons, written into results.json.

The rule is the one Spotify's Confidence documents for success and guardrail metrics:

- `invalid` if the sample-ratio check fails (the split is broken, so no estimate can be trusted);
- `ship` only if the primary metric moved significantly in its good direction and every guardrail passed its
  non-inferiority test;
- `no_ship` if the primary moved significantly in its bad direction, or a guardrail failed (significantly worse
  and not shown to be within its margin);
- `inconclusive` otherwise — with how many more users the planned minimum detectable effect needs, when the
  plan states one. Below the plan's minimum users per arm no recommendation but `inconclusive` is made.

The primary row it reads is the one valid for how the experiment was run (`Results.preferred_row`: the
sequential row when the plan peeks, else CUPED, else the plain test). Significance there is after the
primary family's correction (Holm across treatment variants).
"""

from __future__ import annotations

import math
from statistics import NormalDist

from analysis.results import Decision, GuardrailResult, MetricResult, Recommendation, Results

_Z = NormalDist()


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:+.2f}%"


def _p(value: float | None) -> str:
    return "n/a" if value is None else ("p<0.0001" if value < 0.0001 else f"p={value:.3g}")


def _good_direction(results: Results, row: MetricResult) -> bool | None:
    """Whether the row's change goes the metric's good way (None for a neutral metric or no estimate)."""
    direction = results.metrics[row.metric].direction if row.metric in results.metrics else "higher_is_better"
    change = row.rel_lift if row.inference == "relative" else row.abs_lift
    if change is None or change == 0 or direction == "neutral":
        return None
    return (change > 0) == (direction == "higher_is_better")


def _describe(results: Results, row: MetricResult) -> str:
    """ "ctr +4.10% (95% CI +1.20% to +7.00%, p=0.006, Holm-adjusted, CUPED)"."""
    level = f"{(1 - results.alpha) * 100:.4g}%"
    if row.inference == "relative":
        low, high = row.ci_low_adjusted or row.ci_low, row.ci_high_adjusted or row.ci_high
        estimate = f"{_pct(row.rel_lift)} ({level} CI {_pct(low)} to {_pct(high)}"
    else:
        estimate = f"{row.abs_lift:+.4g} absolute ({level} CI {row.abs_ci_low:+.4g} to {row.abs_ci_high:+.4g}"
    adjusted = row.p_value_adjusted is not None and row.p_value_adjusted != row.p_value
    p_part = _p(row.p_value_adjusted if adjusted else row.p_value) + (", Holm-adjusted" if adjusted else "")
    method = "" if row.method in ("delta", "interleaving") else f", {row.method}"
    return f"{row.metric} {estimate}, {p_part}{method})"


def users_needed(results: Results, row: MetricResult) -> int | None:
    """More users (all arms) for the plan's MDE to reach the plan's power, from the row's standard error.

    Fixed-horizon normal approximation at the primary family's level (alpha / number of treatments: Holm's
    first step); None without an MDE or a relative interval. A sequential design needs somewhat more.
    """
    design = results.design
    if design.mde is None or row.inference != "relative" or row.ci_low is None or row.ci_high is None:
        return None
    fixed = results.preferred_row(row.metric, row.variant, fixed_horizon=True) or row
    if fixed.ci_low is None or fixed.ci_high is None:
        return None
    treatments = max(1, len({r.variant for r in results.results if r.role == "primary"}))
    se = (fixed.ci_high - fixed.ci_low) / (2 * _Z.inv_cdf(1 - results.alpha / 2))
    z_sum = _Z.inv_cdf(1 - results.alpha / treatments / 2) + _Z.inv_cdf(design.power)
    users_now = fixed.n_control + fixed.n_treatment
    needed = users_now * (se * z_sum / design.mde) ** 2
    return max(0, math.ceil(needed - users_now))


def _on_scale(g: GuardrailResult, value: float | None) -> str:
    """A guardrail number as its test reads it: a relative change, or an absolute one (zero control value)."""
    if g.scale == "relative" or value is None:
        return _pct(value)
    return f"{value:+.4g} absolute"


def _guardrail_reason(g: GuardrailResult) -> str:
    worst, margin = _on_scale(g, g.bound), _on_scale(g, g.margin_on_scale)
    if g.status == "fail":
        return (
            f"guardrail {g.metric} got significantly worse: {_on_scale(g, g.estimate)}, "
            f"could be as bad as {worst} (margin {margin})"
        )
    if g.status == "inconclusive":
        if g.bound is None:
            return f"guardrail {g.metric} could not be tested: {g.note or 'no estimate'}"
        return f"guardrail {g.metric} not shown within its margin: worst case {worst} against margin {margin}"
    return f"guardrail {g.metric} passed: worst case {worst} within margin {margin}"


def decide_variant(results: Results, variant: str) -> Decision:
    """The recommendation for one treatment variant (see the module docstring)."""
    srm = results.srm
    if not srm.ok:
        p_value = "p n/a" if srm.p_value is None else _p(srm.p_value)
        return Decision(
            variant=variant,
            recommendation="invalid",
            reasons=[f"sample-ratio mismatch ({p_value}): users are not split as designed; find the cause first"],
        )
    row = results.preferred_row(results.primary_metric, variant)
    minimum = results.design.min_users_per_arm
    if row is not None and min(row.n_control, row.n_treatment) < minimum:
        return Decision(
            variant=variant,
            recommendation="inconclusive",
            reasons=[
                f"too few users to decide: {row.n_control:,} in control, {row.n_treatment:,} in {variant} "
                f"(at least {minimum:,} per arm)"
            ],
        )
    guardrails = [g for g in results.guardrails if g.variant == variant]
    failed = [g for g in guardrails if g.status == "fail"]
    unsure = [g for g in guardrails if g.status == "inconclusive"]
    reasons: list[str] = []
    recommendation: Recommendation
    needed = None
    if row is None or row.p_value is None:
        why = row.note if row is not None and row.note else "no estimate"
        reasons.append(f"primary metric {results.primary_metric} cannot be read: {why}")
        good = None
    else:
        good = _good_direction(results, row) if row.significant else None
        if good is True:
            reasons.append(f"primary metric improved significantly: {_describe(results, row)}")
        elif good is False:
            reasons.append(f"primary metric got significantly worse: {_describe(results, row)}")
        else:
            needed = users_needed(results, row)
            hint = (
                f"; about {needed:,} more users for the planned MDE of {_pct(results.design.mde)}"
                if needed
                else ("" if results.design.mde is not None else "; set analysis.mde to see how many users it needs")
            )
            reasons.append(f"no significant change in the primary metric: {_describe(results, row)}{hint}")
    reasons.extend(_guardrail_reason(g) for g in failed + unsure)
    if good is False or failed:
        recommendation = "no_ship"
    elif good is True and not unsure:
        recommendation = "ship"
        reasons.extend(_guardrail_reason(g) for g in guardrails)
    else:
        recommendation = "inconclusive"
    return Decision(variant=variant, recommendation=recommendation, reasons=reasons, users_needed=needed)


def decide(results: Results) -> list[Decision]:
    """One decision per treatment variant of an A/B or interleaving experiment (none for a holdout report)."""
    if results.kind == "holdout":
        return []
    variants = dict.fromkeys([*(r.variant for r in results.results), *results.srm.observed])
    return [decide_variant(results, v) for v in variants if v != results.control]
