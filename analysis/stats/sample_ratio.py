"""Sample-ratio mismatch: are users split across arms as designed?

A broken split (assignment bug, bot filtering in one arm, logging loss) biases every metric, so
results are flagged when the chi-square goodness-of-fit p-value falls below 0.001 (the usual
threshold: strict, because the check runs on every experiment and false alarms are costly).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from scipy import stats as sps

from analysis.errors import StatsInputError

SRM_THRESHOLD = 0.001


@dataclass(frozen=True)
class SrmCheck:
    """p-value of the chi-square test (None when it cannot be computed) and whether the split looks right."""

    p_value: float | None
    ok: bool


def srm(
    observed: Mapping[str, int], expected_shares: Mapping[str, float], threshold: float = SRM_THRESHOLD
) -> SrmCheck:
    """Chi-square test of observed users per arm against the designed shares (which need not sum to 1).

    No users, or a single arm, cannot mismatch: p_value None, ok True. Users in an arm designed to get
    none are a mismatch outright (p_value 0).
    """
    if set(observed) != set(expected_shares):
        raise StatsInputError(f"observed arms {sorted(observed)} differ from designed arms {sorted(expected_shares)}")
    for arm, count in observed.items():
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise StatsInputError(f"observed users of {arm!r} must be a non-negative int, got {count!r}")
    for arm, share in expected_shares.items():
        if not math.isfinite(share) or share < 0:
            raise StatsInputError(f"designed share of {arm!r} must be finite and >= 0, got {share!r}")
    total_share = sum(expected_shares.values())
    if total_share <= 0:
        raise StatsInputError("designed shares sum to zero")
    if any(observed[arm] > 0 and expected_shares[arm] == 0 for arm in observed):
        return SrmCheck(p_value=0.0, ok=False)
    arms = [arm for arm in observed if expected_shares[arm] > 0]
    total = sum(observed[arm] for arm in arms)
    if total == 0 or len(arms) < 2:
        return SrmCheck(p_value=None, ok=True)
    expected = [total * expected_shares[arm] / total_share for arm in arms]
    p_value = float(sps.chisquare([observed[arm] for arm in arms], expected).pvalue)
    return SrmCheck(p_value=p_value, ok=p_value >= threshold)
