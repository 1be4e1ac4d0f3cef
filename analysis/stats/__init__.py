"""The statistics engine: pure functions from per-arm sufficient statistics to frozen results.

No I/O and no data frames: the data path builds the statistics from SQL sums (or numpy arrays via
`from_values`) and copies each `Comparison` into an `analysis.results.MetricResult`.
"""

from analysis.stats.bayesian import Prior, bayesian_comparison, compare_bayesian
from analysis.stats.comparison import (
    BASELINE_ZERO,
    CUPED_ARM_WITHOUT_PRE,
    CUPED_PRE_VARIANCE_ZERO,
    NOT_ENOUGH_DATA,
    RELATIVE_SE_ZERO,
    ZERO_VARIANCE,
    Comparison,
    Inference,
)
from analysis.stats.cuped import arm_has_pre_period, compare_cuped, cuped_theta
from analysis.stats.delta import ratio_variance, relative_variance
from analysis.stats.effect import Effect
from analysis.stats.estimate import AnyStats, estimate
from analysis.stats.interleaving import InterleavingStats, QueryOutcome, compare_interleaving, query_outcome
from analysis.stats.multiple import Correction, adjust_p_values, adjusted_interval
from analysis.stats.noninferiority import Direction, GuardrailStatus, NonInferiority, non_inferiority
from analysis.stats.quantile import QuantileStats, compare_quantiles, outer_levels
from analysis.stats.sequential import DEFAULT_TUNING, compare_sequential
from analysis.stats.srm import SRM_THRESHOLD, SrmCheck, srm
from analysis.stats.sufficient import (
    ArmStats,
    CovariateMeanStats,
    CovariateRatioStats,
    CovariateStats,
    MeanStats,
    RatioStats,
)
from analysis.stats.welch import compare_means, compare_ratios

__all__ = [
    "BASELINE_ZERO",
    "CUPED_ARM_WITHOUT_PRE",
    "CUPED_PRE_VARIANCE_ZERO",
    "DEFAULT_TUNING",
    "NOT_ENOUGH_DATA",
    "RELATIVE_SE_ZERO",
    "SRM_THRESHOLD",
    "ZERO_VARIANCE",
    "AnyStats",
    "ArmStats",
    "Comparison",
    "Correction",
    "CovariateMeanStats",
    "CovariateRatioStats",
    "CovariateStats",
    "Direction",
    "Effect",
    "GuardrailStatus",
    "Inference",
    "Prior",
    "InterleavingStats",
    "MeanStats",
    "NonInferiority",
    "QuantileStats",
    "QueryOutcome",
    "RatioStats",
    "SrmCheck",
    "adjust_p_values",
    "adjusted_interval",
    "arm_has_pre_period",
    "bayesian_comparison",
    "compare_bayesian",
    "compare_cuped",
    "compare_interleaving",
    "compare_means",
    "compare_quantiles",
    "compare_ratios",
    "compare_sequential",
    "cuped_theta",
    "estimate",
    "non_inferiority",
    "outer_levels",
    "query_outcome",
    "ratio_variance",
    "relative_variance",
    "srm",
]
