"""The statistics engine: pure functions from per-arm sufficient statistics to frozen results.

No I/O and no data frames: the data path builds the statistics from SQL sums (or numpy arrays via
`from_values`) and copies each `Comparison` into an `analysis.results.MetricResult`.

Names are re-exported lazily (PEP 562), like `analysis`'s: the metric catalogue reads the sufficient-statistics
types and directions without loading scipy, which `vsx experiments validate` never needs.
"""

from __future__ import annotations

from analysis.lazy import lazy_exports

_EXPORTS = {
    "AnyStats": "analysis.stats.estimation",
    "ArmStats": "analysis.stats.sufficient",
    "BASELINE_ZERO": "analysis.stats.comparison",
    "CUPED_ARM_WITHOUT_PRE": "analysis.stats.comparison",
    "CUPED_PRE_VARIANCE_ZERO": "analysis.stats.comparison",
    "Comparison": "analysis.stats.comparison",
    "Correction": "analysis.stats.multiple",
    "CovariateMeanStats": "analysis.stats.sufficient",
    "CovariateRatioStats": "analysis.stats.sufficient",
    "CovariateStats": "analysis.stats.sufficient",
    "DEFAULT_TUNING": "analysis.stats.sequential",
    "Direction": "analysis.stats.noninferiority",
    "Effect": "analysis.stats.effect",
    "GuardrailStatus": "analysis.stats.noninferiority",
    "Inference": "analysis.stats.comparison",
    "InterleavingStats": "analysis.stats.interleaving",
    "MeanStats": "analysis.stats.sufficient",
    "NOT_ENOUGH_DATA": "analysis.stats.comparison",
    "NonInferiority": "analysis.stats.noninferiority",
    "Prior": "analysis.stats.bayesian",
    "QuantileStats": "analysis.stats.quantile",
    "QueryOutcome": "analysis.stats.interleaving",
    "RELATIVE_SE_ZERO": "analysis.stats.comparison",
    "RatioStats": "analysis.stats.sufficient",
    "SRM_THRESHOLD": "analysis.stats.sample_ratio",
    "SrmCheck": "analysis.stats.sample_ratio",
    "ZERO_VARIANCE": "analysis.stats.comparison",
    "adjust_p_values": "analysis.stats.multiple",
    "adjusted_interval": "analysis.stats.multiple",
    "arm_has_pre_period": "analysis.stats.cuped",
    "bayesian_comparison": "analysis.stats.bayesian",
    "compare_bayesian": "analysis.stats.bayesian",
    "compare_cuped": "analysis.stats.cuped",
    "compare_interleaving": "analysis.stats.interleaving",
    "compare_means": "analysis.stats.welch",
    "compare_quantiles": "analysis.stats.quantile",
    "compare_ratios": "analysis.stats.welch",
    "compare_sequential": "analysis.stats.sequential",
    "cuped_theta": "analysis.stats.cuped",
    "estimate": "analysis.stats.estimation",
    "non_inferiority": "analysis.stats.noninferiority",
    "outer_levels": "analysis.stats.quantile",
    "query_outcome": "analysis.stats.interleaving",
    "ratio_variance": "analysis.stats.delta",
    "relative_variance": "analysis.stats.delta",
    "srm": "analysis.stats.sample_ratio",
}
"""Public name → the module defining it."""

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
