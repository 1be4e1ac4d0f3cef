"""The metric catalogue: each name's kind and how its sufficient statistics come from per-user moments.

Three kinds. A *mean* is a per-user total averaged over users (clicks per user). A *ratio* is Σ
numerator / Σ denominator over users (CTR = clicks / impressions), tested with the user-level delta
method because events of one user are not independent. A *quantile* is a percentile of event-level
values (dwell times, latencies) clustered by user; its statistics come from SQL, not from moments.

CUPED uses the same metric measured before the experiment as covariate: `pre_<column>` for each column
(for a ratio, the pre-period ratio is linearised inside the stats engine).

Every metric declares its `direction`: which way is good. Decisions, guardrails and report colours read it,
so a rise in latency is never a win. A `neutral` metric (more searches per user can mean engagement or
failing to find) is reported but never decides: it cannot be a primary metric or a guardrail.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Literal

from analysis.errors import AnalysisPlanError, UnknownMetricError
from analysis.moments import Moments
from analysis.plan import AnalysisPlan
from analysis.results import MetricInfo
from analysis.stats import CovariateMeanStats, CovariateRatioStats, Direction, MeanStats, RatioStats


def pre(column: str) -> str:
    """The pre-period column of a per-user column."""
    return f"pre_{column}"


@dataclass(frozen=True)
class MeanMetric:
    """Average over users of a per-user total."""

    name: str
    column: str
    direction: Direction
    unit: str = ""
    kind: ClassVar[Literal["mean"]] = "mean"

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column,)

    def stats(self, moments: Moments) -> MeanStats:
        return MeanStats(moments.n, moments.total(self.column), moments.product(self.column, self.column))

    def covariate_stats(self, moments: Moments) -> CovariateMeanStats:
        z = pre(self.column)
        pre_stats = MeanStats(moments.n, moments.total(z), moments.product(z, z))
        return CovariateMeanStats(self.stats(moments), pre_stats, moments.product(self.column, z))


@dataclass(frozen=True)
class RatioMetric:
    """Σ numerator / Σ denominator over users."""

    name: str
    numerator: str
    denominator: str
    direction: Direction
    unit: str = ""
    kind: ClassVar[Literal["ratio"]] = "ratio"

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.numerator, self.denominator)

    def stats(self, moments: Moments) -> RatioStats:
        return _ratio_stats(moments, self.numerator, self.denominator)

    def covariate_stats(self, moments: Moments) -> CovariateRatioStats:
        x, y, u, w = self.numerator, self.denominator, pre(self.numerator), pre(self.denominator)
        return CovariateRatioStats(
            _ratio_stats(moments, x, y),
            _ratio_stats(moments, u, w),
            moments.product(x, u),
            moments.product(x, w),
            moments.product(y, u),
            moments.product(y, w),
        )


@dataclass(frozen=True)
class QuantileMetric:
    """The `level` quantile of `value_column` over events of `event_type` (experiment period only)."""

    name: str
    event_type: str
    value_column: str
    level: float
    direction: Direction
    unit: str = ""
    kind: ClassVar[Literal["quantile"]] = "quantile"

    @property
    def columns(self) -> tuple[str, ...]:
        """No per-user columns: quantiles are computed from event-level values in SQL."""
        return ()


Metric = MeanMetric | RatioMetric | QuantileMetric


def _ratio_stats(moments: Moments, x: str, y: str) -> RatioStats:
    return RatioStats(
        moments.n,
        moments.total(x),
        moments.product(x, x),
        moments.total(y),
        moments.product(y, y),
        moments.product(x, y),
    )


METRICS: dict[str, Metric] = {
    metric.name: metric
    for metric in (
        RatioMetric("ctr", "clicks", "impressions", "higher_is_better"),
        RatioMetric("dwell_per_click", "dwell_ms", "clicks", "higher_is_better", "ms"),
        MeanMetric("clicks_per_user", "clicks", "higher_is_better"),
        MeanMetric("searches_per_user", "searches", "neutral"),
        MeanMetric("dwell_per_user", "dwell_ms", "higher_is_better", "ms"),
        RatioMetric("search_success_rate", "successful_searches", "searches", "higher_is_better"),
        QuantileMetric("dwell_p50", "dwell", "dwell_ms", 0.5, "higher_is_better", "ms"),
        QuantileMetric("dwell_p90", "dwell", "dwell_ms", 0.9, "higher_is_better", "ms"),
        QuantileMetric("latency_p95", "search", "latency_ms", 0.95, "lower_is_better", "ms"),
        RatioMetric("zero_result_rate", "zero_result_searches", "searches", "lower_is_better"),
        RatioMetric("error_rate", "error_searches", "searches", "lower_is_better"),
    )
}
"""Every metric `analyze` knows; the experiment YAML names them as primary, secondary or guardrail metrics."""


def get_metric(name: str) -> Metric:
    """The catalogue entry, or an error listing every known name."""
    try:
        return METRICS[name]
    except KeyError:
        raise UnknownMetricError(f"unknown metric {name!r} (known: {', '.join(sorted(METRICS))})") from None


def metric_info(metric: Metric) -> MetricInfo:
    """How results.json describes the metric to its readers."""
    return MetricInfo(direction=metric.direction, unit=metric.unit, kind=metric.kind)


def has_pre_period(metric: Metric, moments: Moments) -> bool:
    """Whether the source carries the metric's pre-period columns (CUPED is then tried arm by arm)."""
    if isinstance(metric, QuantileMetric):
        return False
    return moments.has(*(pre(c) for c in metric.columns))


def arm_value(metric: MeanMetric | RatioMetric, moments: Moments) -> float | None:
    """The metric's value over a group of users, None when it does not exist (no users, zero denominator)."""
    stats = metric.stats(moments)
    if stats.n == 0 or (isinstance(stats, RatioStats) and stats.sum_y == 0):
        return None
    return stats.mean


def check_plan(plan: AnalysisPlan) -> None:
    """Refuse a plan no decision can be read from: unknown metrics, a primary or guardrail without a direction,
    a guardrail margin that is not a relative change > 0."""
    names = (plan.primary_metric, *plan.secondary_metrics, *(g.metric for g in plan.guardrails))
    for name in names:
        get_metric(name)
    primary = get_metric(plan.primary_metric)
    if plan.experiment_type == "ab" and primary.direction == "neutral":
        raise AnalysisPlanError(
            f"primary metric {primary.name} is neutral (neither higher nor lower is better): a decision needs a "
            "direction; make it a secondary metric"
        )
    for guardrail in plan.guardrails:
        metric = get_metric(guardrail.metric)
        if metric.direction == "neutral":
            raise AnalysisPlanError(f"guardrail {metric.name} is neutral: a guardrail needs a bad direction")
        if not (math.isfinite(guardrail.margin) and 0 < guardrail.margin <= 10):
            raise AnalysisPlanError(
                f"guardrail {metric.name}: margin must be a relative change in (0, 10], got {guardrail.margin}"
            )
    if plan.mde is not None and not (math.isfinite(plan.mde) and plan.mde > 0):
        raise AnalysisPlanError(f"mde must be a relative change > 0, got {plan.mde}")
    if not 0 < plan.power < 1:
        raise AnalysisPlanError(f"power must be in (0, 1), got {plan.power}")
