"""From an experiment's data and plan to `Results`: comparisons, SRM, corrections, guardrails, decisions.

One row per (metric, non-control variant, method): `delta` always (Welch for means, the delta method for
ratios, the quantile delta method for quantiles), `cuped` when both arms have pre-period data,
`sequential` when the plan asks (CUPED-adjusted when it can be, quantiles included). Corrections: the
primary metric's rows are one family (Holm across its variants; a two-arm primary is unadjusted) and the
secondary metrics' rows another (the plan's correction), per method — so adding secondary metrics never
weakens the primary's test. A failed SRM check withholds every verdict: p-values stay, `significant` is
false and the decision is `invalid`, because a broken split biases every estimate.

Under the Bayesian engine (`plan.engine`) the delta and CUPED rows carry a chance to win, risks and a credible
interval instead of p-values (`analysis.rows`, `analysis.stats.bayesian`), uncorrected as gbstats does, and
guardrails stay non-inferiority tests. The plan's segments get rows per attribute value and the primary
metric's differential-impact check (`analysis.segment_results`). Capped metrics report their caps.

An interleaving plan gets one `interleaving` row (`analysis.sources.interleaving`) per non-control variant
from the `InterleavingStats` the caller read from the event store, and no A/B rows: serving shows every
user of the experiment the same merged list whatever their variant label, so comparing the label groups
would only be an A/A test (and a 5 % chance of a false verdict). The preference is then the results'
primary metric. Its users are not split between rankers, so the SRM result lists the label groups
unchecked; guardrails (latency, errors) are still read per label group. A holdout plan
(`analysis.holdout`) compares held-out users with exposed ones like an A/B plan, without a split to check
and without a decision.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import asdict

from analysis.decision import decide
from analysis.errors import UnknownVariantError
from analysis.metrics import Metric, QuantileMetric, check_plan, has_pre_period, metric_info
from analysis.moments import Moments
from analysis.notes import note_text
from analysis.plan import AnalysisPlan, GuardrailSpec
from analysis.results import (
    BayesianDesign,
    CapInfo,
    DailyPoint,
    Design,
    GuardrailResult,
    Method,
    MetricInfo,
    MetricResult,
    Results,
    Role,
    SrmResult,
)
from analysis.rows import adjust, compare_fixed, make_row
from analysis.segment_results import segment_rows
from analysis.sources.data import ExperimentData
from analysis.sources.interleaving import METRIC as INTERLEAVING_METRIC
from analysis.sources.interleaving import METRIC_INFO as INTERLEAVING_INFO
from analysis.sources.interleaving import interleaving_row
from analysis.stats import (
    AnyStats,
    InterleavingStats,
    arm_has_pre_period,
    compare_sequential,
    non_inferiority,
    srm,
)
from analysis.timeline import timeline_points

logger = logging.getLogger(__name__)


def analyze(data: ExperimentData, plan: AnalysisPlan, interleaving: InterleavingStats | None = None) -> Results:
    """Compare every non-control variant with control on the plan's metrics; see the module docstring.

    `interleaving`: the preference statistics of an interleaving plan (ignored for an A/B plan).
    """
    check_plan(plan)
    variants, notes = _variants(data, plan)
    arms = {v: data.arms.get(v) or Moments.empty(data.columns) for v in variants}
    for variant, moments in arms.items():
        if moments.n == 0:
            notes.append(f"variant {variant!r} has no users: not enough data")
    srm_result = _srm(arms, plan) if plan.experiment_type == "ab" else _srm_unchecked(arms, plan)
    if not srm_result.ok:
        notes.append(f"sample ratio mismatch (p = {srm_result.p_value:.2g} < 0.001): verdicts withheld")
    tuning = float(plan.planned_users or sum(m.n for m in arms.values()) or 1)
    pairs = ArmPairs(data, arms, plan, notes)
    rows: list[MetricResult] = []
    for name in plan.metrics if plan.experiment_type != "interleaving" else ():
        metric = plan.catalog.get(name)
        role: Role = "primary" if name == plan.primary_metric else "secondary"
        if pairs.missing(metric) is None:
            for variant in variants[1:]:
                rows.extend(_compare(pairs, metric, variant, role, tuning))
    if plan.experiment_type == "interleaving":
        if interleaving is None:
            notes.append("interleaving preference left out: it needs click teams from the event store")
        else:
            rows.extend(interleaving_row(interleaving, plan, variant) for variant in variants[1:])
    rows = _adjust(rows, plan, srm_ok=srm_result.ok)
    guardrails = [
        _guardrail(pairs, spec, variant, tuning)
        for spec in plan.guardrails
        if pairs.missing(plan.catalog.get(spec.metric)) is None
        for variant in variants[1:]
    ]
    primary = INTERLEAVING_METRIC if plan.experiment_type == "interleaving" else plan.primary_metric
    measured = {name: _info(plan.catalog.get(name), data) for name in plan.measured_metrics}
    if plan.experiment_type == "interleaving":
        measured = {INTERLEAVING_METRIC: INTERLEAVING_INFO, **measured}
    results = Results(
        experiment=plan.experiment,
        kind=plan.experiment_type,
        alpha=plan.alpha,
        correction=plan.correction,
        control=plan.control,
        primary_metric=primary,
        metrics=measured,
        design=Design(
            start=plan.start,
            end=plan.end,
            sequential=plan.sequential,
            sequential_tuning=tuning if plan.sequential else None,
            planned_users=plan.planned_users,
            mde=plan.mde,
            power=plan.power,
            pre_period_days=plan.pre_period_days,
            min_users_per_arm=plan.min_users_per_arm,
            engine=plan.engine,
            bayesian=_bayesian_design(plan),
            segments=list(plan.segments),
        ),
        srm=srm_result,
        switched_users=data.switched_users,
        results=rows,
        segments=segment_rows(data, plan, variants, srm_ok=srm_result.ok) if plan.experiment_type == "ab" else [],
        guardrails=guardrails,
        daily=[
            DailyPoint(date=day.isoformat(), variant=v, users=m.n) for v in variants for day, m in data.daily.get(v, ())
        ],
        timeline=timeline_points(data, plan, variants, tuning) if plan.experiment_type == "ab" else [],
        status=plan.status,
        source=data.source,
        notes=list(dict.fromkeys((*data.notes, *notes))),
    )
    results = results.model_copy(update={"decisions": decide(results)})
    logger.info("analysed %s: %d result rows, %d guardrails", plan.experiment, len(rows), len(guardrails))
    return results


def _bayesian_design(plan: AnalysisPlan) -> BayesianDesign | None:
    if plan.engine != "bayesian":
        return None
    options = plan.bayesian
    return BayesianDesign(
        prior="proper" if options.proper else "flat",
        prior_mean=options.prior_mean,
        prior_stddev=options.prior_stddev,
        chance_to_win=options.chance_to_win,
        max_risk=options.max_risk,
    )


def _info(metric: Metric, data: ExperimentData) -> MetricInfo:
    """The metric's description in results, with the caps its capped columns got in this experiment."""
    info = metric_info(metric)
    caps = [
        CapInfo(column=c, value=cap.value, share_capped=cap.users_capped / cap.users if cap.users else None)
        for c in metric.columns
        if (cap := data.caps.get(c)) is not None
    ]
    return info.model_copy(update={"caps": caps}) if caps else info


