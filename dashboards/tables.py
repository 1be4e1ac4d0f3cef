"""The report's tables as plain rows: ordering, guardrail status, and online metrics beside offline ones.

Templates stay dumb: every decision about order, labels and missing values is made here or in
`formatting`, where it can be tested without parsing HTML.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Literal

from analysis.results import GuardrailResult, MetricResult, Results, SegmentResult
from dashboards.decisions import treatment_variants
from dashboards.formatting import (
    MANIFEST_BOOKKEEPING,
    chance,
    method_label,
    metric_label,
    num,
    p_phrase,
    pct,
    pct_interval,
    pval,
)

GuardrailStatus = Literal["pass", "fail", "inconclusive"]

# Methods in the order a reader compares them: the plain test, then its refinements.
READING_ORDER = ("delta", "cuped", "sequential", "interleaving")


def variant_order(results: Results) -> list[str]:
    """Control first, then treatments in the order they appear."""
    return [results.control, *treatment_variants(results)]


def metric_order(results: Results) -> list[str]:
    """The primary metric first, then the others in the order the analysis wrote them."""
    names = [results.primary_metric] + [row.metric for row in results.results]
    present = {row.metric for row in results.results}
    return [name for name in dict.fromkeys(names) if name in present]


def ordered_rows(results: Results) -> list[MetricResult]:
    """Every result row, grouped by metric (primary first), then variant, then method."""
    metric_rank = {m: i for i, m in enumerate(metric_order(results))}
    variant_rank = {v: i for i, v in enumerate(variant_order(results))}
    method_rank = {m: i for i, m in enumerate(READING_ORDER)}
    return sorted(
        results.results,
        key=lambda r: (metric_rank[r.metric], variant_rank.get(r.variant, 0), method_rank.get(r.method, 9)),
    )


def main_rows(results: Results) -> tuple[list[MetricResult], list[MetricResult]]:
    """(the row each metric and variant is read by, every other row), both in `ordered_rows` order."""
    chosen = {id(results.preferred_row(r.metric, r.variant)) for r in results.results}
    rows = ordered_rows(results)
    return [r for r in rows if id(r) in chosen], [r for r in rows if id(r) not in chosen]


CSV_FIELDS = (
    "metric", "variant", "method", "role", "n_control", "n_treatment", "control_mean", "treatment_mean", "abs_lift",
    "abs_ci_low", "abs_ci_high", "rel_lift", "ci_low", "ci_high", "ci_low_adjusted", "ci_high_adjusted", "p_value",
    "p_value_adjusted", "p_value_abs", "significant", "engine", "chance_to_win", "risk_control", "risk_treatment",
    "note",
)  # fmt: skip


def _csv_value(row: MetricResult, name: str) -> object:
    if name.startswith("risk_"):
        value = getattr(row.risk, name.removeprefix("risk_")) if row.risk else None
    else:
        value = getattr(row, name)
    return "" if value is None else value


def results_csv(results: Results) -> str:
    """Every result row as CSV (the report's download): the numbers of results.json, unformatted."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for row in ordered_rows(results):
        writer.writerow([_csv_value(row, f) for f in CSV_FIELDS])
    return buffer.getvalue()


@dataclass(frozen=True)
class SegmentRow:
    """One segment value's comparison as the segments table shows it (text, ready to print)."""

    segment: str
    variant: str
    metric: str
    users: str
    lift: str
    interval: str
    evidence: str
    significant: bool
    differential: str
    flagged: bool


@dataclass(frozen=True)
class SegmentTable:
    """The rows of one segment attribute: the primary metric's (`rows`), then every other metric's (`more`)."""

    attribute: str
    rows: list[SegmentRow]
    more: list[SegmentRow] = field(default_factory=list)


def _evidence(row: MetricResult) -> str:
    """What the row's inference says: chance to win (Bayesian) or the p-value corrected across the values."""
    if row.engine == "bayesian":
        return f"chance to win {chance(row.chance_to_win)}"
    return pval(row.p_value_adjusted)


def _differential(row: SegmentResult) -> str:
    d = row.differential
    if d is None:
        return ""
    if d.difference is None:
        return "not testable"
    return f"{pct(d.difference)} vs the rest ({pct(d.rest_rel_lift)}), {p_phrase(d.p_value_adjusted)}"


def _shown_interval(row: MetricResult) -> str:
    """The interval that agrees with the row's (adjusted) inference."""
    if row.p_value_adjusted is not None:
        return pct_interval(row.ci_low_adjusted, row.ci_high_adjusted)
    return pct_interval(row.ci_low, row.ci_high)


def segment_tables(results: Results) -> list[SegmentTable]:
    """One table per segment attribute; rows ordered metric (primary first), value (most users first), variant."""
    metric_rank = {m: i for i, m in enumerate(metric_order(results))}
    tables = []
    for attribute in dict.fromkeys(r.attribute for r in results.segments):
        rows = [r for r in results.segments if r.attribute == attribute]
        users = {r.segment: r.n_control + r.n_treatment for r in rows if r.metric == results.primary_metric}
        rows.sort(key=lambda r: (metric_rank.get(r.metric, 99), -users.get(r.segment, 0), r.segment, r.variant))
        shown = [
            SegmentRow(
                segment=r.segment,
                variant=r.variant,
                metric=metric_label(r.metric),
                users=f"{r.n_control:,} / {r.n_treatment:,}",
                lift=pct(r.rel_lift),
                interval=_shown_interval(r),
                evidence=_evidence(r),
                significant=r.significant,
                differential=_differential(r),
                flagged=bool(r.differential and r.differential.flagged),
            )
            for r in rows
        ]
        primary = [row for row, r in zip(shown, rows, strict=True) if r.metric == results.primary_metric]
        others = [row for row, r in zip(shown, rows, strict=True) if r.metric != results.primary_metric]
        tables.append(SegmentTable(attribute, primary, others))
    return tables


@dataclass(frozen=True)
class GuardrailRow:
    """A guardrail test as the table shows it: the change, the worst change the data allow, the margin."""

    metric: str
    variant: str
    direction: str
    change: str
    worst: str
    margin: str
    status: GuardrailStatus
    method: str
    note: str | None


def _guardrail_value(guardrail: GuardrailResult, value: float | None) -> str:
    if guardrail.scale == "absolute":
        return f"{num(value, signed=True)} abs."
    return pct(value)


def guardrail_rows(results: Results) -> list[GuardrailRow]:
    return [
        GuardrailRow(
            metric=metric_label(g.metric),
            variant=g.variant,
            direction=g.direction.replace("_", " "),
            change=_guardrail_value(g, g.estimate),
            worst=_guardrail_value(g, g.bound),
            margin=_guardrail_value(g, g.margin_on_scale) if g.margin_on_scale is not None else pct(g.margin),
            status=g.status,
            method=method_label(g.method),
            note=g.note,
        )
        for g in results.guardrails
    ]


@dataclass(frozen=True)
class VariantMetrics:
    """One variant's online means (with lift against control) beside its encoder's offline metrics.

    `preference` holds interleaving results per metric as (preference, CI low, CI high): a
    preference is not a mean of this arm, so it gets its own columns instead of an A/B one.
    """

    variant: str
    encoder: str | None
    index: str | None
    online: dict[str, tuple[float | None, float | None]]
    offline: dict[str, float]
    preference: dict[str, tuple[float | None, float | None, float | None]] = field(default_factory=dict)


def _online(results: Results, variant: str, metric: str) -> tuple[float | None, float | None]:
    """(mean, relative lift) of `variant` on `metric`, read from the rows verdicts rest on."""
    if variant != results.control:
        row = results.preferred_row(metric, variant)
        return (row.treatment_mean, row.rel_lift) if row else (None, None)
    for treatment in treatment_variants(results):
        row = results.preferred_row(metric, treatment)
        if row is not None and row.control_mean is not None:
            return row.control_mean, None
    return None, None


def interleaving_metrics(results: Results) -> list[str]:
    """Metrics compared by interleaving, in `metric_order`: shown as preference columns."""
    present = {r.metric for r in results.results if r.method == "interleaving"}
    return [m for m in metric_order(results) if m in present]


def _preference(results: Results, variant: str, metric: str) -> tuple[float | None, float | None, float | None]:
    rows = [r for r in results.results if r.metric == metric and r.variant == variant and r.method == "interleaving"]
    return (rows[0].rel_lift, rows[0].ci_low, rows[0].ci_high) if rows else (None, None, None)


def variant_metrics(results: Results) -> tuple[list[str], list[str], list[VariantMetrics]]:
    """(online metric names, offline metric names, one row per variant) for the side-by-side table.

    Online names are the metrics with an A/B row; interleaving-only metrics appear in `preference`.
    """
    ab_metrics = {r.metric for r in results.results if r.method != "interleaving"}
    online_names = [m for m in metric_order(results) if m in ab_metrics]
    preference_names = interleaving_metrics(results)
    offline = {o.variant: o for o in results.offline}
    offline_names = list(
        dict.fromkeys(name for o in results.offline for name in o.metrics if name not in MANIFEST_BOOKKEEPING)
    )
    variants = variant_order(results) + [v for v in offline if v not in variant_order(results)]
    rows = [
        VariantMetrics(
            variant=v,
            encoder=offline[v].encoder if v in offline else None,
            index=offline[v].index if v in offline else None,
            online={m: _online(results, v, m) for m in online_names},
            offline=offline[v].metrics if v in offline else {},
            preference={m: _preference(results, v, m) for m in preference_names if v != results.control},
        )
        for v in variants
    ]
    return online_names, offline_names, rows


@dataclass(frozen=True)
class ArmTraffic:
    """Users in one arm against the designed split (shares, so expected counts or weights both work)."""

    variant: str
    users: int
    share: float | None
    expected_share: float | None


def arm_traffic(results: Results) -> list[ArmTraffic]:
    observed, expected = results.srm.observed, results.srm.expected
    total_observed, total_expected = sum(observed.values()), sum(expected.values())
    variants = variant_order(results) + [v for v in observed if v not in variant_order(results)]
    return [
        ArmTraffic(
            variant=v,
            users=observed.get(v, 0),
            share=observed.get(v, 0) / total_observed if total_observed else None,
            expected_share=expected[v] / total_expected if v in expected and total_expected else None,
        )
        for v in variants
        if v in observed or v in expected
    ]


def flagged_segments(results: Results) -> list[str]:
    """Segments whose primary-metric effect differs from the rest's, largest difference first, in words."""
    flagged = [r for r in results.segments if r.differential is not None and r.differential.flagged]
    flagged.sort(key=lambda r: -abs(r.differential.difference or 0))  # type: ignore[union-attr]
    return [
        f"{r.attribute} = {r.segment} ({r.variant}): {metric_label(r.metric)} {pct(r.rel_lift)} against "
        f"{pct(r.differential.rest_rel_lift)} in the other users, {p_phrase(r.differential.p_value_adjusted)}"  # type: ignore[union-attr]
        for r in flagged
    ]
