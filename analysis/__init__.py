"""Analysis: per-user aggregates, statistics on sufficient statistics, results.json, click-pair export.

Names are re-exported lazily (PEP 562): `from analysis.results import Results` or `from analysis.config import
AnalysisConfig` must not pull in scipy and statsmodels, which a command line that only reads settings or a
results file never needs.
"""

from __future__ import annotations

from analysis.lazy import lazy_exports

_EXPORTS = {
    "AnalysisError": "analysis.errors",
    "AnalysisPlan": "analysis.plan",
    "AnalysisPlanError": "analysis.errors",
    "BayesianOptions": "analysis.plan",
    "ClickPairRow": "analysis.pairs",
    "DEFAULT_GUARDRAIL_MARGIN": "analysis.plan",
    "DEFAULT_PRE_PERIOD_DAYS": "analysis.plan",
    "DailyPoint": "analysis.results",
    "Decision": "analysis.results",
    "Design": "analysis.results",
    "EventStoreSource": "analysis.sources",
    "ExperimentData": "analysis.sources",
    "GuardrailResult": "analysis.results",
    "GuardrailSpec": "analysis.plan",
    "MeanMetric": "analysis.metrics",
    "Metric": "analysis.metrics",
    "MetricInfo": "analysis.results",
    "MetricCatalog": "analysis.catalog",
    "MetricDefinitionError": "analysis.errors",
    "MetricResult": "analysis.results",
    "Moments": "analysis.moments",
    "NoDataError": "analysis.errors",
    "OfflineMetrics": "analysis.results",
    "PerUserFile": "analysis.sources",
    "PerUserFileError": "analysis.errors",
    "QuantileMetric": "analysis.metrics",
    "RatioMetric": "analysis.metrics",
    "Results": "analysis.results",
    "ResultsVersionError": "analysis.errors",
    "Source": "analysis.sources",
    "SrmResult": "analysis.results",
    "StatsInputError": "analysis.errors",
    "TimelinePoint": "analysis.results",
    "UndefinedMetricError": "analysis.errors",
    "UnknownVariantError": "analysis.errors",
    "analyze": "analysis.pipeline",
    "builtin_catalog": "analysis.metric_files",
    "check_plan": "analysis.metrics",
    "click_pairs": "analysis.pairs",
    "decide": "analysis.decision",
    "load_catalog": "analysis.metric_files",
    "load_metric_files": "analysis.metric_files",
    "position_propensities": "analysis.pairs",
    "read_per_user_file": "analysis.sources",
    "write_pairs": "analysis.pairs",
}
"""Public name → the module defining it."""

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
