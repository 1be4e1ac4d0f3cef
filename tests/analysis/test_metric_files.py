"""Metric definitions in YAML: the shipped and example files load; every mistake is `file:line field: message`."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.catalog import MetricCatalog
from analysis.errors import MetricDefinitionError
from analysis.measures import Measure
from analysis.metric_files import builtin_catalog, load_catalog, load_metric_files
from analysis.metrics import MeanMetric, QuantileMetric, RatioMetric

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "metrics"
ATTRIBUTES = ("platform", "country")

GOOD = """\
version: 1
metrics:
  - name: top3_ctr
    type: ratio
    numerator: {event: click, filters: [{column: position, op: "<=", value: 3}]}
    denominator: {event: impression, filters: [{column: position, op: "<=", value: 3}]}
    direction: higher_is_better
"""


def _issues(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "m.yaml"
    path.write_text(text)
    with pytest.raises(MetricDefinitionError) as caught:
        load_metric_files([path], ATTRIBUTES)
    return [str(issue).removeprefix(f"{path}:") for issue in caught.value.issues]


def test_the_eleven_builtins_are_definitions_like_any_other() -> None:
    catalog = builtin_catalog()
    assert list(catalog) == ["ctr", "dwell_per_click", "clicks_per_user", "searches_per_user", "dwell_per_user",
                             "search_success_rate", "dwell_p50", "dwell_p90", "latency_p95", "zero_result_rate",
                             "error_rate"]  # fmt: skip
    ctr = catalog.get("ctr")
    assert isinstance(ctr, RatioMetric)
    assert ctr.numerator == Measure("clicks", "click") and ctr.denominator == Measure("impressions", "impression")
    assert ctr.pre_columns == ("pre_clicks", "pre_impressions")
    errors = catalog.get("error_rate")
    assert isinstance(errors, RatioMetric) and errors.numerator.filters[0].value == 500
    assert catalog.directions()["latency_p95"] == "lower_is_better"
    assert catalog.builtin == tuple(catalog)


def test_examples_load_beside_the_builtins() -> None:
    catalog = load_catalog(EXAMPLES, ATTRIBUTES)
    assert isinstance(catalog, MetricCatalog) and len(catalog) == 17
    capped = catalog.get("capped_dwell_per_user")
    assert isinstance(capped, MeanMetric) and capped.columns == ("dwell_ms__p0_999",)
    assert capped.measure.same_as(builtin_catalog().get("dwell_per_user").measure)  # one per-user column, shared
    assert catalog.get("clicking_users").kind == "proportion"
    assert catalog.get("clicking_users").pre_columns == ()
    assert catalog.get("distinct_queries_per_user").pre_columns == ("pre_searches",)
    ios = catalog.get("ios_latency_p95")
    assert isinstance(ios, QuantileMetric) and ios.measure.filters[0].attribute == "platform"
    assert catalog.files["top3_ctr"] == str(EXAMPLES / "search_quality.yaml")


def test_a_missing_folder_is_the_builtins_alone(tmp_path: Path) -> None:
    assert list(load_catalog(tmp_path / "absent")) == list(builtin_catalog())


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (("numerator: {event: click", "numerator: {event: clik"),
         "5 metrics[0].numerator.event: unknown event type 'clik' (known: search, impression, click, dwell)"),
        (("column: position, op: \"<=\", value: 3}]}\n    denominator", "column: posn, op: \"<=\", value: 3}]}\n"
                                                                       "    denominator"),
         "5 metrics[0].numerator.filters[0].column: click events have no column 'posn'"),
        (("{column: position, op: \"<=\", value: 3}]}\n    denominator",
          "{attribute: platform, op: \"=\", value: ios}]}\n    denominator"),
         "5 metrics[0].numerator.filters[0].attribute: user attributes are logged on search events only"),
        (("value: 3}]}\n    direction", "value: '3'}]}\n    direction"),
         "6 metrics[0].denominator.filters[0].column: column 'position' holds numbers: compare it with numbers"),
        (("    denominator: {event: impression, filters: [{column: position, op: \"<=\", value: 3}]}\n", ""),
         "3 metrics[0].denominator: a ratio metric needs a denominator"),
        (("direction: higher_is_better", "direction: higher_is_better\n    capping: {percentile: 1.5}"),
         "8 metrics[0].capping.percentile: input should be less than or equal to 1"),
        (("direction: higher_is_better", "direction: higher_is_better\n    capping: {percentile: 0}"),
         "8 metrics[0].capping.percentile: input should be greater than 0"),
        (("direction: higher_is_better", "direction: higher_is_better\n    capping: {}"),
         "8 metrics[0].capping: capping takes exactly one of `percentile` (in (0, 1]) or `value` (> 0)"),
        (("direction: higher_is_better", "direction: up"), "7 metrics[0].direction: input should be 'higher_is_b"),
        (("type: ratio", "type: ratio\n    windw_hours: 3"), "5 metrics[0].windw_hours: unknown key (did you mean "
                                                           "'window_hours'?)"),
        (("name: top3_ctr", "name: ctr"), "3 metrics[0].name: metric 'ctr' is already defined at "
                                          "analysis/builtin_metrics.yaml:5"),
        (("version: 1", "version: 2"), "1 version: input should be 1"),
        (("numerator: {event: click", "numerator: {event: click, aggregate: sum"),
         "5 metrics[0].numerator.column: aggregate sum needs a `column`"),
        (("numerator: {event: click", "numerator: {event: click, aggregate: sum, column: result_image_id"),
         "5 metrics[0].numerator.column: column 'result_image_id' of click events is text, not a number"),
        (("numerator: {event: click", "numerator: {event: click, per_user_column: impressions"),
         "5 metrics[0].numerator: per-user column 'impressions' already counts something else (ctr, "
         "analysis/builtin_metrics.yaml:10)"),
        (("direction: higher_is_better", "direction: higher_is_better\n    pre_period: latency_p95"),
         "8 metrics[0].pre_period: 'latency_p95' is a quantile metric: a ratio needs a covariate of its kind"),
        (("    type: ratio", "    type: ratio\n    type: mean"), "5 metrics[0].type: duplicate key (first at line 4)"),
        (("version: 1\n", "version: 1\nx: &a [1]\ny: *a\n"), "2 y: anchors and aliases (&name, *name) are not allowed"),
    ],
)  # fmt: skip
def test_bad_definitions_name_line_and_field(tmp_path: Path, edit: tuple[str, str], expected: str) -> None:
    old, new = edit
    assert old in GOOD
    issues = _issues(tmp_path, GOOD.replace(old, new))
    assert any(issue.startswith(expected) for issue in issues), issues


def test_a_filter_on_an_attribute_nobody_declared(tmp_path: Path) -> None:
    text = """\
