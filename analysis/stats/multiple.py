"""Multiple-comparison correction of p-values, and intervals that agree with the corrected p-values.

Holm controls the family-wise error rate without assumptions on dependence between rows;
Benjamini–Hochberg controls the false-discovery rate, for experiments with many exploratory metrics.
Which rows form a family is the analysis' decision (`analysis.analyze`): the primary metric's rows are
their own family, so adding secondary metrics never weakens the primary's test.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

from scipy import stats as sps
from statsmodels.stats.multitest import multipletests

from analysis.errors import StatsInputError

Correction = Literal["holm", "bh"]
_STATSMODELS_METHOD: dict[str, str] = {"holm": "holm", "bh": "fdr_bh"}
UNBOUNDED_P = 0.999999
"""An adjusted p-value this close to 1 has no finite interval that agrees with it (GrowthBook's cut-off)."""


def adjust_p_values(p_values: Sequence[float | None], method: Correction = "holm") -> list[float | None]:
    """Adjusted p-values in input order; None entries (untestable rows) pass through and do not count."""
    if method not in _STATSMODELS_METHOD:
        raise StatsInputError(f"unknown correction {method!r}; expected one of {sorted(_STATSMODELS_METHOD)}")
    present = [(i, p) for i, p in enumerate(p_values) if p is not None]
    for _, p in present:
        if not (math.isfinite(p) and 0 <= p <= 1):
            raise StatsInputError(f"p-values must be in [0, 1], got {p}")
    adjusted: list[float | None] = [None] * len(p_values)
    if not present:
        return adjusted
    _, corrected, _, _ = multipletests([p for _, p in present], method=_STATSMODELS_METHOD[method])
    for (i, _), value in zip(present, corrected, strict=True):
        adjusted[i] = float(value)
    return adjusted


def adjusted_interval(
    estimate: float, low: float, high: float, p_adjusted: float, alpha: float
) -> tuple[float, float] | None:
    """The interval around `estimate` that excludes 0 exactly when `p_adjusted` < alpha; None when unbounded.

    GrowthBook's construction (`adjustedCI`): the standard error implied by the adjusted p-value,
    |estimate| / z(1 − p_adj/2), times z(1 − alpha/2); never narrower than the unadjusted interval
    [low, high]. A zero estimate keeps the unadjusted interval (it contains 0 whatever the correction).
    """
    if p_adjusted >= UNBOUNDED_P:
        return None
    if estimate == 0:
        return low, high
    z_alpha = float(sps.norm.ppf(1 - alpha / 2))
    z_adjusted = float(sps.norm.ppf(1 - p_adjusted / 2))
    if z_adjusted <= 0 or not math.isfinite(z_adjusted):
        return low, high
    width = z_alpha * abs(estimate) / z_adjusted
    if estimate - width < low and estimate + width > high:
        return estimate - width, estimate + width
    return low, high
