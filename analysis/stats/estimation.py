"""One entry point from any two arms' statistics to their `Effect`, whatever the method that reads it.

The fixed-horizon tests, the confidence sequence and the non-inferiority test all start from the same
estimate, so a guardrail or a sequential row can never disagree with the row it refines about what was
measured.
"""

from __future__ import annotations

from analysis.stats.comparison import Comparison
from analysis.stats.cuped import cuped_effect
from analysis.stats.effect import Effect, arm_effect, check_types
from analysis.stats.quantile import QuantileStats, quantile_effect
from analysis.stats.sufficient import (
    ArmStats,
    CovariateMeanStats,
    CovariateRatioStats,
    CovariateStats,
    MeanStats,
    RatioStats,
)

AnyStats = ArmStats | CovariateStats | QuantileStats
"""Per-arm statistics of any metric kind: means, ratios, their CUPED covariate versions, quantiles."""
_KINDS = (MeanStats, RatioStats, CovariateMeanStats, CovariateRatioStats, QuantileStats)


def estimate(control: AnyStats, treatment: AnyStats) -> Effect | Comparison:
    """The effect of treatment over control (CUPED-adjusted for covariate statistics), or why there is none."""
    check_types(control, treatment, _KINDS)
    if isinstance(control, CovariateMeanStats | CovariateRatioStats) and isinstance(
        treatment, CovariateMeanStats | CovariateRatioStats
    ):
        return cuped_effect(control, treatment)
    if isinstance(control, QuantileStats) and isinstance(treatment, QuantileStats):
        return quantile_effect(control, treatment)
    if isinstance(control, MeanStats | RatioStats) and isinstance(treatment, MeanStats | RatioStats):
        return arm_effect(control, treatment)
    raise AssertionError("unreachable: check_types admits only the kinds above")
