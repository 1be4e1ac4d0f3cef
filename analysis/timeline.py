"""Lift over time: the primary and guardrail metrics' lift by calendar day and by days since exposure.

Calendar view: at each day d, everything up to the end of d (users exposed by then, their events until
then) — the cumulative result an analyst would have seen that evening, with its interval. Days-since-exposure
view: each user's k-th 24 hours after first exposure — a lift that fades with k is novelty, one that grows is
learning. Each point is the same comparison as the experiment's rows (delta method, the quantile delta method;
the confidence sequence when the experiment is sequential, since then every point is a look; the credible
interval under the Bayesian engine). Quantile metrics have no per-user totals to split by exposure day: they get
the calendar view only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from analysis.metrics import Metric, QuantileMetric
from analysis.plan import AnalysisPlan
from analysis.results import Method, TimelinePoint
from analysis.rows import compare_fixed
from analysis.sources.data import ExperimentData, TimelineSlice
from analysis.stats import AnyStats, Comparison, compare_sequential


def timeline_metrics(plan: AnalysisPlan) -> list[str]:
    """The A/B plan's primary and guardrail metrics: what is drawn over time."""
    if plan.experiment_type != "ab":
        return []
    return list(dict.fromkeys((plan.primary_metric, *(g.metric for g in plan.guardrails))))


def _compare(plan: AnalysisPlan, metric: Metric, control: AnyStats, treatment: AnyStats, tuning: float) -> Comparison:
    if plan.sequential:
        return compare_sequential(control, treatment, alpha=plan.alpha, tuning=tuning)
    return compare_fixed(plan, metric.direction, control, treatment)


def _pair(piece: TimelineSlice, metric: Metric, control: str, variant: str) -> tuple[AnyStats, AnyStats] | None:
    """(control, variant) statistics of a metric in one slice, or None when the slice lacks either arm."""
    if isinstance(metric, QuantileMetric):
        by_arm = piece.quantiles.get(metric.name, {})
        if control in by_arm and variant in by_arm:
            return by_arm[control], by_arm[variant]
        return None
    arms = piece.arms
    if control not in arms or variant not in arms or not all(c in arms[control].columns for c in metric.columns):
        return None
    return metric.stats(arms[control]), metric.stats(arms[variant])


def timeline_points(
    data: ExperimentData, plan: AnalysisPlan, variants: Sequence[str], tuning: float
) -> list[TimelinePoint]:
    """One point per (metric, treatment, view, bucket) that has both arms."""
    method: Method = "sequential" if plan.sequential else "delta"
    points = []
    for name in timeline_metrics(plan):
        metric = plan.catalog.get(name)
        for piece in data.timeline:
            for variant in variants[1:]:
                pair = _pair(piece, metric, plan.control, variant)
                if pair is None:
                    continue
                c = _compare(plan, metric, *pair, tuning)
                points.append(
                    TimelinePoint(
                        metric=name,
                        variant=variant,
                        view=piece.view,
                        date=piece.bucket.isoformat() if isinstance(piece.bucket, date) else None,
                        day=piece.bucket if isinstance(piece.bucket, int) else None,
                        method=method,
                        n_control=c.n_control,
                        n_treatment=c.n_treatment,
                        control_value=c.control_mean,
                        treatment_value=c.treatment_mean,
                        rel_lift=c.rel_lift,
                        ci_low=c.ci_low,
                        ci_high=c.ci_high,
                        engine=plan.engine,
                    )
                )
    return points
