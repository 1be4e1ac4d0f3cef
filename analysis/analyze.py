"""From an experiment's data and plan to `Results`: comparisons, SRM, corrections, guardrails, daily series.

One row per (metric, non-control variant, method): `delta` always (Welch for means, the delta method for
ratios, the quantile delta method for quantiles), `cuped` when the metric's pre-period data exist,
`sequential` when the plan asks (CUPED-adjusted when it can be). p-values are adjusted (Holm or BH)
across all rows of one method. A failed SRM check withholds every verdict: p-values stay, `significant`
is false and a note says why, because a broken split biases every estimate.

An interleaving plan gets one `interleaving` row (`analysis.interleaving`) per non-control variant
from the `InterleavingStats` the caller read from the event store, and no A/B rows: serving shows every
user of the experiment the same merged list whatever their variant label, so comparing the label groups
would only be an A/A test (and a 5 % chance of a false verdict). The preference is then the results'
primary metric (what the report's verdict and the history read), and the daily series counts users
without a metric value. Its users are not split between rankers, so the SRM result lists the label
groups with no test and is always ok; guardrails (latency, errors) are still read per label group.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from itertools import accumulate

from analysis.errors import UnknownVariantError
from analysis.interleaving import METRIC as INTERLEAVING_METRIC
from analysis.interleaving import interleaving_row
from analysis.metrics import MeanMetric, Metric, QuantileMetric, RatioMetric, arm_value, get_metric, has_pre_period
from analysis.moments import Moments
from analysis.plan import AnalysisPlan, GuardrailSpec
from analysis.results import DailyPoint, GuardrailResult, Method, MetricResult, Results, SrmResult
from analysis.sources.data import ExperimentData
from analysis.stats import (
    BASELINE_ZERO,
    CUPED_PRE_VARIANCE_ZERO,
    NOT_ENOUGH_DATA,
    ZERO_VARIANCE,
    Comparison,
    InterleavingStats,
    adjust_p_values,
    compare_cuped,
    compare_means,
    compare_quantiles,
    compare_ratios,
    compare_sequential,
    srm,
)

logger = logging.getLogger(__name__)

NOTE_TEXT = {
    NOT_ENOUGH_DATA: "not enough data: an arm has fewer than two users (or no events)",
    BASELINE_ZERO: "the control value is zero: no relative lift",
    ZERO_VARIANCE: "no variance in either arm: nothing to test",
    CUPED_PRE_VARIANCE_ZERO: "the pre-period covariate is constant: CUPED fell back to the unadjusted estimate",
}
"""Readable notes for the stats engine's codes (the report shows notes as they are)."""


def analyze(data: ExperimentData, plan: AnalysisPlan, interleaving: InterleavingStats | None = None) -> Results:
    """Compare every non-control variant with control on the plan's metrics; see the module docstring.

    `interleaving`: the preference statistics of an interleaving plan (ignored for an A/B plan).
    """
    variants, notes = _variants(data, plan)
    arms = {v: data.arms.get(v) or Moments.empty(data.columns) for v in variants}
    for variant, moments in arms.items():
        if moments.n == 0:
            notes.append(f"variant {variant!r} has no users: not enough data")
    if plan.experiment_type == "interleaving":
        srm_result = _srm_untested(arms, plan)
        notes.append("interleaving: every user sees both rankers, so there is no traffic split to check (no SRM test)")
    else:
        srm_result = _srm(arms, plan)
    if not srm_result.ok:
        notes.append(f"sample ratio mismatch (p = {srm_result.p_value:.2g} < 0.001): verdicts withheld")
    rows: list[MetricResult] = []
    for name in plan.metrics if plan.experiment_type == "ab" else ():
        metric = get_metric(name)
        missing = _missing_input(metric, data)
        if missing:
            notes.append(f"{name} left out: {missing}")
            continue
        for variant in variants[1:]:
            rows.extend(_compare(metric, data, arms, plan, variant))
    if plan.experiment_type == "interleaving":
        if interleaving is None:
            notes.append("interleaving preference left out: it needs click teams from the event store")
        else:
            rows.extend(interleaving_row(interleaving, plan, variant) for variant in variants[1:])
    rows = _adjust(rows, plan, srm_ok=srm_result.ok)
    guardrails = [g for spec in plan.guardrails for g in _guardrail(spec, data, arms, notes)]
    logger.info("analysed %s: %d result rows, %d guardrails", plan.experiment, len(rows), len(guardrails))
    return Results(
        experiment=plan.experiment,
        alpha=plan.alpha,
        correction=plan.correction,
        control=plan.control,
        primary_metric=INTERLEAVING_METRIC if plan.experiment_type == "interleaving" else plan.primary_metric,
        srm=srm_result,
        results=rows,
        guardrails=guardrails,
        daily=_daily(data, plan, variants),
        status=plan.status,
        source=data.source,
        notes=list(dict.fromkeys((*data.notes, *notes))),
    )


def _variants(data: ExperimentData, plan: AnalysisPlan) -> tuple[list[str], list[str]]:
    """Control first, then the other designed variants (or, without a design, those in the data)."""
    observed = list(data.arms)
    designed = list(plan.weights) if plan.weights is not None else observed
    if plan.control not in designed:
        raise UnknownVariantError(f"control variant {plan.control!r} is not among the variants ({', '.join(designed)})")
    notes = [
        f"variant {v!r} is in the data but not in the experiment definition: left out"
        for v in observed
        if v not in designed
    ]
    return [plan.control, *(v for v in designed if v != plan.control)], notes


