import re
import xml.etree.ElementTree as ET

from dashboards.formatting import pct_interval
from dashboards.plots import (
    GREEN,
    GREY,
    NEUTRAL,
    RED,
    drawn_interval,
    exposure_plot,
    forest_plot,
    lift_colour,
    timeline_plot,
    variant_colours,
)
from tests.dashboards.conftest import METRIC_INFO

DIRECTIONS = {name: info.direction for name, info in METRIC_INFO.items()}

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def texts(svg: str) -> list[str]:
    return ["".join(t.itertext()) for t in parse(svg).iter(f"{SVG}text")]


def test_forest_plot_is_inline_svg_with_one_point_per_estimate(results):
    svg = forest_plot(results.results, DIRECTIONS)
    root = parse(svg)
    assert root.tag == f"{SVG}svg"
    assert root.attrib["width"].endswith("pt") and root.attrib["viewBox"]
    assert not svg.startswith("<?xml")
    assert len(re.findall(r'id="forest-estimate-\d+"', svg)) == len(results.results)
    labels = texts(svg)
    assert "CTR · treatment_a · CUPED" in labels
    cuped = results.results[1]
    assert f"+4.3%  [{pct_interval(cuped.ci_low_adjusted, cuped.ci_high_adjusted)}]" in labels


def test_forest_plot_handles_missing_and_nan_estimates(results):
    rows = [
        results.results[0].model_copy(update={"rel_lift": None, "ci_low": None, "ci_high": None}),
        results.results[1].model_copy(update={"rel_lift": float("nan"), "ci_low": float("nan")}),
    ]
    svg = forest_plot(rows, DIRECTIONS)
    assert texts(svg).count("no relative estimate") == 2
    assert not re.search(r"\bnan\b", svg, re.IGNORECASE)


def test_names_are_escaped_and_dollars_print_literally(results):
    row = results.results[0].model_copy(update={"variant": "<b>x</b> & $a$"})
    svg = forest_plot([row], DIRECTIONS)
    assert "<b>" not in svg
    assert "CTR · <b>x</b> & $a$ · delta" in texts(svg)


def test_ids_are_prefixed_per_figure_so_plots_can_share_a_page(results):
    colours = variant_colours(["control", "treatment_a", "treatment_b"], "control")
    figures = [
        forest_plot(results.results, DIRECTIONS),
        timeline_plot(results.timeline, "ctr", "calendar", colours),
        timeline_plot(results.timeline, "ctr", "exposure_day", colours),
        exposure_plot(results.daily, colours),
    ]
    ids = [i for svg in figures for i in re.findall(r'\sid="([^"]+)"', svg)]
    assert len(ids) == len(set(ids))
    for svg in figures:
        defined = set(re.findall(r'\sid="([^"]+)"', svg))
        referenced = set(re.findall(r'(?:href="#|url\(#)([^")]+)', svg))
        assert referenced <= defined


def test_output_is_deterministic(results):
    assert forest_plot(results.results, DIRECTIONS) == forest_plot(results.results, DIRECTIONS)


def test_colours_follow_the_metrics_direction():
    assert lift_colour(True, 0.1, "higher_is_better") == GREEN
    assert lift_colour(True, 0.1, "lower_is_better") == RED  # latency up: a significant loss, never green
    assert lift_colour(True, -0.1, "lower_is_better") == GREEN
    assert lift_colour(True, 0.1, "neutral") == NEUTRAL
    assert lift_colour(False, 0.3, "higher_is_better") == GREY


def test_a_rise_of_a_lower_is_better_metric_is_drawn_red(results):
    row = results.results[0].model_copy(update={"metric": "zero_result_rate"})
    svg = forest_plot([row], DIRECTIONS)
    assert f"stroke: {RED}" in svg and f"stroke: {GREEN}" not in svg


def test_drawn_interval_is_the_one_agreeing_with_the_colouring_p_value(results):
    adjusted = results.results[0]
    assert drawn_interval(adjusted) == (adjusted.ci_low_adjusted, adjusted.ci_high_adjusted, False)
    raw = adjusted.model_copy(update={"p_value_adjusted": None})
    assert drawn_interval(raw) == (raw.ci_low, raw.ci_high, False)
    unbounded = adjusted.model_copy(update={"ci_low_adjusted": None, "ci_high_adjusted": None})
    assert drawn_interval(unbounded) == (None, None, True)
    svg = forest_plot([unbounded], DIRECTIONS)
    assert "unbounded" in "".join(texts(svg)) and "stroke-dasharray" in svg


def test_timeline_plots_draw_each_treatment_with_a_band(results):
    colours = variant_colours(["control", "treatment_a", "treatment_b"], "control")
    svg = timeline_plot(results.timeline, "ctr", "calendar", colours)
    assert svg.count(f"fill: {colours['treatment_a']}") >= 1 and svg.count(f"stroke: {colours['treatment_b']}") >= 1
    assert "05-01" in texts(svg)
    by_day = timeline_plot(results.timeline, "ctr", "exposure_day", colours)
    assert "days since first exposure" in texts(by_day)


def test_time_plots_are_none_without_data(results):
    colours = variant_colours(["control", "t"], "control")
    assert timeline_plot([], "ctr", "calendar", colours) is None
    assert timeline_plot(results.timeline, "latency_p95", "calendar", colours) is None
    assert exposure_plot([], colours) is None


def test_exposure_plot_draws_a_bar_per_variant_and_day(results):
    colours = variant_colours(["control", "treatment_a", "treatment_b"], "control")
    svg = exposure_plot(results.daily, colours)
    days = len({p.date for p in results.daily})
    for variant in ("control", "treatment_a", "treatment_b"):
        assert svg.count(f"fill: {colours[variant]}") == days


def test_variant_colours_keep_control_grey_and_cycle():
    colours = variant_colours([f"t{i}" for i in range(8)] + ["control"], "control")
    assert colours["control"] == "#6e7781"
    assert colours["t0"] == colours["t6"] != colours["t1"]
