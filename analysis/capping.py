"""Capping (winsorising) per-user values before the statistics: the numpy twin of the SQL in `analysis.queries`.

Heavy-tailed per-user totals (dwell time, a bot's thousand clicks) make the variance, and so the interval, wide
enough to hide any real change; capping each user at a high percentile of everyone's values trades a little bias
for much less variance (Statsig caps at the 99.9th percentile by default, GrowthBook offers the same). The cap
is computed on the pooled arms, so it is the same number for control and treatment and cannot itself create a
difference. A percentile cap of 0 (most users have nothing) would erase the metric: it caps nothing.
"""

from __future__ import annotations

import numpy as np

from analysis.measures import Capping


def cap_value(values: np.ndarray, capping: Capping) -> float:
    """The cap: the inverted-CDF quantile of the pooled values (as the SQL's sorted-array element), or the fixed
    value."""
    if capping.kind == "value":
        return capping.amount
    if values.size == 0:
        return 0.0
    return float(np.quantile(values, capping.amount, method="inverted_cdf"))


def apply_cap(values: np.ndarray, capping: Capping) -> tuple[np.ndarray, float | None, int]:
    """(capped values, the cap applied or None when it came out 0, how many values were above it)."""
    values = np.asarray(values, dtype=float)
    cap = cap_value(values, capping)
    if cap <= 0:
        return values, None, 0
    return np.minimum(values, cap), cap, int((values > cap).sum())
