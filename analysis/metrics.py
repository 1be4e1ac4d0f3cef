"""Metric kinds at run time: how each turns per-user moments into sufficient statistics.

Four kinds, built from the YAML definitions (`analysis.catalog`). A *mean* averages a per-user measure over
users (clicks per user); a *proportion* is a mean of a 0/1 measure (share of users who clicked at all); a
*ratio* is Σ numerator / Σ denominator over users (CTR = clicks / impressions), tested with the user-level
delta method because events of one user are not independent; a *quantile* is a percentile of event-level
values clustered by user, whose statistics come from SQL, not from moments.

A metric's post-period columns are its measures' per-user columns, or their capped twins when it caps
(`Capping.column`). CUPED's covariate is a measure before the experiment (`pre_<name>` columns): the metric's
own measures, another metric's, or none. For a ratio the pre-period ratio is linearised inside the stats engine.

Every metric declares its `direction`: decisions, guardrails and report colours read it, so a rise in latency
is never a win. A `neutral` metric is reported but never decides.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from analysis.errors import AnalysisPlanError
from analysis.measures import Capping, Measure, column_problem
from analysis.moments import Moments
from analysis.plan import AnalysisPlan
from analysis.results import MetricInfo
from analysis.stats.sufficient import CovariateMeanStats, CovariateRatioStats, MeanStats, RatioStats

if TYPE_CHECKING:  # a Literal, for annotations only: the module defining it imports scipy
    from analysis.stats.noninferiority import Direction

Format = Literal["number", "percent"]


def pre(column: str) -> str:
    """The pre-period column of a per-user column."""
    return f"pre_{column}"


@dataclass(frozen=True)
class About:
    """What a reader of a metric sees: direction, unit, format, description, owner."""

    direction: Direction
    unit: str = ""
    format: Format = "number"
    description: str = ""
    owner: str = ""


@dataclass(frozen=True)
class MeanMetric:
    """Average over users of a per-user measure; `kind` "proportion" when the measure is 0/1 (`any`)."""

    name: str
    measure: Measure
    about: About
    capping: Capping | None = None
    covariate: Measure | None = None
    kind: Literal["mean", "proportion"] = "mean"

    @property
    def direction(self) -> Direction:
        return self.about.direction

    @property
    def measures(self) -> tuple[Measure, ...]:
        return (self.measure,)

    @property
    def columns(self) -> tuple[str, ...]:
        return (_post(self.measure, self.capping),)

    @property
    def covariate_measures(self) -> tuple[Measure, ...]:
        return () if self.covariate is None else (self.covariate,)

    @property
    def pre_columns(self) -> tuple[str, ...]:
        return tuple(pre(m.name) for m in self.covariate_measures)

    @property
    def raw_columns(self) -> tuple[str, ...]:
        """The per-user columns a source must provide (before capping)."""
        return (self.measure.name,)

    def stats(self, moments: Moments) -> MeanStats:
        (x,) = self.columns
        return MeanStats(moments.n, moments.total(x), moments.product(x, x))

    def covariate_stats(self, moments: Moments) -> CovariateMeanStats:
        ((x,), (z,)) = self.columns, self.pre_columns
        pre_stats = MeanStats(moments.n, moments.total(z), moments.product(z, z))
        return CovariateMeanStats(self.stats(moments), pre_stats, moments.product(x, z))

    def pairs(self) -> list[tuple[str, str]]:
        """Products of columns the statistics read (what the SQL must sum)."""
        (x,) = self.columns
        found = [(x, x)]
        if self.pre_columns:
            (z,) = self.pre_columns
            found += [(z, z), (x, z)]
        return found


@dataclass(frozen=True)
class RatioMetric:
    """Σ numerator / Σ denominator over users."""

    name: str
    numerator: Measure
    denominator: Measure
    about: About
    capping: Capping | None = None
    covariate: tuple[Measure, Measure] | None = None
    kind: Literal["ratio"] = "ratio"

    @property
    def direction(self) -> Direction:
        return self.about.direction

    @property
    def measures(self) -> tuple[Measure, ...]:
        return (self.numerator, self.denominator)

    @property
    def columns(self) -> tuple[str, ...]:
        return (_post(self.numerator, self.capping), _post(self.denominator, self.capping))

    @property
    def covariate_measures(self) -> tuple[Measure, ...]:
        return () if self.covariate is None else self.covariate

    @property
    def pre_columns(self) -> tuple[str, ...]:
        return tuple(pre(m.name) for m in self.covariate_measures)

    @property
    def raw_columns(self) -> tuple[str, ...]:
        return (self.numerator.name, self.denominator.name)

    def stats(self, moments: Moments) -> RatioStats:
        return _ratio_stats(moments, *self.columns)

    def covariate_stats(self, moments: Moments) -> CovariateRatioStats:
        (x, y), (u, w) = self.columns, self.pre_columns
        return CovariateRatioStats(
            _ratio_stats(moments, x, y),
            _ratio_stats(moments, u, w),
            moments.product(x, u),
            moments.product(x, w),
            moments.product(y, u),
            moments.product(y, w),
        )

    def pairs(self) -> list[tuple[str, str]]:
        x, y = self.columns
        found = [(x, x), (y, y), (x, y)]
        if self.pre_columns:
            u, w = self.pre_columns
            found += [(u, u), (w, w), (u, w), (x, u), (x, w), (y, u), (y, w)]
        return found


@dataclass(frozen=True)
class QuantileMetric:
    """The `level` quantile of event column `column` over the events `measure` counts (experiment period only)."""

    name: str
    measure: Measure
    column: str
    level: float
    about: About
    kind: Literal["quantile"] = "quantile"
    capping: None = None

    def __post_init__(self) -> None:
        problem = column_problem(self.measure.event, self.column, numeric=True)
        if problem:
            raise ValueError(f"quantile {self.name!r}: {problem}")
        if not 0 < self.level < 1:
            raise ValueError(f"quantile {self.name!r}: level must be in (0, 1), got {self.level}")

    @property
    def direction(self) -> Direction:
        return self.about.direction

    @property
    def measures(self) -> tuple[Measure, ...]:
        return ()

    @property
    def columns(self) -> tuple[str, ...]:
        """No per-user columns: quantiles are computed from event-level values in SQL."""
        return ()

    raw_columns = pre_columns = columns

    @property
    def covariate_measures(self) -> tuple[Measure, ...]:
        return ()

    def pairs(self) -> list[tuple[str, str]]:
        return []


Metric = MeanMetric | RatioMetric | QuantileMetric


def _post(measure: Measure, capping: Capping | None) -> str:
    return measure.name if capping is None else capping.column(measure.name)


def _ratio_stats(moments: Moments, x: str, y: str) -> RatioStats:
    return RatioStats(
        moments.n,
        moments.total(x),
        moments.product(x, x),
        moments.total(y),
        moments.product(y, y),
        moments.product(x, y),
    )


def metric_info(metric: Metric) -> MetricInfo:
    """How results.json describes the metric to its readers."""
    about = metric.about
    return MetricInfo(
        direction=about.direction,
        unit=about.unit,
        kind=metric.kind,
        description=about.description,
        format=about.format,
        capping=metric.capping.describe() if metric.capping else None,
    )


def has_pre_period(metric: Metric, moments: Moments) -> bool:
    """Whether the source carries the metric's pre-period columns (CUPED is then tried arm by arm)."""
    return bool(metric.pre_columns) and moments.has(*metric.pre_columns)