version: 1
metrics:
  - name: web_searches
    type: mean
    measure: {event: search, filters: [{attribute: device_class, op: "=", value: web}]}
    direction: neutral
"""
    assert _issues(tmp_path, text) == [
        "5 metrics[0].measure.filters[0].attribute: unknown user attribute 'device_class' "
        "(declared in setting analysis.attributes: country, platform)"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("version: 1\nmetrics: [\n", "3: while parsing a flow node; expected the node content"),
        ("", "1: file is empty"),
        (
            "version: 1\nmetrics: " + "[" * 40 + "]" * 40 + "\n",
            "2 metrics" + "[0]" * 16 + ": nested deeper than 16 levels",
        ),
        ("version: 1\nmetrics: []\n", "2 metrics: must have at least 1 item(s)"),
    ],
)
def test_unreadable_files(tmp_path: Path, text: str, expected: str) -> None:
    issues = _issues(tmp_path, text)
    assert any(issue.startswith(expected) for issue in issues), issues


def test_a_huge_file_is_refused_before_parsing(tmp_path: Path) -> None:
    assert _issues(tmp_path, "#" * 1_000_001) == ["1: file is 1,000,001 bytes; metric files are at most 1,000,000"]


def test_measures_refuse_what_the_events_table_cannot_answer() -> None:
    """The runtime types check again: no SQL can be generated from an unchecked name."""
    with pytest.raises(ValueError, match="unknown event type"):
        Measure("x", "purchase")
    with pytest.raises(ValueError, match="no column 'user_id; DROP TABLE x'"):
        Measure("x", "click", "count_distinct", "user_id; DROP TABLE x")