class ArmPairs:
    """The statistics of control and one treatment for a metric, the way every method reads them.

    Knows which metrics the source cannot compute (noted once) and whether CUPED applies to a pair: the
    source has the pre-period columns and *both* arms have pre-period data that varies (otherwise a note
    says which arm lacks it, and the comparison stays unadjusted).
    """

    def __init__(self, data: ExperimentData, arms: dict[str, Moments], plan: AnalysisPlan, notes: list[str]):
        self.data, self.arms, self.plan, self.notes = data, arms, plan, notes
        self._missing: dict[str, str | None] = {}

    def missing(self, metric: Metric) -> str | None:
        """Why the source cannot compute `metric` (noted the first time), or None when it can."""
        if metric.name not in self._missing:
            reason = self._why_missing(metric)
            self._missing[metric.name] = reason
            if reason:
                self.notes.append(f"{metric.name} left out: {reason}")
        return self._missing[metric.name]

    def _why_missing(self, metric: Metric) -> str | None:
        if isinstance(metric, QuantileMetric):
            if metric.name in self.data.quantiles:
                return None
            return "quantiles need event-level values, which a per-user file does not have"
        absent = [c for c in dict.fromkeys((*metric.raw_columns, *metric.columns)) if c not in self.data.columns]
        return f"column(s) {', '.join(absent)} absent from {self.data.source}" if absent else None

    def plain(self, metric: Metric, variant: str) -> tuple[AnyStats, AnyStats]:
        """Unadjusted statistics of (control, variant)."""
        if isinstance(metric, QuantileMetric):
            by_arm = self.data.quantiles[metric.name]
            return by_arm[self.plan.control], by_arm[variant]
        return metric.stats(self.arms[self.plan.control]), metric.stats(self.arms[variant])

    def covariate(self, metric: Metric, variant: str) -> tuple[AnyStats, AnyStats] | None:
        """CUPED statistics of (control, variant), or None when CUPED does not apply to this pair."""
        if isinstance(metric, QuantileMetric) or not has_pre_period(metric, self.arms[self.plan.control]):
            return None
        pair = (metric.covariate_stats(self.arms[self.plan.control]), metric.covariate_stats(self.arms[variant]))
        lacking = [
            arm
            for arm, stats in zip((self.plan.control, variant), pair, strict=True)
            if stats.n and not arm_has_pre_period(stats)
        ]
        if lacking:
            columns = ", ".join(metric.pre_columns)
            self.notes.append(
                f"CUPED not applied to {metric.name} for {variant}: {' and '.join(lacking)} "
                f"{'has' if len(lacking) == 1 else 'have'} no varying pre-period data ({columns})"
            )
            return None
        return pair


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


