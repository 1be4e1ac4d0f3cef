"""The metric catalogue: each name's kind and how its sufficient statistics come from per-user moments.

Three kinds. A *mean* is a per-user total averaged over users (clicks per user). A *ratio* is Σ
numerator / Σ denominator over users (CTR = clicks / impressions), tested with the user-level delta
method because events of one user are not independent. A *quantile* is a percentile of event-level
values (dwell times, latencies) clustered by user; its statistics come from SQL, not from moments.

CUPED uses the same metric measured before the experiment as covariate: `pre_<column>` for each column
(for a ratio, the pre-period ratio is linearised inside the stats engine).
"""

from __future__ import annotations

from dataclasses import dataclass

from analysis.errors import UnknownMetricError
from analysis.moments import Moments
from analysis.stats import CovariateMeanStats, CovariateRatioStats, MeanStats, RatioStats


def pre(column: str) -> str:
    """The pre-period column of a per-user column."""
    return f"pre_{column}"


@dataclass(frozen=True)
class MeanMetric:
    """Average over users of a per-user total."""

    name: str
    column: str

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
        RatioMetric("ctr", "clicks", "impressions"),
        RatioMetric("dwell_per_click", "dwell_ms", "clicks"),
        MeanMetric("clicks_per_user", "clicks"),
        MeanMetric("searches_per_user", "searches"),
        MeanMetric("dwell_per_user", "dwell_ms"),
        RatioMetric("search_success_rate", "successful_searches", "searches"),
        QuantileMetric("dwell_p50", "dwell", "dwell_ms", 0.5),
        QuantileMetric("dwell_p90", "dwell", "dwell_ms", 0.9),
        QuantileMetric("latency_p95", "search", "latency_ms", 0.95),
        RatioMetric("zero_result_rate", "zero_result_searches", "searches"),
        RatioMetric("error_rate", "error_searches", "searches"),
    )
}
"""Every metric `analyze` knows; the experiment YAML names them (zero_result_rate/error_rate as guardrails)."""


def get_metric(name: str) -> Metric:
    """The catalogue entry, or an error listing every known name."""
    try:
        return METRICS[name]
    except KeyError:
        raise UnknownMetricError(f"unknown metric {name!r} (known: {', '.join(sorted(METRICS))})") from None


def has_pre_period(metric: Metric, moments: Moments) -> bool:
    """Whether CUPED applies: the metric's pre-period columns exist and are not all zero in this group."""
    if isinstance(metric, QuantileMetric):
        return False
    pre_columns = [pre(c) for c in metric.columns]
    return moments.has(*pre_columns) and any(moments.total(c) != 0 for c in pre_columns)


def arm_value(metric: MeanMetric | RatioMetric, moments: Moments) -> float | None:
    """The metric's value over a group of users, None when it does not exist (no users, zero denominator)."""
    stats = metric.stats(moments)
    if stats.n == 0 or (isinstance(stats, RatioStats) and stats.sum_y == 0):
        return None
    return stats.mean
