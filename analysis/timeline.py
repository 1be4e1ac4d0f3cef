"""Lift over time: the primary and guardrail metrics' lift by calendar day and by days since exposure.

Calendar view: at each day d, everything up to the end of d (users exposed by then, their events until
then) — the cumulative result an analyst would have seen that evening, with its interval. Days-since-exposure
view: each user's k-th 24 hours after first exposure — a lift that fades with k is novelty, one that grows is
learning. Each point is the same comparison as the experiment's rows (delta method; the confidence sequence
when the experiment is sequential, since then every point is a look). Quantile metrics have no per-user totals
and are not drawn over time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from analysis.metrics import QuantileMetric, get_metric
from analysis.plan import AnalysisPlan
from analysis.results import Method, TimelinePoint
from analysis.sources.data import ExperimentData
from analysis.stats import AnyStats, Comparison, compare_sequential, estimate
from analysis.stats.welch import fixed_horizon


def timeline_metrics(plan: AnalysisPlan) -> list[str]:
    """The A/B plan's primary and guardrail metrics that can be drawn over time."""
    if plan.experiment_type != "ab":
        return []
    names = dict.fromkeys((plan.primary_metric, *(g.metric for g in plan.guardrails)))
    return [name for name in names if not isinstance(get_metric(name), QuantileMetric)]


def timeline_columns(plan: AnalysisPlan) -> tuple[str, ...]:
    """Per-user columns the timeline query must total."""
    columns = [c for name in timeline_metrics(plan) for c in get_metric(name).columns]
    return tuple(dict.fromkeys(columns))


def _compare(plan: AnalysisPlan, control: AnyStats, treatment: AnyStats, tuning: float) -> Comparison:
    if plan.sequential:
        return compare_sequential(control, treatment, alpha=plan.alpha, tuning=tuning)
    effect = estimate(control, treatment)
    return effect if isinstance(effect, Comparison) else fixed_horizon(effect, plan.alpha)


def timeline_points(
    data: ExperimentData, plan: AnalysisPlan, variants: Sequence[str], tuning: float
) -> list[TimelinePoint]:
    """One point per (metric, treatment, view, bucket) that has both arms."""
    method: Method = "sequential" if plan.sequential else "delta"
    points = []
    for name in timeline_metrics(plan):
        metric = get_metric(name)
        if isinstance(metric, QuantileMetric):
            continue
        for piece in data.timeline:
            control = piece.arms.get(plan.control)
            if control is None or not all(c in control.columns for c in metric.columns):
                continue
            for variant in variants[1:]:
                treated = piece.arms.get(variant)
                if treated is None:
                    continue
                c = _compare(plan, metric.stats(control), metric.stats(treated), tuning)
                points.append(
                    TimelinePoint(
                        metric=name,
                        variant=variant,
                        view=piece.view,
                        date=piece.bucket.isoformat() if isinstance(piece.bucket, date) else None,
                        day=piece.bucket if isinstance(piece.bucket, int) else None,
                        method=method,
                        n_control=control.n,
                        n_treatment=treated.n,
                        control_value=c.control_mean,
                        treatment_value=c.treatment_mean,
                        rel_lift=c.rel_lift,
                        ci_low=c.ci_low,
                        ci_high=c.ci_high,
                    )
                )
    return points
