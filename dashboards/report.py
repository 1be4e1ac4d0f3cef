"""Render one experiment's `Results` as a single self-contained HTML page, then refresh the index.

Self-contained means one file with inline CSS and inline SVG plots, no scripts and no external
requests: it opens offline, can be mailed or attached to a launch review, and still reads the same
years later. Layout on disk: see `dashboards.layout`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from markupsafe import Markup

from analysis.results import Results
from config_files.atomic import write_atomic
from dashboards.decisions import (
    decision_views,
    direction_label,
    platform_effect,
    primary_heading,
    treatment_variants,
)
from dashboards.errors import ReportLayoutError
from dashboards.formatting import CORRECTION_LABELS, confidence_label, is_number
from dashboards.health import health
from dashboards.index import write_index
from dashboards.layout import REPORT_NAME, RESULTS_NAME
from dashboards.notes import method_notes
from dashboards.plots import VIEW_TITLES, exposure_plot, forest_plot, timeline_plot, variant_colours
from dashboards.tables import (
    arm_traffic,
    flagged_segments,
    guardrail_rows,
    interleaving_metrics,
    main_rows,
    results_csv,
    segment_tables,
    variant_metrics,
    variant_order,
)
from dashboards.templating import environment

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TimelineCard:
    """One metric's lift over time in one view, as a plot card."""

    metric: str
    view: str
    title: str
    plot: Markup


def timeline_cards(results: Results, colours: dict[str, str]) -> list[TimelineCard]:
    """The primary metric first, then each guardrail: calendar and days-since-exposure plots."""
    metrics = dict.fromkeys(p.metric for p in results.timeline)
    ordered = [m for m in (results.primary_metric, *metrics) if m in metrics]
    cards = []
    for metric in dict.fromkeys(ordered):
        for view in ("calendar", "exposure_day"):
            plot = timeline_plot(results.timeline, metric, view, colours)
            if plot is not None:
                cards.append(TimelineCard(metric, view, VIEW_TITLES[view], plot))
    return cards


def render_html(results: Results) -> str:
    """The report page as a string (no files touched), for callers that put it somewhere else."""
    rows, other_rows = main_rows(results)
    colours = variant_colours(variant_order(results), results.control)
    directions = {name: info.direction for name, info in results.metrics.items()}
    drawn = any(is_number(r.rel_lift) for r in rows)
    online_names, offline_names, variant_rows = variant_metrics(results)
    return (
        environment()
        .get_template("report.html.j2")
        .render(
            r=results,
            decisions=decision_views(results),
            platform_effect=platform_effect(results) if results.kind == "holdout" else [],
            primary_heading=primary_heading(results),
            direction_labels={m: direction_label(results, m) for m in results.metrics},
            main_rows=rows,
            other_rows=other_rows,
            results_csv=results_csv(results),
            health=health(results),
            units={name: f" {info.unit}" if info.unit else "" for name, info in results.metrics.items()},
            formats={name: info.format for name, info in results.metrics.items()},
            segments=segment_tables(results),
            flagged=flagged_segments(results),
            guardrails=guardrail_rows(results),
            forest=forest_plot(rows, directions) if drawn else None,
            forest_narrow=forest_plot(rows, directions, narrow=True) if drawn else None,
            timelines=timeline_cards(results, colours),
            exposures=exposure_plot(results.daily, colours),
            colours=colours,
            treatments=treatment_variants(results),
            traffic=arm_traffic(results),
            online_names=online_names,
            offline_names=offline_names,
            preference_names=interleaving_metrics(results),
            variant_rows=variant_rows,
            notes=method_notes(results),
            confidence=confidence_label(results.alpha),
            correction=CORRECTION_LABELS[results.correction],
        )
    )


def render_report(results: Results, out_path: Path) -> Path:
    """Write the report to `out_path` (`reports_dir/<experiment>/report.html`) and rewrite `reports_dir/index.html`.

    The index is built from each folder's `results.json`, so write that first (`Results.write`) or
    the experiment will be missing from the index. Raises `ReportLayoutError` for any other file
    name, because the index lives two folders up and must not land in an arbitrary directory.
    """
    out_path = Path(out_path)
    if out_path.name != REPORT_NAME:
        raise ReportLayoutError(
            f"report path must be reports_dir/<experiment>/{REPORT_NAME}, got {out_path} "
            "(use dashboards.render_html for a page written elsewhere)"
        )
    write_atomic(out_path, render_html(results))
    logger.info("wrote report %s", out_path)
    if not (out_path.parent / RESULTS_NAME).exists():
        logger.warning("no %s beside %s: the index will not list this experiment", RESULTS_NAME, out_path)
    write_index(out_path.parent.parent)
    return out_path
