import re
import xml.etree.ElementTree as ET

import pytest

from analysis.results import DailyPoint
from dashboards.plots import cumulative_lift_plot, cumulative_lifts, exposure_plot, forest_plot, variant_colours

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def texts(svg: str) -> list[str]:
    return ["".join(t.itertext()) for t in parse(svg).iter(f"{SVG}text")]


def test_forest_plot_is_inline_svg_with_one_point_per_estimate(results):
    svg = forest_plot(results.results)
    root = parse(svg)
    assert root.tag == f"{SVG}svg"
    assert root.attrib["width"].endswith("pt") and root.attrib["viewBox"]
    assert not svg.startswith("<?xml")
    assert len(re.findall(r'id="forest-estimate-\d+"', svg)) == len(results.results)
    labels = texts(svg)
    assert "CTR · treatment_a · CUPED" in labels
    assert "+4.3%  [+2.7% to +5.9%]" in labels


def test_forest_plot_handles_missing_and_nan_estimates(results):
    rows = [
        results.results[0].model_copy(update={"rel_lift": None, "ci_low": None, "ci_high": None}),
        results.results[1].model_copy(update={"rel_lift": float("nan"), "ci_low": float("nan")}),
    ]
    svg = forest_plot(rows)
    assert texts(svg).count("no estimate") == 2
    assert not re.search(r"\bnan\b", svg, re.IGNORECASE)


def test_names_are_escaped_and_dollars_print_literally(results):
    row = results.results[0].model_copy(update={"variant": "<b>x</b> & $a$"})
    svg = forest_plot([row])
    assert "<b>" not in svg
    assert "CTR · <b>x</b> & $a$ · delta" in texts(svg)


def test_ids_are_prefixed_per_figure_so_plots_can_share_a_page(results):
    colours = variant_colours(["control", "treatment_a", "treatment_b"], "control")
    figures = [
        forest_plot(results.results),
        cumulative_lift_plot(results.daily, "control", colours),
        exposure_plot(results.daily, colours),
    ]
    ids = [i for svg in figures for i in re.findall(r'\sid="([^"]+)"', svg)]
    assert len(ids) == len(set(ids))
    for svg in figures:
        defined = set(re.findall(r'\sid="([^"]+)"', svg))
        referenced = set(re.findall(r'(?:href="#|url\(#)([^")]+)', svg))
        assert referenced <= defined


def test_output_is_deterministic(results):
    assert forest_plot(results.results) == forest_plot(results.results)


def point(date: str, variant: str, value: float | None, users: int = 10) -> DailyPoint:
    return DailyPoint(date=date, variant=variant, users=users, cumulative_users=users, cumulative_value=value)


def test_cumulative_lifts_divide_by_control_day_by_day():
    daily = [
        point("2024-05-02", "control", 0.05),
        point("2024-05-01", "control", 0.0),
        point("2024-05-01", "t", 0.06),
        point("2024-05-02", "t", 0.055),
        point("2024-05-03", "t", 0.05),
        point("2024-05-02", "empty", None),
    ]
    dates, series = cumulative_lifts(daily, "control")
    assert dates == ["2024-05-01", "2024-05-02", "2024-05-03"]
    assert list(series) == ["t"]
    assert series["t"][0] is None  # zero control value
    assert series["t"][1] == pytest.approx(0.1)
    assert series["t"][2] is None  # no control value that day


def test_time_plots_are_none_without_data():
    colours = variant_colours(["control", "t"], "control")
    assert cumulative_lift_plot([], "control", colours) is None
    assert cumulative_lift_plot([point("2024-05-01", "t", 0.1)], "control", colours) is None
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
