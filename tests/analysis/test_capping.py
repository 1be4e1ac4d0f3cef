"""Capping per-user values: the numpy definition the SQL matches, and what it buys on heavy-tailed data."""

from __future__ import annotations

import numpy as np
import pytest

from analysis import AnalysisPlan, PerUserFile, analyze
from analysis.capping import apply_cap, cap_value
from analysis.measures import Capping
from analysis.metric_files import load_metric_files
from analysis.stats import MeanStats, compare_means


def test_percentile_cap_is_the_inverted_cdf_of_the_pooled_values() -> None:
    values = np.array([0.0, 2500.0, 4000.0, 5000.0])
    assert cap_value(values, Capping("percentile", 0.75)) == 4000.0
    assert cap_value(values, Capping("percentile", 1.0)) == 5000.0
    capped, cap, above = apply_cap(values, Capping("value", 3000))
    assert (capped.tolist(), cap, above) == ([0.0, 2500.0, 3000.0, 3000.0], 3000, 2)


def test_a_zero_percentile_caps_nothing() -> None:
    """Most users without any dwell: the 90th percentile is 0, and capping there would erase the metric."""
    values = np.array([0.0] * 95 + [10.0] * 5)
    capped, cap, above = apply_cap(values, Capping("percentile", 0.9))
    assert cap is None and above == 0 and capped.sum() == 50.0


def _heavy(rng: np.random.Generator, n: int) -> np.ndarray:
    """Dwell per user: most users a few seconds, a Pareto tail (shape 1.2: infinite variance) of marathons."""
    return rng.pareto(1.2, n) * 2000.0


def test_capping_keeps_aa_false_positives_at_alpha_and_narrows_the_interval() -> None:
    """Heavy-tailed A/A: the 99th-percentile cap (pooled arms) keeps the test at its level and narrows the CI."""
    rng = np.random.default_rng(20)
    runs, n = 400, 1000
    rejected = {"raw": 0, "capped": 0}
    widths: dict[str, list[float]] = {"raw": [], "capped": []}
    for _ in range(runs):
        control, treatment = _heavy(rng, n), _heavy(rng, n)
        capped, _, _ = apply_cap(np.concatenate([control, treatment]), Capping("percentile", 0.99))
        for label, (c, t) in {"raw": (control, treatment), "capped": (capped[:n], capped[n:])}.items():
            result = compare_means(MeanStats.from_values(c), MeanStats.from_values(t))
            rejected[label] += result.p_value < 0.05
            widths[label].append(result.ci_high - result.ci_low)
    assert 0.025 <= rejected["capped"] / runs <= 0.075  # 95 % band of 400 runs at alpha = 0.05: ± 0.022
    assert rejected["raw"] / runs > 0.1  # uncapped, the relative lift's delta method is not even calibrated
    assert np.median(widths["capped"]) < 0.6 * np.median(widths["raw"])


def test_a_per_user_file_is_capped_like_the_store(tmp_path) -> None:
    metrics = tmp_path / "m.yaml"
    metrics.write_text(
        "version: 1\nmetrics:\n  - {name: capped_dwell, type: mean, direction: higher_is_better,\n"
        "     measure: {event: dwell, aggregate: sum, column: dwell_ms, per_user_column: dwell_ms},\n"
        "     capping: {percentile: 0.75}}\n"
    )
    users = tmp_path / "users.csv"
    users.write_text("user_id,variant,dwell_ms\na,control,5000\nb,treatment,4000\nc,treatment,2500\nd,control,0\n")
    plan = AnalysisPlan("x", primary_metric="capped_dwell", catalog=load_metric_files([metrics]))
    data = PerUserFile(users).load(plan)
    assert data.arms["control"].total("dwell_ms__p0_75") == 4000.0  # 5000 capped at the pooled p75, 4000
    results = analyze(data, plan)
    (cap,) = results.metrics["capped_dwell"].caps
    assert (cap.column, cap.value, cap.share_capped) == ("dwell_ms__p0_75", 4000.0, pytest.approx(0.25))
    assert results.metrics["capped_dwell"].capping == "at the 75th percentile"