def _srm(arms: dict[str, Moments], plan: AnalysisPlan) -> SrmResult:
    observed = {v: m.n for v, m in arms.items()}
    expected = {v: float(plan.weights[v]) if plan.weights is not None else 1.0 for v in arms}
    total = sum(expected.values())
    shares = {v: w / total for v, w in expected.items()}
    check = srm(observed, shares)
    return SrmResult(p_value=check.p_value, observed=observed, expected=shares, ok=check.ok)


def _srm_untested(arms: dict[str, Moments], plan: AnalysisPlan) -> SrmResult:
    """Users per label group beside the designed shares, untested: nothing depends on the split."""
    expected = dict(plan.weights) if plan.weights is not None else {v: 1 / len(arms) for v in arms}
    return SrmResult(p_value=None, observed={v: m.n for v, m in arms.items()}, expected=expected, ok=True)


def _missing_input(metric: Metric, data: ExperimentData, *, value_only: bool = False) -> str | None:
    """Why a metric cannot be computed from this source, or None when it can.

    `value_only`: a quantile's value suffices (guardrails), not its variance statistics.
    """
    if isinstance(metric, QuantileMetric):
        if metric.name in (data.quantile_values if value_only else data.quantiles):
            return None
        return "quantiles need event-level values, which a per-user file does not have"
    absent = [c for c in metric.columns if c not in data.columns]
    return f"column(s) {', '.join(absent)} absent from {data.source}" if absent else None


def _compare(
    metric: Metric, data: ExperimentData, arms: dict[str, Moments], plan: AnalysisPlan, variant: str
) -> Iterator[MetricResult]:
    control, treatment = arms[plan.control], arms[variant]
    if isinstance(metric, QuantileMetric):
        by_arm = data.quantiles[metric.name]
        yield _row(metric, variant, "delta", compare_quantiles(by_arm[plan.control], by_arm[variant], alpha=plan.alpha))
        return
    fixed = compare_means if isinstance(metric, MeanMetric) else compare_ratios
    yield _row(metric, variant, "delta", fixed(metric.stats(control), metric.stats(treatment), alpha=plan.alpha))
    cuped = has_pre_period(metric, control + treatment)
    if cuped:
        yield _row(
            metric,
            variant,
            "cuped",
            compare_cuped(metric.covariate_stats(control), metric.covariate_stats(treatment), alpha=plan.alpha),
        )
    if plan.sequential:
        pair = (
            (metric.covariate_stats(control), metric.covariate_stats(treatment))
            if cuped
            else (metric.stats(control), metric.stats(treatment))
        )
        yield _row(metric, variant, "sequential", compare_sequential(*pair, alpha=plan.alpha))


def _row(
    metric: MeanMetric | RatioMetric | QuantileMetric, variant: str, method: Method, c: Comparison
) -> MetricResult:
    fields = asdict(c)
    fields["note"] = NOTE_TEXT.get(c.note, c.note) if c.note else None
    return MetricResult(metric=metric.name, variant=variant, method=method, **fields)


def _adjust(rows: Sequence[MetricResult], plan: AnalysisPlan, *, srm_ok: bool) -> list[MetricResult]:
    """Correct p-values across the rows of each method; significant = adjusted p < alpha (and SRM ok)."""
    adjusted: dict[int, float | None] = {}
    for method in dict.fromkeys(r.method for r in rows):
        indices = [i for i, r in enumerate(rows) if r.method == method]
        values = adjust_p_values([rows[i].p_value for i in indices], plan.correction)
        adjusted.update(zip(indices, values, strict=True))
    return [
        row.model_copy(
            update={
                "p_value_adjusted": adjusted[i],
                "significant": srm_ok and adjusted[i] is not None and adjusted[i] < plan.alpha,
            }
        )
        for i, row in enumerate(rows)
    ]


def _guardrail(
    spec: GuardrailSpec, data: ExperimentData, arms: dict[str, Moments], notes: list[str]
) -> Iterator[GuardrailResult]:
    """The guardrail's value in every arm (control too, for reference); ok is None without a value."""
    metric = get_metric(spec.metric)
    missing = _missing_input(metric, data, value_only=True)
    if missing:
        notes.append(f"guardrail {spec.metric} not evaluated: {missing}")
    for variant, moments in arms.items():
        if missing:
            value = None
        elif isinstance(metric, QuantileMetric):
            value = data.quantile_values[metric.name].get(variant)
        else:
            value = arm_value(metric, moments)
        ok = None
        if value is not None:
            ok = (spec.max is None or value <= spec.max) and (spec.min is None or value >= spec.min)
        yield GuardrailResult(metric=spec.metric, variant=variant, value=value, max=spec.max, min=spec.min, ok=ok)


def _daily(data: ExperimentData, plan: AnalysisPlan, variants: Sequence[str]) -> list[DailyPoint]:
    """Users first exposed per day and the primary metric over everyone exposed up to that day."""
    primary = get_metric(plan.primary_metric)
    computable = plan.experiment_type == "ab" and not isinstance(primary, QuantileMetric)
    computable = computable and _missing_input(primary, data) is None
    points = []
    for variant in variants:
        days = data.daily.get(variant, ())
        cumulative = accumulate(m for _, m in days)
        for (day, moments), total in zip(days, cumulative, strict=True):
            points.append(
                DailyPoint(
                    date=day.isoformat(),
                    variant=variant,
                    users=moments.n,
                    cumulative_users=total.n,
                    cumulative_value=arm_value(primary, total) if computable else None,
                )
            )
    return points
