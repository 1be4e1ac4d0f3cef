"""Offline-to-online agreement across experiments: which offline metric predicts online wins?

Every experiment folder in `reports_dir` contributes one point per treatment variant: x is the
change of an offline metric of its encoder and index (treatment − control, absolute, from the
artifact manifests that `vsx analyze` copies into `results.json`), y is the online relative lift
with its confidence interval. Over many experiments, the rank correlation per offline metric
(`dashboards.agreement`) tells the team which offline number to trust before launching the next
experiment. This module collects the points; `dashboards.history_page` draws them into
`reports_dir/history.html`, which the index links to.

What counts, and why (everything left out is listed on the page with its reason):

- Finished experiments only, by default: status "stopped", or no status at all (a per-user file
  analysed after the fact). A running experiment's lift still moves; `include_unfinished` adds
  running and draft ones, drawn faded.
- Not experiments failing the sample-ratio check: their lifts are biased, not merely noisy.
- Not variants serving control's encoder and index (a client-side change, a layout): their offline Δ is 0 by
  construction and says nothing about which offline metric predicts online lifts.
- The online metric is each experiment's primary metric (what it was designed to move), or one
  metric for all when `metric` is given. A/B rows are read CUPED first, then delta, then
  sequential: the narrowest fixed-horizon interval around the same estimate. Unlike the verdict,
  sequential comes last, since here we compare estimates rather than make a decision under peeking.
- Interleaving rows form their own series: a preference is not a lift, so it never joins the A/B
  correlation.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from analysis.results import MetricResult, Results
from dashboards.agreement import Agreement, rank_agreement
from dashboards.decisions import treatment_variants
from dashboards.errors import ResultsFileError
from dashboards.formatting import MANIFEST_BOOKKEEPING, is_number, metric_label
from dashboards.layout import RESULTS_NAME, read_results

logger = logging.getLogger(__name__)

Series = Literal["ab", "interleaving"]

FINISHED_STATUSES = frozenset({"stopped", None})
SERIES_METHODS: dict[Series, tuple[str, ...]] = {
    "ab": ("cuped", "delta", "sequential"),
    "interleaving": ("interleaving",),
}
OFFLINE_ORDER = ("precision@10", "mrr@10", "ndcg@10", "ann_recall@10")
"""The offline metrics every manifest is expected to carry, shown first; any others follow."""


@dataclass(frozen=True)
class HistoryPoint:
    """One treatment variant of one experiment: its offline Δs beside one online comparison with control."""

    experiment: str
    folder: str
    variant: str
    control: str
    status: str | None
    finished: bool
    generated_at: datetime
    series: Series
    metric: str
    method: str
    lift: float
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    p_value_adjusted: float | None
    significant: bool
    direction: str
    alpha: float
    offline_delta: dict[str, float]

    @property
    def decision_p(self) -> float | None:
        """The adjusted p-value when the analysis adjusted one (what its verdict used), else the raw one."""
        return self.p_value_adjusted if self.p_value_adjusted is not None else self.p_value


@dataclass(frozen=True)
class LeftOut:
    """An experiment (variant None) or one of its variants that contributes no point, and why."""

    experiment: str
    variant: str | None
    reason: str


@dataclass(frozen=True)
class HistoryScan:
    points: list[HistoryPoint]
    left_out: list[LeftOut]


def _online_row(results: Results, metric: str, variant: str, methods: tuple[str, ...]) -> MetricResult | None:
    rank = {m: i for i, m in enumerate(methods)}
    rows = [
        r
        for r in results.results
        if r.metric == metric and r.variant == variant and r.method in rank and is_number(r.rel_lift)
    ]
    return min(rows, key=lambda r: rank[r.method], default=None)


def _offline_delta(results: Results, variant: str) -> dict[str, float]:
    """Treatment − control for every offline metric both have (absolute: scores share one scale)."""
    offline = {o.variant: o.metrics for o in results.offline}
    control, treatment = offline.get(results.control, {}), offline.get(variant, {})
    return {
        name: value - control[name]
        for name, value in treatment.items()
        if name in control and is_number(value) and is_number(control[name])
    }


def _why_no_offline(results: Results, variant: str) -> str:
    offline = {o.variant: o.metrics for o in results.offline}
    for name in (results.control, variant):
        if not offline.get(name):
            return f"no offline metrics for {name}"
    return f"no offline metric shared with {results.control}"


def _why_no_online(results: Results, metric: str, variant: str) -> str:
    notes = [r.note for r in results.results if r.metric == metric and r.variant == variant and r.note]
    return f"no online estimate of {metric_label(metric)}" + (f" ({notes[0]})" if notes else "")


def _experiment_points(folder: str, results: Results, metric: str | None) -> HistoryScan:
    online_metric = metric or results.primary_metric
    points, left_out = [], []
    rankers = {o.variant: (o.encoder, o.index) for o in results.offline}
    for variant in treatment_variants(results):
        if rankers.get(variant, (None, None))[0] is not None and rankers[variant] == rankers.get(results.control):
            left_out.append(LeftOut(results.experiment, variant, "same encoder and index as control: no ranker change"))
            continue
        delta = _offline_delta(results, variant)
        if not delta:
            left_out.append(LeftOut(results.experiment, variant, _why_no_offline(results, variant)))
            continue
        rows = {s: _online_row(results, online_metric, variant, m) for s, m in SERIES_METHODS.items()}
        if not any(rows.values()):
            left_out.append(LeftOut(results.experiment, variant, _why_no_online(results, online_metric, variant)))
        for series, row in rows.items():
            if row is None or row.rel_lift is None:  # `_online_row` keeps only rows with a lift
                continue
            points.append(
                HistoryPoint(
                    experiment=results.experiment,
                    folder=folder,
                    variant=variant,
                    control=results.control,
                    status=results.status,
                    finished=results.status in FINISHED_STATUSES,
                    generated_at=results.generated_at,
                    series=series,
                    metric=online_metric,
                    method=row.method,
                    lift=row.rel_lift,
                    # the interval that agrees with the p-value colouring the point (see plots.drawn_interval)
                    ci_low=row.ci_low_adjusted if row.p_value_adjusted is not None else row.ci_low,
                    ci_high=row.ci_high_adjusted if row.p_value_adjusted is not None else row.ci_high,
                    p_value=row.p_value,
                    p_value_adjusted=row.p_value_adjusted,
                    significant=row.significant,
                    direction=results.metrics[online_metric].direction
                    if online_metric in results.metrics
                    else "higher_is_better",
                    alpha=results.alpha,
                    offline_delta=delta,
                )
            )
    return HistoryScan(points, left_out)


def scan_history(reports_dir: Path, *, metric: str | None = None, include_unfinished: bool = False) -> HistoryScan:
    """Every point from `reports_dir/*/results.json` (oldest analysis first), and what was left out."""
    points: list[HistoryPoint] = []
    left_out: list[LeftOut] = []
    for path in sorted(Path(reports_dir).glob(f"*/{RESULTS_NAME}")):
        try:
            results = read_results(path)
        except ResultsFileError as exc:
            logger.warning("history: %s", exc)
            left_out.append(LeftOut(path.parent.name, None, f"unreadable {RESULTS_NAME}"))
            continue
        if results.status not in FINISHED_STATUSES and not include_unfinished:
            left_out.append(LeftOut(results.experiment, None, f"{results.status}: not finished yet"))
        elif not results.srm.ok:
            left_out.append(LeftOut(results.experiment, None, "sample-ratio mismatch: its lifts are biased"))
        else:
            found = _experiment_points(path.parent.name, results, metric)
            points += found.points
            left_out += found.left_out
    points.sort(key=lambda p: (p.generated_at.timestamp(), p.experiment))  # stable: variants keep their order
    return HistoryScan(points, left_out)


def collect_history(
    reports_dir: Path, *, metric: str | None = None, include_unfinished: bool = False
) -> list[HistoryPoint]:
    """The points of `scan_history`, without the list of what was left out."""
    return scan_history(reports_dir, metric=metric, include_unfinished=include_unfinished).points


def offline_metric_names(points: Sequence[HistoryPoint]) -> list[str]:
    """Offline metrics present in any point: the usual four first, then others as they appear."""
    present = dict.fromkeys(name for p in points for name in p.offline_delta if name not in MANIFEST_BOOKKEEPING)
    return [m for m in OFFLINE_ORDER if m in present] + [m for m in present if m not in OFFLINE_ORDER]


def agreement_for(points: Sequence[HistoryPoint], offline_metric: str, series: Series = "ab") -> Agreement:
    """Rank agreement of `offline_metric`'s Δ with the online lift over the points of one series."""
    return rank_agreement(
        [
            (p.offline_delta[offline_metric], p.lift)
            for p in points
            if p.series == series and offline_metric in p.offline_delta
        ]
    )
