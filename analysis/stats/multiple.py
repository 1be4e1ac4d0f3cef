"""Multiple-comparison correction of p-values, and intervals that agree with the corrected p-values.

Holm controls the family-wise error rate without assumptions on dependence between rows;
Benjamini–Hochberg controls the false-discovery rate, for experiments with many exploratory metrics. Both are
the textbook step-down / step-up formulas (checked against statsmodels' `multipletests` in the tests); computed
here because `multipletests` runs a full garbage collection on every call, which dominated the analysis of a
report with segments (one family per attribute, metric and variant; BENCHMARKS.md, "Analysis").
Which rows form a family is the analysis' decision (`analysis.pipeline`): the primary metric's rows are
their own family, so adding secondary metrics never weakens the primary's test.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
from scipy import stats as sps

from analysis.errors import StatsInputError

Correction = Literal["holm", "bh"]
CORRECTIONS = ("holm", "bh")
UNBOUNDED_P = 0.999999
"""An adjusted p-value this close to 1 has no finite interval that agrees with it (GrowthBook's cut-off)."""


def adjust_p_values(p_values: Sequence[float | None], method: Correction = "holm") -> list[float | None]:
    """Adjusted p-values in input order; None entries (untestable rows) pass through and do not count."""
    if method not in CORRECTIONS:
        raise StatsInputError(f"unknown correction {method!r}; expected one of {sorted(CORRECTIONS)}")
    present = [(i, p) for i, p in enumerate(p_values) if p is not None]
    for _, p in present:
        if not (math.isfinite(p) and 0 <= p <= 1):
            raise StatsInputError(f"p-values must be in [0, 1], got {p}")
    adjusted: list[float | None] = [None] * len(p_values)
    if not present:
        return adjusted
    corrected = _holm([p for _, p in present]) if method == "holm" else _bh([p for _, p in present])
    for (i, _), value in zip(present, corrected, strict=True):
        adjusted[i] = float(value)
    return adjusted


def _holm(p_values: list[float]) -> np.ndarray:
    """Step-down: the k-th smallest p times (m − k + 1), kept monotone from the smallest up, capped at 1."""
    p = np.asarray(p_values, dtype=float)
    m, order = p.size, np.argsort(p, kind="stable")
    stepped = np.minimum(np.maximum.accumulate(p[order] * (m - np.arange(m))), 1.0)
    out = np.empty(m)
    out[order] = stepped
    return out


def _bh(p_values: list[float]) -> np.ndarray:
    """Step-up: the k-th smallest p times m / k, kept monotone from the largest down, capped at 1."""
    p = np.asarray(p_values, dtype=float)
    m, order = p.size, np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1)
    stepped = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    out = np.empty(m)
    out[order] = stepped
    return out


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
