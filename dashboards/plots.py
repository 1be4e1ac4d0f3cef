"""The report's plots as inline SVG strings: no image files, no JavaScript, so a report opens offline.

Figures are built with matplotlib's object API (`Figure`, never pyplot): it renders without a GUI
backend, so servers and CI machines without a display can draw them, and it keeps no global
figure registry. Style is applied through `rc_context`, so importing this module changes nothing
for other matplotlib users. Text stays SVG text (`svg.fonttype = none`): crisp, selectable, small,
and escaped by matplotlib's XML writer. Names are data, not TeX, so mathtext is off ("$" prints).
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib
from markupsafe import Markup
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

from analysis.results import DailyPoint, MetricResult, TimelinePoint
from dashboards.formatting import is_number, method_label, metric_label, pct, pct_interval, score_delta

GREEN, RED, GREY, INK, MUTED, RULE = "#1a7f37", "#cf222e", "#6e7781", "#1f2328", "#57606a", "#d0d7de"
CONTROL_COLOUR = GREY
TREATMENT_COLOURS = ("#0969da", "#bf3989", "#8250df", "#bc4c00", "#1b7c83", "#4d2d00")

_STYLE: dict[Any, Any] = {  # matplotlib types the keys as a Literal of every rc name
    "svg.fonttype": "none",
    "text.parse_math": False,
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Liberation Sans", "Arial", "Helvetica"],
    "font.size": 9,
    "text.color": INK,
    "axes.edgecolor": RULE,
    "axes.labelcolor": MUTED,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.color": "#eaeef2",
    "grid.linewidth": 0.8,
    "xtick.color": MUTED,
    "ytick.color": MUTED,
}


def _to_svg(fig: Figure, name: str, description: str) -> Markup:
    """Serialise `fig` as an `<svg>` element ready to inline: no XML prolog, no metadata.

    The page's CSS scales each plot to its card's width; figure widths are chosen so that the
    scale stays near 1 at the report's width, keeping the text near 9 pt in every plot.

    Inline SVGs share the page's id space, and matplotlib numbers its groups from 1 in every
    figure ("figure_1", "axes_1"), so every id and reference gets the figure's name as prefix.
    `svg.hashsalt` makes the hashed ids deterministic, so re-rendered reports diff cleanly.
    """
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": name}):
        fig.savefig(buffer, format="svg", bbox_inches="tight", pad_inches=0.05, metadata={"Date": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.DOTALL)
    svg = re.sub(r'(\sid="|href="#|url\(#)', rf"\g<1>{name}-", svg)
    head_end = svg.index(">")
    head = svg[:head_end] + f' class="plot plot-{name}" role="img" aria-label="{Markup.escape(description)}"'
    return Markup(head + svg[head_end:])


def variant_colours(variants: Sequence[str], control: str) -> dict[str, str]:
    """Control in grey, treatments in distinct colours (cycling if there are many)."""
    treatments = [v for v in variants if v != control]
    colours = {v: TREATMENT_COLOURS[i % len(TREATMENT_COLOURS)] for i, v in enumerate(treatments)}
    return {control: CONTROL_COLOUR, **colours}


NEUTRAL = "#8250df"
"""A significant change of a neutral metric: real, but neither good nor bad."""


def lift_colour(significant: bool, lift: float | None, direction: str = "higher_is_better") -> str:
    """Green a significant change in the metric's good direction, red in its bad one, purple for a neutral
    metric; grey is "could be zero"."""
    if not significant or not lift:
        return GREY
    if direction == "neutral":
        return NEUTRAL
    return GREEN if (lift > 0) == (direction == "higher_is_better") else RED


def drawn_interval(row: MetricResult) -> tuple[float | None, float | None, bool]:
    """(low, high, unbounded) of the interval a plot draws for a row: the one that agrees with the p-value that
    colours it — adjusted where the p-value is adjusted (unbounded when no finite interval agrees)."""
    if row.p_value_adjusted is None:
        return row.ci_low, row.ci_high, False
    if row.ci_low_adjusted is None or row.ci_high_adjusted is None:
        return None, None, row.ci_low is not None
    return row.ci_low_adjusted, row.ci_high_adjusted, False


def forest_plot(rows: Sequence[MetricResult], directions: Mapping[str, str], *, narrow: bool = False) -> Markup:
    """Relative lift with its interval, one line per metric × variant × method.

    Rows keep the caller's order, top to bottom; metrics are banded so a reader's eye stays on one metric.
    Intervals are adjusted like the p-values that colour them (`drawn_interval`); an unbounded one is a dashed
    line across the axis. Colours follow `lift_colour` with each metric's direction. Interleaving rows are a
    preference (a share of clicked queries), and the axis says so. `narrow` draws the phone layout: each row's
    name above its bar instead of beside it, so the bars keep the page's width.
    """
    preference = bool(rows) and all(r.method == "interleaving" for r in rows)
    step = 0.55 if narrow else 0.3
    with matplotlib.rc_context(_STYLE):
        fig = Figure(figsize=(4.2 if narrow else 8.8, max(1.4, step * len(rows) + 0.8)))
        ax = fig.add_subplot()
        group = 0
        unbounded_rows = []
        for y, row in enumerate(rows):
            if y and row.metric != rows[y - 1].metric:
                group += 1
            if group % 2:
                ax.axhspan(y - 0.5, y + 0.5, color="#f6f8fa", zorder=0, linewidth=0)
            colour = lift_colour(row.significant, row.rel_lift, directions.get(row.metric, "higher_is_better"))
            low, high, unbounded = drawn_interval(row)
            if is_number(low) and is_number(high):
                ax.plot([low, high], [y, y], color=colour, linewidth=2, solid_capstyle="round")
            if unbounded:
                unbounded_rows.append((y, colour))
            if is_number(row.rel_lift):
                ax.plot(
                    [row.rel_lift],
                    [y],
                    marker="o",
                    markersize=6,
                    color=colour,
                    markeredgecolor="white",
                    gid=f"estimate-{y}",
                )
                label = f"{pct(row.rel_lift)}  [{pct_interval(low, high) if not unbounded else 'unbounded'}]"
            else:
                label = "no relative estimate"
            name = f"{metric_label(row.metric)} · {row.variant} · {method_label(row.method)}"
            text_colour = colour if colour != GREY else MUTED
            if narrow:
                ax.annotate(f"{name}   {label}", xy=(0, y - 0.3), xycoords=("axes fraction", "data"), fontsize=8,
                            va="center", color=text_colour)  # fmt: skip
            else:
                ax.annotate(label, xy=(1, y), xycoords=("axes fraction", "data"), xytext=(8, 0),
                            textcoords="offset points", va="center", color=text_colour)  # fmt: skip
        ax.axvline(0, color=MUTED, linewidth=1, zorder=1)
        if narrow:
            ax.set_yticks([])
        else:
            ax.set_yticks(
                range(len(rows)), [f"{metric_label(r.metric)} · {r.variant} · {method_label(r.method)}" for r in rows]
            )
        ax.set_ylim(len(rows) - 0.5, -0.5 - (0.3 if narrow else 0))
        ax.tick_params(axis="y", length=0)
        ax.grid(axis="y", visible=False)
        ax.xaxis.set_major_formatter(PercentFormatter(xmax=1))
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5 if narrow else 7))
        if not any(is_number(r.rel_lift) for r in rows):
            ax.set_xlim(-0.05, 0.05)
        left, right = ax.get_xlim()
        for y, colour in unbounded_rows:
            ax.plot([left, right], [y, y], color=colour, linewidth=1.2, linestyle=(0, (3, 2)))
        ax.set_xlim(left, right)
        ax.set_xlabel("preference for the variant's ranker (share of clicked queries)" if preference
                      else "relative lift vs control")  # fmt: skip
        name = "forest-narrow" if narrow else "forest"
        return _to_svg(fig, name, "Relative lift with confidence interval per metric, variant and method")


def _date_axis(ax, dates: Sequence[str]) -> None:
    """Dates as categories (one slot per day), thinned to ~8 labels; a shared year is dropped."""
    shared_year = len({d[:5] for d in dates}) == 1 and all(len(d) == 10 and d[4] == "-" for d in dates)
    labels = [d[5:] if shared_year else d for d in dates]
    step = max(1, math.ceil(len(dates) / 8))
    ax.set_xticks(range(0, len(dates), step), labels[::step])
    ax.set_xlim(-0.6, len(dates) - 0.4)


VIEW_TITLES = {"calendar": "by calendar day (cumulative)", "exposure_day": "by days since first exposure"}


def timeline_plot(
    points: Sequence[TimelinePoint], metric: str, view: str, colours: Mapping[str, str], *, preference: bool = False
) -> Markup | None:
    """One metric's lift per treatment over time with its interval as a band; None without points.

    Calendar view: each day's cumulative result (what an analyst saw that evening); exposure-day view: the
    lift in each user's k-th day after first exposure (novelty fades, learning grows).
    """
    chosen = [p for p in points if p.metric == metric and p.view == view and is_number(p.rel_lift)]
    if not chosen:
        return None

    def key(p: TimelinePoint) -> tuple[str, int]:
        return p.date or "", p.day if p.day is not None else -1

    keys = sorted({key(p) for p in chosen})
    position = {k: i for i, k in enumerate(keys)}
    with matplotlib.rc_context(_STYLE):
        fig = Figure(figsize=(5.5, 2.8))
        ax = fig.add_subplot()
        ax.axhline(0, color=MUTED, linewidth=1)
        for variant in dict.fromkeys(p.variant for p in chosen):
            series = sorted(
                (position[(p.date or "", p.day if p.day is not None else -1)], p)
                for p in chosen
                if p.variant == variant
            )
            xs = [x for x, _ in series]
            colour = colours.get(variant, GREY)
            banded = [(x, p) for x, p in series if is_number(p.ci_low) and is_number(p.ci_high)]
            if banded:
                ax.fill_between(
                    [x for x, _ in banded],
                    [_gap(p.ci_low) for _, p in banded],
                    [_gap(p.ci_high) for _, p in banded],
                    color=colour,
                    alpha=0.15,
                    linewidth=0,
                )
            ax.plot(xs, [_gap(p.rel_lift) for _, p in series], marker="o", markersize=3, linewidth=1.8, color=colour)
        if view == "calendar":
            _date_axis(ax, [date for date, _ in keys])
        else:
            ax.set_xticks(range(len(keys)), [str(day) for _, day in keys])
            ax.set_xlim(-0.6, len(keys) - 0.4)
            ax.set_xlabel("days since first exposure")
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1))
        ax.set_ylabel("preference" if preference else "relative lift")
        name = f"timeline-{re.sub(r'[^a-z0-9]+', '-', metric.lower())}-{view}"
        return _to_svg(fig, name, f"Lift of {metric_label(metric)} over time, {VIEW_TITLES[view]}")


def exposure_plot(daily: Sequence[DailyPoint], colours: dict[str, str]) -> Markup | None:
    """Users first exposed per day, one bar per variant: arms should rise and fall together."""
    if not daily:
        return None
    dates = sorted({p.date for p in daily})
    position = {d: i for i, d in enumerate(dates)}
    variants = list(dict.fromkeys(colours)) + [v for v in dict.fromkeys(p.variant for p in daily) if v not in colours]
    present = [v for v in variants if any(p.variant == v for p in daily)]
    width = 0.8 / len(present)
    with matplotlib.rc_context(_STYLE):
        fig = Figure(figsize=(5.5, 2.8))
        ax = fig.add_subplot()
        for i, variant in enumerate(present):
            points = [p for p in daily if p.variant == variant]
            xs = [position[p.date] - 0.4 + width * (i + 0.5) for p in points]
            ax.bar(xs, [p.users for p in points], width=width, color=colours.get(variant, GREY))
        _date_axis(ax, dates)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _pos: f"{value:,.0f}"))
        ax.grid(axis="x", visible=False)
        return _to_svg(fig, "exposures", "Users first exposed per day for each variant")


@dataclass(frozen=True)
class ScatterPoint:
    """One treatment in an offline-against-online plot: x its offline Δ, y its online lift and interval."""

    x: float
    y: float
    ci_low: float | None
    ci_high: float | None
    label: str
    significant: bool
    faded: bool = False
    direction: str = "higher_is_better"


def _labels_on_left(points: Sequence[ScatterPoint]) -> list[bool]:
    """Which point labels go left of their point: those whose right side an earlier, nearby label took.

    "Nearby" is within 4 % of the x range and 8 % of the y range (intervals included, as on the axis),
    about a label's size at this figure size; ties in x (an index change leaves most offline scores
    equal) are the usual case.
    """
    xs = [p.x for p in points]
    ys = [y for p in points for y in (p.y, p.ci_low, p.ci_high) if is_number(y)]  # the y axis spans the intervals
    x_near = 0.04 * ((max(xs) - min(xs)) if points else 0) or 1e-12
    y_near = 0.08 * ((max(ys) - min(ys)) if points else 0) or 1e-12
    left: list[bool] = []
    for i, point in enumerate(points):
        taken = [
            left[j] for j in range(i) if abs(points[j].x - point.x) <= x_near and abs(points[j].y - point.y) <= y_near
        ]
        left.append(False in taken)
    return left


def agreement_plot(
    points: Sequence[ScatterPoint], *, name: str, x_label: str, y_label: str, description: str
) -> Markup:
    """Online lift (y, interval as a vertical bar) against offline Δ (x), one point per treatment.

    Colours follow the forest plot (green/red significant gain/loss, grey could be zero); faded
    points come from experiments still running. Each point carries a short label (its row number in
    the page's table), because experiment names are too long to print beside a point. The zero lines
    split the plane into quadrants: points in the top-right and bottom-left are agreements.
    `name` must be unique on the page and safe in an id (it prefixes the SVG's ids).
    """
    with matplotlib.rc_context(_STYLE):
        fig = Figure(figsize=(5.2, 3.2))
        ax = fig.add_subplot()
        ax.axhline(0, color=MUTED, linewidth=0.8, zorder=1)
        ax.axvline(0, color=MUTED, linewidth=0.8, zorder=1)
        for i, (point, on_left) in enumerate(zip(points, _labels_on_left(points), strict=True)):
            colour = lift_colour(point.significant, point.y, point.direction)
            alpha = 0.45 if point.faded else 1.0
            if is_number(point.ci_low) and is_number(point.ci_high):
                ax.plot(
                    [point.x, point.x],
                    [point.ci_low, point.ci_high],
                    color=colour,
                    linewidth=1.6,
                    alpha=alpha,
                    zorder=2,
                )
            ax.plot(
                [point.x],
                [point.y],
                marker="o",
                markersize=6.5,
                color=colour,
                markeredgecolor="white",
                alpha=alpha,
                zorder=3,
                gid=f"point-{i}",
            )
            ax.annotate(
                point.label,
                xy=(point.x, point.y),
                xytext=(-5 if on_left else 5, 3),
                textcoords="offset points",
                ha="right" if on_left else "left",
                color=MUTED,
                fontsize=8,
            )
        ax.xaxis.set_major_locator(MaxNLocator(nbins=6))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _pos: score_delta(value)))
        ax.yaxis.set_major_locator(MaxNLocator(nbins=6))
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1))
        ax.margins(x=0.12, y=0.1)
        ax.set_xlabel(x_label)
        ax.set_ylabel(y_label)
        return _to_svg(fig, name, description)


def _gap(value: float | None) -> float:
    """A missing value as NaN, which matplotlib leaves out of a line or band."""
    return math.nan if value is None else value
