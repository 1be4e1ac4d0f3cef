"""The offline-to-online agreement page: per series, a headline, a ranking of offline metrics and small multiples.

One self-contained file like the experiment reports (inline CSS and SVG, no scripts), so it can be
attached to a planning document. Every point carries a number, printed beside it in each plot and
in the first column of the table, so a reader can tell which experiment a dot is.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from markupsafe import Markup

from analysis.sources.interleaving import METRIC as INTERLEAVING_METRIC
from config_files.atomic import write_atomic
from dashboards.agreement import MIN_POINTS, Agreement
from dashboards.formatting import coefficient, confidence_label, metric_label, p_phrase
from dashboards.history import (
    SERIES_METHODS,
    HistoryPoint,
    HistoryScan,
    Series,
    agreement_for,
    offline_metric_names,
    scan_history,
)
from dashboards.index import write_index
from dashboards.layout import HISTORY_NAME, INDEX_NAME, REPORT_NAME
from dashboards.plots import ScatterPoint, agreement_plot
from dashboards.templating import environment

logger = logging.getLogger(__name__)

SERIES_TITLES: dict[Series, str] = {"ab": "A/B tests", "interleaving": "Interleaving experiments"}


@dataclass(frozen=True)
class Panel:
    """One offline metric's plot within a series, with its rank agreement."""

    offline_metric: str
    agreement: Agreement
    plot: Markup


@dataclass(frozen=True)
class SeriesView:
    """A series as the page shows it: a headline, a ranking of offline metrics, one plot per metric."""

    series: Series
    title: str
    online_label: str
    headline: str
    ranking: list[Panel]
    panels: list[Panel]


@dataclass(frozen=True)
class PointRow:
    """A point in the page's table; `number` is the label printed beside it in every plot."""

    number: int
    point: HistoryPoint
    report_href: str | None
    confidence: str


def _online_label(series: Series, points: Sequence[HistoryPoint]) -> str:
    metrics = {p.metric for p in points}
    metric = metrics.pop() if len(metrics) == 1 else None
    base = metric_label(metric) if metric else "primary-metric"
    if series == "ab":
        return f"{base} lift vs control"
    return base if metric == INTERLEAVING_METRIC else f"{base} interleaving preference"


def _ranking(panels: Sequence[Panel]) -> list[Panel]:
    """Offline metrics by Spearman's ρ, best first; those without a correlation last, in page order."""
    return sorted(panels, key=lambda p: (not p.agreement.available, -(p.agreement.spearman or 0.0)))


SIGNIFICANT_AT = 0.05
"""A rank correlation is named a predictor only when its exact p-value is below this."""


def _headline(ranking: Sequence[Panel], online_label: str, n: int) -> str:
    if n < MIN_POINTS:
        return (
            f"Not enough experiments yet to tell which offline metric predicts the {online_label}: "
            f"{n} treatment{'s' if n != 1 else ''} so far, a rank correlation needs {MIN_POINTS}."
        )
    best = ranking[0]  # every point has an offline Δ, so there is a panel
    if not best.agreement.available:
        return f"No rank correlation yet: {best.agreement.note}."
    a, name = best.agreement, metric_label(best.offline_metric)
    evidence = (
        f"Spearman ρ = {coefficient(a.spearman)} ({p_phrase(a.spearman_p)}), Kendall τ = {coefficient(a.kendall)}"
    )
    if a.spearman is None or a.spearman <= 0:
        return f"No offline metric orders treatments like the {online_label} yet; the best, {name} Δ, has {evidence}."
    if a.spearman_p is None or a.spearman_p >= SIGNIFICANT_AT:
        return (
            f"n too small to name an offline metric that predicts the {online_label}: the closest, {name} Δ, has "
            f"{evidence} over {a.n} treatments, which chance alone produces that often."
        )
    return f"{name} Δ orders treatments most like the {online_label}: {evidence}, over {a.n} treatments."


def _plot_name(series: Series, position: int, offline_metric: str) -> str:
    """A unique, id-safe plot name ("agreement-ab-2-ndcg-10"), as `agreement_plot` requires."""
    return f"agreement-{series}-{position}-{re.sub(r'[^a-z0-9]+', '-', offline_metric.lower()).strip('-')}"


def _series_view(series: Series, rows: Sequence[PointRow], offline_names: Sequence[str]) -> SeriesView:
    points = [r.point for r in rows]
    online_label = _online_label(series, points)
    panels = []
    for position, name in enumerate(offline_names):
        scatter = [
            ScatterPoint(
                x=r.point.offline_delta[name],
                y=r.point.lift,
                ci_low=r.point.ci_low,
                ci_high=r.point.ci_high,
                label=str(r.number),
                significant=r.point.significant,
                faded=not r.point.finished,
                direction=r.point.direction,
            )
            for r in rows
            if name in r.point.offline_delta
        ]
        if not scatter:
            continue
        plot = agreement_plot(
            scatter,
            name=_plot_name(series, position, name),
            x_label=f"{metric_label(name)} Δ (treatment − control)",
            y_label=online_label,
            description=f"{online_label} against {metric_label(name)} difference, one point per treatment",
        )
        panels.append(Panel(name, agreement_for(points, name, series), plot))
    ranking = _ranking(panels)
    return SeriesView(
        series,
        SERIES_TITLES[series],
        online_label,
        _headline(ranking, online_label, len(points)),
        ranking,
        panels,
    )


def _href(target: Path, out_dir: Path) -> str:
    """A link from a page in `out_dir` to `target`, relative so the folder can be moved or served as is."""
    return quote(Path(os.path.relpath(target, out_dir)).as_posix())


def _html(scan: HistoryScan, reports_dir: Path, out_dir: Path, metric: str | None, include_unfinished: bool) -> str:
    rows = [
        PointRow(
            number=i,
            point=p,
            report_href=_href(report, out_dir) if (report := reports_dir / p.folder / REPORT_NAME).exists() else None,
            confidence=confidence_label(p.alpha),
        )
        for i, p in enumerate(scan.points, start=1)
    ]
    offline_names = offline_metric_names(scan.points)
    views = [
        _series_view(series, series_rows, offline_names)
        for series in SERIES_METHODS
        if (series_rows := [r for r in rows if r.point.series == series])
    ]
    index = reports_dir / INDEX_NAME
    return (
        environment()
        .get_template("history.html.j2")
        .render(
            rows=rows,
            views=views,
            offline_names=offline_names,
            left_out=scan.left_out,
            metric=metric,
            include_unfinished=include_unfinished,
            experiments=len({p.folder for p in scan.points}),
            index_href=_href(index, out_dir) if index.exists() else None,
            generated_at=datetime.now(UTC),
        )
    )


def render_history(
    reports_dir: Path, out_path: Path | None = None, *, metric: str | None = None, include_unfinished: bool = False
) -> Path:
    """Write the agreement page (default `reports_dir/history.html`, which the index then links to).

    `metric` picks one online metric for every experiment (default: each one's primary metric);
    `include_unfinished` adds running and draft experiments. Returns the page's path.
    """
    reports_dir = Path(reports_dir)
    out_path = Path(out_path) if out_path is not None else reports_dir / HISTORY_NAME
    scan = scan_history(reports_dir, metric=metric, include_unfinished=include_unfinished)
    write_atomic(out_path, _html(scan, reports_dir, out_path.parent, metric, include_unfinished))
    logger.info("wrote history of %d points (%d left out) to %s", len(scan.points), len(scan.left_out), out_path)
    if out_path.resolve() == (reports_dir / HISTORY_NAME).resolve():
        write_index(reports_dir)
    return out_path