def arm_value(metric: MeanMetric | RatioMetric, moments: Moments) -> float | None:
    """The metric's value over a group of users, None when it does not exist (no users, zero denominator)."""
    stats = metric.stats(moments)
    if stats.n == 0 or (isinstance(stats, RatioStats) and stats.sum_y == 0):
        return None
    return stats.mean


def check_plan(plan: AnalysisPlan) -> None:
    """Refuse a plan no decision can be read from: unknown metrics, a primary or guardrail without a direction,
    a guardrail margin that is not a relative change > 0."""
    catalog = plan.catalog
    for name in plan.measured_metrics:
        catalog.get(name)
    primary = catalog.get(plan.primary_metric)
    if plan.experiment_type == "ab" and primary.direction == "neutral":
        raise AnalysisPlanError(
            f"primary metric {primary.name} is neutral (neither higher nor lower is better): a decision needs a "
            "direction; make it a secondary metric"
        )
    for guardrail in plan.guardrails:
        metric = catalog.get(guardrail.metric)
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
    if plan.engine == "bayesian" and plan.sequential:
        raise AnalysisPlanError("sequential testing is frequentist: it does not combine with the Bayesian engine")
    options = plan.bayesian
    if not (0.5 < options.chance_to_win < 1 and 0 < options.max_risk <= 1 and options.prior_stddev > 0):
        raise AnalysisPlanError(
            "Bayesian thresholds: chance_to_win in (0.5, 1), max_risk in (0, 1], prior_stddev > 0; got "
            f"{options.chance_to_win}, {options.max_risk}, {options.prior_stddev}"
        )
