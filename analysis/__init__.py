"""Analysis: per-user aggregates, statistics on sufficient statistics, results.json, click-pair export."""

from analysis.analyze import analyze
from analysis.errors import (
    AnalysisError,
    AnalysisPlanError,
    NoDataError,
    PerUserFileError,
    StatsInputError,
    UnknownMetricError,
    UnknownVariantError,
)
from analysis.metrics import METRICS, MeanMetric, Metric, QuantileMetric, RatioMetric, get_metric
from analysis.moments import PER_USER_COLUMNS, POST_COLUMNS, PRE_COLUMNS, Moments
from analysis.pairs import ClickPairRow, click_pairs, position_propensities, write_pairs
from analysis.plan import AnalysisPlan, GuardrailSpec
from analysis.results import (
    DailyPoint,
    GuardrailResult,
    MetricResult,
    OfflineMetrics,
    Results,
    SrmResult,
)
from analysis.sources import EventStoreSource, ExperimentData, PerUserFile, Source, read_per_user_file

__all__ = [
    "METRICS",
    "PER_USER_COLUMNS",
    "POST_COLUMNS",
    "PRE_COLUMNS",
    "AnalysisError",
    "AnalysisPlan",
    "AnalysisPlanError",
    "ClickPairRow",
    "DailyPoint",
    "EventStoreSource",
    "ExperimentData",
    "GuardrailResult",
    "GuardrailSpec",
    "MeanMetric",
    "Metric",
    "MetricResult",
    "Moments",
    "NoDataError",
    "OfflineMetrics",
    "PerUserFile",
    "PerUserFileError",
    "QuantileMetric",
    "RatioMetric",
    "Results",
    "Source",
    "SrmResult",
    "StatsInputError",
    "UnknownMetricError",
    "UnknownVariantError",
    "analyze",
    "click_pairs",
    "get_metric",
    "position_propensities",
    "read_per_user_file",
    "write_pairs",
]
