"""The report of schema-3 results: segments with a flagged differential impact, the Bayesian engine, capping."""

from __future__ import annotations

import html
import re

import numpy as np

from analysis import AnalysisPlan, ExperimentData, Moments, PerUserFile, analyze
from analysis.metric_files import load_metric_files
from dashboards import render_html
from dashboards.tables import flagged_segments, results_csv, segment_tables

COLUMNS = ("impressions", "clicks")


def _data(users: int = 1500, seed: int = 4) -> ExperimentData:
    """Platforms web and ios without an effect, android with −35 % CTR in treatment."""
    rng = np.random.default_rng(seed)
    segments: dict[str, dict[str, Moments]] = {}
    rows: dict[str, list[np.ndarray]] = {"control": [], "treatment": []}
    for platform, lift in (("web", 1.0), ("ios", 1.0), ("android", 0.65)):
        for arm, ctr in (("control", 0.1), ("treatment", 0.1 * lift)):
            impressions = (rng.poisson(4, users) + 1) * 10
            values = np.column_stack([impressions, rng.binomial(impressions, ctr)]).astype(float)
            rows[arm].append(values)
            segments.setdefault(platform, {})[arm] = Moments.from_values(COLUMNS, values)
    arms = {arm: Moments.from_values(COLUMNS, np.vstack(parts)) for arm, parts in rows.items()}
    return ExperimentData(source="test", arms=arms, segments={"platform": segments})


def _text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def test_a_flagged_segment_is_the_segments_headline_and_a_decision_reason() -> None:
    results = analyze(_data(), AnalysisPlan("exp", segments=("platform",)))
    flagged = flagged_segments(results)
    assert flagged[0].startswith("platform = android (treatment): CTR −3")
    (decision,) = results.decisions
    differs = [reason for reason in decision.reasons if reason.startswith("the effect differs")]
    assert differs[0].startswith("the effect differs in platform = android: ctr -3")  # the largest difference first
    text = _text(render_html(results))
    assert "The effect differs by segment: platform = android (treatment)" in text
    assert "Differential impact tests whether the primary metric's lift" in text
    (table,) = segment_tables(results)
    assert [row.segment for row in table.rows] == ["android", "ios", "web"]  # most users first, then by name
    assert table.rows[0].flagged and "vs the rest" in table.rows[0].differential


def test_bayesian_results_show_chance_to_win_and_risk_not_p_values() -> None:
    results = analyze(_data(), AnalysisPlan("exp", engine="bayesian"))
    text = _text(render_html(results))
    assert "chance to win" in text and "credible interval" in text and "risk ship / keep" in text
    assert "adj. p" not in text and "Multiple comparisons" not in text
    assert "Bayesian engine Rows read the relative lift's Gaussian posterior under a flat prior" in text
    header, first = results_csv(results).splitlines()[:2]
    assert header.endswith("engine,chance_to_win,risk_control,risk_treatment,note")
    fields = dict(zip(header.split(","), first.split(","), strict=True))
    assert fields["engine"] == "bayesian" and float(fields["chance_to_win"]) < 1e-6  # −35 % on a third of users
    assert float(fields["risk_treatment"]) > 0.1 and fields["p_value"] == ""


def test_percent_metrics_read_as_percentages_and_caps_are_noted(tmp_path) -> None:
    metrics = tmp_path / "m.yaml"
    metrics.write_text(
        "version: 1\nmetrics:\n  - {name: capped_clicks, type: mean, direction: higher_is_better,\n"
        "     measure: {event: click, per_user_column: clicks}, capping: {value: 3}}\n"
    )
    users = tmp_path / "users.csv"
    rows = [f"u{i},{('control', 'treatment')[i % 2]},{10 + i % 7},{i % 5}" for i in range(200)]
    users.write_text("user_id,variant,impressions,clicks\n" + "\n".join(rows) + "\n")
    plan = AnalysisPlan("exp", secondary_metrics=("capped_clicks",), catalog=load_metric_files([metrics]))
    results = analyze(PerUserFile(users).load(plan), plan)
    text = _text(render_html(results))
    assert "Capping Each user's value is capped before the statistics" in text
    assert "capped clicks at 3: 3 (20.0% of users)" in text  # clicks of 4 for one user in five
    control_ctr = results.preferred_row("ctr", "treatment").control_mean
    assert f"{control_ctr * 100:.1f}%" in text  # CTR's format is percent: its arm values read as shares