def _srm_unchecked(arms: dict[str, Moments], plan: AnalysisPlan) -> SrmResult:
    """Users per group beside the designed shares (none for a holdout), unchecked: nothing depends on the split."""
    expected = dict(plan.weights) if plan.weights is not None else {}
    return SrmResult(
        p_value=None, observed={v: m.n for v, m in arms.items()}, expected=expected, ok=True, checked=False
    )


def _compare(pairs: ArmPairs, metric: Metric, variant: str, role: Role, tuning: float) -> Iterator[MetricResult]:
    plan = pairs.plan
    plain = pairs.plain(metric, variant)
    yield make_row(MetricResult, metric.name, variant, "delta", role, compare_fixed(plan, metric.direction, *plain))
    covariate = pairs.covariate(metric, variant)
    if covariate is not None:
        comparison = compare_fixed(plan, metric.direction, *covariate)
        yield make_row(MetricResult, metric.name, variant, "cuped", role, comparison)
    if plan.sequential:
        stats = covariate or plain
        comparison = compare_sequential(*stats, alpha=plan.alpha, tuning=tuning)
        yield make_row(MetricResult, metric.name, variant, "sequential", role, comparison)


def _adjust(rows: Sequence[MetricResult], plan: AnalysisPlan, *, srm_ok: bool) -> list[MetricResult]:
    """Correct p-values per family — (primary | secondary, method): the primary family always uses Holm (it
    protects the decision's family-wise error), secondary rows use the plan's correction."""
    return adjust(
        rows,
        plan,
        srm_ok=srm_ok,
        family=lambda r: (r.role, r.method),
        correction=lambda r: "holm" if r.role == "primary" else plan.correction,
    )


def _guardrail(pairs: ArmPairs, spec: GuardrailSpec, variant: str, tuning: float) -> GuardrailResult:
    """The guardrail's non-inferiority test for one treatment, on the most precise valid estimate."""
    plan, metric = pairs.plan, pairs.plan.catalog.get(spec.metric)
    covariate = pairs.covariate(metric, variant)
    stats = covariate or pairs.plain(metric, variant)
    method: Method = "sequential" if plan.sequential else ("cuped" if covariate else "delta")
    test = non_inferiority(
        *stats,
        margin=spec.margin,
        direction=metric.direction,
        alpha=plan.alpha,
        tuning=tuning if plan.sequential else None,
    )
    fields = asdict(test)
    fields["note"] = note_text(test.note)
    return GuardrailResult(metric=spec.metric, variant=variant, method=method, margin=spec.margin, **fields)
