"""Analysis: per-user aggregates, statistics on sufficient statistics, results.json, click-pair export."""

from analysis.analyze import analyze
from analysis.decision import decide
from analysis.errors import (
    AnalysisError,
    AnalysisPlanError,
    NoDataError,
    PerUserFileError,
    ResultsVersionError,
    StatsInputError,
    UnknownMetricError,
    UnknownVariantError,
)
from analysis.metrics import METRICS, MeanMetric, Metric, QuantileMetric, RatioMetric, check_plan, get_metric
from analysis.moments import PER_USER_COLUMNS, POST_COLUMNS, PRE_COLUMNS, Moments
from analysis.pairs import ClickPairRow, click_pairs, position_propensities, write_pairs
from analysis.plan import DEFAULT_GUARDRAIL_MARGIN, DEFAULT_PRE_PERIOD_DAYS, AnalysisPlan, GuardrailSpec
from analysis.results import (
    DailyPoint,
    Decision,
    Design,
    GuardrailResult,
    MetricInfo,
    MetricResult,
    OfflineMetrics,
    Results,
    SrmResult,
    TimelinePoint,
)
from analysis.sources import EventStoreSource, ExperimentData, PerUserFile, Source, read_per_user_file

__all__ = [
    "DEFAULT_GUARDRAIL_MARGIN",
    "DEFAULT_PRE_PERIOD_DAYS",
    "METRICS",
    "PER_USER_COLUMNS",
    "POST_COLUMNS",
    "PRE_COLUMNS",
    "AnalysisError",
    "AnalysisPlan",
    "AnalysisPlanError",
    "ClickPairRow",
    "DailyPoint",
    "Decision",
    "Design",
    "EventStoreSource",
    "ExperimentData",
    "GuardrailResult",
    "GuardrailSpec",
    "MeanMetric",
    "MetricInfo",
    "Metric",
    "MetricResult",
    "Moments",
    "NoDataError",
    "OfflineMetrics",
    "PerUserFile",
    "PerUserFileError",
    "QuantileMetric",
    "ResultsVersionError",
    "RatioMetric",
    "Results",
    "Source",
    "SrmResult",
    "StatsInputError",
    "TimelinePoint",
    "UnknownMetricError",
    "UnknownVariantError",
    "analyze",
    "check_plan",
    "decide",
    "click_pairs",
    "get_metric",
    "position_propensities",
    "read_per_user_file",
    "write_pairs",
]
