"""The report's headline: each treatment's recommendation from results.json, in plain words.

The decision itself is made by the analysis (`analysis.decision`) and written into results.json; this module
only words it. A person deciding a launch reads this first, so the label never says "ship" unless the
analysis recommended shipping, and an invalid experiment (broken split) says so before any number.
"""

from __future__ import annotations

from dataclasses import dataclass

from analysis.results import Decision, Results
from dashboards.formatting import metric_label, p_phrase, pct, pct_interval

RECOMMENDATION_LABELS = {
    "ship": "ship",
    "no_ship": "don't ship",
    "inconclusive": "inconclusive",
    "invalid": "invalid — do not read",
}
RECOMMENDATION_SUMMARY = {
    "ship": "The primary metric improved significantly and every guardrail held.",
    "no_ship": "A significant change in the wrong direction, or a guardrail broken.",
    "inconclusive": "Not enough evidence either way yet.",
    "invalid": "The traffic split is broken: no estimate can be trusted until its cause is found.",
}


@dataclass(frozen=True)
class DecisionView:
    """One variant's decision as the page and the index show it."""

    variant: str
    recommendation: str
    label: str
    summary: str
    reasons: tuple[str, ...]
    users_needed: int | None


def treatment_variants(results: Results) -> list[str]:
    """Non-control variants in a stable order: as they first appear in the rows, then in the SRM counts."""
    seen = (
        [d.variant for d in results.decisions] + [row.variant for row in results.results] + list(results.srm.observed)
    )
    return [v for v in dict.fromkeys(seen) if v != results.control]


def _view(decision: Decision) -> DecisionView:
    return DecisionView(
        variant=decision.variant,
        recommendation=decision.recommendation,
        label=RECOMMENDATION_LABELS[decision.recommendation],
        summary=RECOMMENDATION_SUMMARY[decision.recommendation],
        reasons=tuple(decision.reasons),
        users_needed=decision.users_needed,
    )


def decision_views(results: Results) -> list[DecisionView]:
    """One view per decision in results.json, in `treatment_variants` order."""
    order = {v: i for i, v in enumerate(treatment_variants(results))}
    return [_view(d) for d in sorted(results.decisions, key=lambda d: order.get(d.variant, len(order)))]


def direction_label(results: Results, metric: str) -> str:
    """ "higher is better", "lower is better" or "neutral" for a metric of the results."""
    info = results.metrics.get(metric)
    return info.direction.replace("_", " ") if info else "higher is better"


def primary_heading(results: Results) -> str:
    """The primary metric as the header names it: "CTR (higher is better)"."""
    return f"{metric_label(results.primary_metric)} ({direction_label(results, results.primary_metric)})"


def platform_effect(results: Results) -> list[str]:
    """A holdout report's headline: each metric's lift of exposed users over held-out ones, primary first."""
    lines = []
    metrics = [results.primary_metric, *(r.metric for r in results.results)]
    for metric in dict.fromkeys(metrics):
        row = next((r for r in results.results if r.metric == metric), None)
        if row is None:
            continue
        if row.rel_lift is None:
            lines.append(f"{metric_label(metric)}: no estimate ({row.note or 'no data'})")
            continue
        low, high = (
            (row.ci_low_adjusted, row.ci_high_adjusted)
            if row.p_value_adjusted is not None
            else (row.ci_low, row.ci_high)
        )
        verdict = "significant" if row.significant else "not significant"
        lines.append(
            f"{metric_label(metric)} {pct(row.rel_lift)} ({pct_interval(low, high)}, {p_phrase(row.p_value_adjusted)},"
            f" {verdict}; {direction_label(results, metric)})"
        )
    return lines
