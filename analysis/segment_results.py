"""Results per segment value, corrected across values, and the primary metric's differential-impact check.

For each segment attribute of the plan (`platform`, `country`, ...) and each value, the experiment's mean,
proportion and ratio metrics are compared as the main rows are (`delta` method, by the plan's engine) over the
users whose attribute had that value at first exposure. Each (attribute, metric, variant) family of rows is
corrected across the attribute's values with the plan's correction: with twenty countries, one will look
significant by chance otherwise.

Differential impact (primary metric only): the lift in the segment against the lift in every other user of the
experiment (the arm's moments minus the segment's), a normal test of the difference, Holm-corrected across every
(treatment, attribute, value), so an experiment without such differences flags one with probability at most
alpha. A flag says the effect differs there — a segment worth a closer look, or a launch that should exclude it — not
that the overall result is wrong. When one segment's effect differs strongly, the others can be flagged too,
with the opposite sign and a smaller difference: their rest contains that segment; read the largest first.
Quantile metrics have no per-user moments and get no segment rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from analysis.metrics import MeanMetric, QuantileMetric, RatioMetric
from analysis.moments import Moments
from analysis.plan import AnalysisPlan
from analysis.results import DifferentialImpact, SegmentResult
from analysis.rows import adjust, compare_fixed, make_row
from analysis.sources.data import ExperimentData
from analysis.stats import Comparison, adjust_p_values, estimate
from analysis.stats.differential import differential_impact
from analysis.stats.welch import fixed_horizon


def _metrics(data: ExperimentData, plan: AnalysisPlan) -> list[MeanMetric | RatioMetric]:
    chosen = [plan.catalog.get(name) for name in plan.metrics]
    return [m for m in chosen if not isinstance(m, QuantileMetric) and all(c in data.columns for c in m.columns)]


def _differential(
    metric: MeanMetric | RatioMetric,
    control: str,
    variant: str,
    segment: Mapping[str, Moments],
    whole: Mapping[str, Moments],
    alpha: float,
) -> DifferentialImpact | None:
    if control not in segment or variant not in segment:
        return None
    seg = estimate(metric.stats(segment[control]), metric.stats(segment[variant]))
    rest = estimate(metric.stats(whole[control] - segment[control]), metric.stats(whole[variant] - segment[variant]))
    if isinstance(seg, Comparison) or isinstance(rest, Comparison):
        return None
    test = differential_impact(seg, rest)
    rest_row = fixed_horizon(rest, alpha)
    return DifferentialImpact(
        rest_rel_lift=rest.rel_lift,
        rest_ci_low=rest_row.ci_low,
        rest_ci_high=rest_row.ci_high,
        difference=test.difference if test else None,
        p_value=test.p_value if test else None,
    )


def _flag(rows: list[SegmentResult], alpha: float, *, srm_ok: bool) -> list[SegmentResult]:
    """Holm across the primary metric's (treatment, attribute, value) rows: one family per experiment."""
    adjusted = adjust_p_values([r.differential.p_value for r in rows], "holm")  # type: ignore[union-attr]
    out = []
    for row, p in zip(rows, adjusted, strict=True):
        assert row.differential is not None
        update = {"p_value_adjusted": p, "flagged": srm_ok and p is not None and p < alpha}
        out.append(row.model_copy(update={"differential": row.differential.model_copy(update=update)}))
    return out


def segment_rows(
    data: ExperimentData, plan: AnalysisPlan, variants: Sequence[str], *, srm_ok: bool
) -> list[SegmentResult]:
    """One row per (attribute, value, metric, treatment), corrected across values; see the module docstring."""
    rows: list[SegmentResult] = []
    metrics = _metrics(data, plan)
    for attribute in plan.segments:
        for value, segment in data.segments.get(attribute, {}).items():
            for metric in metrics:
                primary = metric.name == plan.primary_metric
                for variant in variants[1:]:
                    empty = Moments.empty(data.columns)
                    control, treatment = segment.get(plan.control, empty), segment.get(variant, empty)
                    comparison = compare_fixed(plan, metric.direction, metric.stats(control), metric.stats(treatment))
                    differential = (
                        _differential(metric, plan.control, variant, segment, dict(data.arms), plan.alpha)
                        if primary
                        else None
                    )
                    role: Literal["primary", "secondary"] = "primary" if primary else "secondary"
                    rows.append(
                        make_row(
                            SegmentResult,
                            metric.name,
                            variant,
                            "delta",
                            role,
                            comparison,
                            attribute=attribute,
                            segment=value,
                            differential=differential,
                        )  # fmt: skip
                    )
    rows = adjust(
        rows,
        plan,
        srm_ok=srm_ok,
        family=lambda r: (r.attribute, r.metric, r.variant),
        correction=lambda r: plan.correction,
    )
    flagged = _flag([r for r in rows if r.differential is not None], plan.alpha, srm_ok=srm_ok)
    replaced = {id(old): new for old, new in zip([r for r in rows if r.differential is not None], flagged, strict=True)}
    return [replaced.get(id(r), r) for r in rows]
