"""From two arms' statistics to a result row, by the plan's engine, and the corrections over a family of rows.

One place decides how a comparison is read (`compare_fixed`: frequentist t-tests, or the Bayesian engine's
chance to win and risk), how it becomes a `MetricResult` (or a `SegmentResult`), and how a family of rows is
corrected, so the experiment's rows, its segments' rows and its lift over time cannot read the same data two
ways.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import asdict
from typing import Any, TypeVar

from analysis.notes import note_text
from analysis.plan import AnalysisPlan
from analysis.results import Method, MetricResult, Risk, Role
from analysis.stats import (
    AnyStats,
    Comparison,
    Direction,
    Prior,
    adjust_p_values,
    adjusted_interval,
    bayesian_comparison,
    estimate,
)
from analysis.stats.welch import fixed_horizon

RowT = TypeVar("RowT", bound=MetricResult)


def prior_of(plan: AnalysisPlan) -> Prior:
    options = plan.bayesian
    return Prior(proper=options.proper, mean=options.prior_mean, stddev=options.prior_stddev)


def compare_fixed(plan: AnalysisPlan, direction: Direction, control: AnyStats, treatment: AnyStats) -> Comparison:
    """A fixed-horizon comparison by the plan's engine (the frequentist t-test, or the Bayesian posterior)."""
    effect = estimate(control, treatment)
    if isinstance(effect, Comparison):
        return effect
    if plan.engine == "bayesian":
        return bayesian_comparison(effect, prior=prior_of(plan), alpha=plan.alpha, direction=direction)
    return fixed_horizon(effect, plan.alpha)


def make_row(
    cls: type[RowT], metric: str, variant: str, method: Method, role: Role, c: Comparison, **extra: Any
) -> RowT:
    """A results row of a comparison (Bayesian fields folded into `risk`, note codes into sentences)."""
    fields = asdict(c)
    fields["note"] = note_text(c.note)
    risk_control, risk_treatment = fields.pop("risk_control"), fields.pop("risk_treatment")
    if c.chance_to_win is not None:
        fields["engine"] = "bayesian"
        fields["risk"] = Risk(control=risk_control, treatment=risk_treatment)
    return cls(metric=metric, variant=variant, method=method, role=role, **fields, **extra)


def decisive(plan: AnalysisPlan, row: MetricResult) -> bool:
    """A Bayesian row whose chance to win is beyond the plan's threshold either way."""
    threshold = plan.bayesian.chance_to_win
    return row.chance_to_win is not None and (row.chance_to_win >= threshold or row.chance_to_win <= 1 - threshold)


def adjust(
    rows: Sequence[RowT],
    plan: AnalysisPlan,
    *,
    srm_ok: bool,
    family: Callable[[RowT], Hashable],
    correction: Callable[[RowT], str],
) -> list[RowT]:
    """Correct p-values within each family of rows and add the intervals that agree with them.

    significant = adjusted p < alpha (frequentist rows) or a decisive chance to win (Bayesian rows, which gbstats
    does not correct), and the split is sound.
    """
    adjusted: dict[int, float | None] = {}
    for key in dict.fromkeys(family(r) for r in rows):
        indices = [i for i, r in enumerate(rows) if family(r) == key]
        values = adjust_p_values([rows[i].p_value for i in indices], correction(rows[indices[0]]))
        adjusted.update(zip(indices, values, strict=True))
    out = []
    for i, row in enumerate(rows):
        p_adjusted = adjusted[i]
        interval = None
        if p_adjusted is not None and row.rel_lift is not None and row.ci_low is not None and row.ci_high is not None:
            interval = (
                (row.ci_low, row.ci_high)
                if p_adjusted == row.p_value
                else adjusted_interval(row.rel_lift, row.ci_low, row.ci_high, p_adjusted, plan.alpha)
            )
        if row.engine == "bayesian":
            significant = decisive(plan, row)
        else:
            significant = p_adjusted is not None and p_adjusted < plan.alpha
        out.append(
            row.model_copy(
                update={
                    "p_value_adjusted": p_adjusted,
                    "ci_low_adjusted": interval[0] if interval else None,
                    "ci_high_adjusted": interval[1] if interval else None,
                    "significant": srm_ok and significant,
                }
            )
        )
    return out
