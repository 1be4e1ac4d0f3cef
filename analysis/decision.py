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

Under the Bayesian engine "moved significantly in its good direction" reads: chance to win at or above the
plan's threshold (0.95 by default) and risk — the expected relative loss if the treatment is shipped and is in
fact worse — at or below the plan's maximum (0.25 %); "in its bad direction": chance to win at or below one
minus the threshold. Guardrails stay non-inferiority tests.
"""

from __future__ import annotations

import math
from statistics import NormalDist

from analysis.results import Decision, GuardrailResult, MetricResult, Recommendation, Results

_Z = NormalDist()


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:+.2f}%"


def _chance(value: float) -> str:
    """A probability as a percentage that never rounds to a certainty: ">99.9%", "<0.1%"."""
    return ">99.9%" if value > 0.999 else ("<0.1%" if value < 0.001 else f"{value * 100:.1f}%")


def _risk(value: float) -> str:
    return "<0.001%" if value < 1e-5 else f"{value * 100:.3g}%"


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
    """ "ctr +4.10% (95% CI +1.20% to +7.00%, p=0.006, Holm-adjusted, CUPED)"; for a Bayesian row
    "ctr +4.10% (95% credible interval +1.20% to +7.00%, chance to win 99.1%, risk 0.002%, CUPED)"."""
    level = f"{(1 - results.alpha) * 100:.4g}%"
    method = "" if row.method in ("delta", "interleaving") else f", {row.method}"
    if row.engine == "bayesian" and row.chance_to_win is not None and row.risk is not None:
        interval = f"{level} credible interval {_pct(row.ci_low)} to {_pct(row.ci_high)}"
        odds = f"chance to win {_chance(row.chance_to_win)}, risk {_risk(row.risk.treatment)}"
        return f"{row.metric} {_pct(row.rel_lift)} ({interval}, {odds}{method})"
    if row.inference == "relative":
        low, high = row.ci_low_adjusted or row.ci_low, row.ci_high_adjusted or row.ci_high
        estimate = f"{_pct(row.rel_lift)} ({level} CI {_pct(low)} to {_pct(high)}"
    else:
        estimate = f"{row.abs_lift:+.4g} absolute ({level} CI {row.abs_ci_low:+.4g} to {row.abs_ci_high:+.4g}"
    adjusted = row.p_value_adjusted is not None and row.p_value_adjusted != row.p_value
    p_part = _p(row.p_value_adjusted if adjusted else row.p_value) + (", Holm-adjusted" if adjusted else "")
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


def _bayesian_direction(results: Results, row: MetricResult) -> bool | None:
    """True: chance to win and risk meet the thresholds; False: the treatment is probably worse; None: neither."""
    thresholds = results.design.bayesian
    if thresholds is None or row.chance_to_win is None or row.risk is None or not results.srm.ok:
        return None
    if row.chance_to_win >= thresholds.chance_to_win and row.risk.treatment <= thresholds.max_risk:
        return True
    if row.chance_to_win <= 1 - thresholds.chance_to_win:
        return False
    return None


def _short_of(results: Results, row: MetricResult) -> str:
    """What a Bayesian primary lacks for a decision: chance to win, or a risk within bounds."""
    thresholds = results.design.bayesian
    if row.engine != "bayesian" or thresholds is None or row.chance_to_win is None or row.risk is None:
        return ""
    if row.chance_to_win >= thresholds.chance_to_win:
        return f"; risk above the maximum of {thresholds.max_risk * 100:.3g}%"
    return f"; chance to win below {thresholds.chance_to_win * 100:.3g}%"


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
    if row is None or (row.p_value is None and row.chance_to_win is None):
        why = row.note if row is not None and row.note else "no estimate"
        reasons.append(f"primary metric {results.primary_metric} cannot be read: {why}")
        good = None
    else:
        good = _bayesian_direction(results, row) if row.engine == "bayesian" else None
        if row.engine != "bayesian" and row.significant:
            good = _good_direction(results, row)
        bayesian = row.engine == "bayesian"
        if good is True:
            moved = "probably improved" if bayesian else "improved significantly"
            reasons.append(f"primary metric {moved}: {_describe(results, row)}")
        elif good is False:
            moved = "probably got worse" if bayesian else "got significantly worse"
            reasons.append(f"primary metric {moved}: {_describe(results, row)}")
        else:
            needed = users_needed(results, row)
            hint = (
                f"; about {needed:,} more users for the planned MDE of {_pct(results.design.mde)}"
                if needed
                else ("" if results.design.mde is not None else "; set analysis.mde to see how many users it needs")
            )
            what = "no decisive change" if row.engine == "bayesian" else "no significant change"
            reasons.append(f"{what} in the primary metric: {_describe(results, row)}{_short_of(results, row)}{hint}")
    reasons.extend(_guardrail_reason(g) for g in failed + unsure)
    if good is False or failed:
        recommendation = "no_ship"
    elif good is True and not unsure:
        recommendation = "ship"
        reasons.extend(_guardrail_reason(g) for g in guardrails)
    else:
        recommendation = "inconclusive"
    reasons.extend(_differential_reasons(results, variant))
    return Decision(variant=variant, recommendation=recommendation, reasons=reasons, users_needed=needed)


def _differential_reasons(results: Results, variant: str) -> list[str]:
    """Segments where the primary metric's effect differs from the rest's: they do not change the recommendation,
    but whoever ships should know (and may exclude the segment)."""
    flagged = [
        r for r in results.segments if r.variant == variant and r.differential is not None and r.differential.flagged
    ]
    flagged.sort(key=lambda r: -abs(r.differential.difference or 0))  # type: ignore[union-attr]
    return [
        f"the effect differs in {r.attribute} = {r.segment}: {r.metric} {_pct(r.rel_lift)} against "
        f"{_pct(r.differential.rest_rel_lift)} in the other users "  # type: ignore[union-attr]
        f"({_p(r.differential.p_value_adjusted)}, Holm-adjusted across segments)"  # type: ignore[union-attr]
        for r in flagged
    ]


def decide(results: Results) -> list[Decision]:
    """One decision per treatment variant of an A/B or interleaving experiment (none for a holdout report)."""
    if results.kind == "holdout":
        return []
    variants = dict.fromkeys([*(r.variant for r in results.results), *results.srm.observed])
    return [decide_variant(results, v) for v in variants if v != results.control]
