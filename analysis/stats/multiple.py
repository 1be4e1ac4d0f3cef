"""Multiple-comparison correction across all metric × variant rows of one method in one experiment.

Holm (default) controls the family-wise error rate without assumptions on dependence between rows;
Benjamini–Hochberg controls the false-discovery rate, for experiments with many exploratory metrics.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

from statsmodels.stats.multitest import multipletests

from analysis.errors import StatsInputError

Correction = Literal["holm", "bh"]
_STATSMODELS_METHOD: dict[str, str] = {"holm": "holm", "bh": "fdr_bh"}


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
