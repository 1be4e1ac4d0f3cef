"""Differential impact: does a treatment's effect in one segment differ from its effect in everyone else?

The segment's users and the rest are disjoint, so their relative lifts are independent estimates; the
difference is tested with a normal (large-sample) z-test, z = (lift_segment − lift_rest) / √(se_s² + se_r²).
This is the check Statsig calls differential impact (segment against the rest rather than against the overall
effect, which contains the segment itself). A family of such tests over every segment value must be corrected
(`analysis.stats.multiple`): with ten values, one looks different by chance at p < 0.05 about 40 % of the time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats as sps

from analysis.stats.effect import Effect


@dataclass(frozen=True)
class Difference:
    """lift in the segment − lift in the rest, and the two-sided p-value that it is 0."""

    difference: float
    p_value: float


def differential_impact(segment: Effect, rest: Effect) -> Difference | None:
    """The test, or None when either relative lift cannot be tested (no baseline, no variance)."""
    if not (segment.relative and rest.relative) or segment.rel_lift is None or rest.rel_lift is None:
        return None
    assert segment.rel_var is not None and rest.rel_var is not None
    difference = segment.rel_lift - rest.rel_lift
    se = math.sqrt(segment.rel_var + rest.rel_var)
    return Difference(difference, float(2 * sps.norm.sf(abs(difference) / se)))
