"""Segments: rows per attribute value corrected across values, and the primary metric's differential impact."""

from __future__ import annotations

import numpy as np
import pytest

from analysis import AnalysisPlan, ExperimentData, Moments, analyze
from analysis.segments import MAX_VALUES, OTHER, top_values

COLUMNS = ("impressions", "clicks")


def _users(rng: np.random.Generator, n: int, ctr: float) -> np.ndarray:
    impressions = (rng.poisson(4, n) + 1) * 10
    return np.column_stack([impressions, rng.binomial(impressions, ctr)]).astype(float)


def _data(lifts: dict[str, float], users: int = 1500, seed: int = 3) -> ExperimentData:
    """Arms split into platforms; treatment's CTR is `lifts[platform]` times control's (0.10)."""
    rng = np.random.default_rng(seed)
    segments: dict[str, dict[str, Moments]] = {}
    rows: dict[str, list[np.ndarray]] = {"control": [], "treatment": []}
    for platform, lift in lifts.items():
        for arm, ctr in (("control", 0.10), ("treatment", 0.10 * lift)):
            values = _users(rng, users, ctr)
            rows[arm].append(values)
            segments.setdefault(platform, {})[arm] = Moments.from_values(COLUMNS, values)
    arms = {arm: Moments.from_values(COLUMNS, np.vstack(parts)) for arm, parts in rows.items()}
    return ExperimentData(source="test", arms=arms, segments={"platform": segments})


PLAN = AnalysisPlan("exp", segments=("platform",))


def test_a_segment_whose_effect_differs_is_flagged() -> None:
    results = analyze(_data({"web": 1.0, "ios": 1.0, "android": 0.7}), PLAN)
    rows = {r.segment: r for r in results.segments}
    assert set(rows) == {"web", "ios", "android"}
    assert all(r.attribute == "platform" and r.metric == "ctr" and r.role == "primary" for r in rows.values())
    android = rows["android"]
    assert android.rel_lift == pytest.approx(-0.3, abs=0.05) and android.significant
    assert android.differential is not None and android.differential.flagged
    assert android.differential.difference == pytest.approx(android.rel_lift - android.differential.rest_rel_lift)
    # the other segments differ from a rest that contains android, the other way and by less
    for other in ("web", "ios"):
        difference = rows[other].differential.difference
        assert 0 < difference < abs(android.differential.difference)
    # each value's p-value is corrected across the values (Holm): never smaller than its own
    for row in rows.values():
        assert row.p_value_adjusted >= row.p_value
        assert row.differential.p_value_adjusted >= row.differential.p_value


def test_an_aa_experiment_flags_no_segment() -> None:
    flags = 0
    for seed in range(20):
        results = analyze(_data(dict.fromkeys(("web", "ios", "android", "other"), 1.0), users=400, seed=seed), PLAN)
        flags += any(r.differential.flagged for r in results.segments)
    assert flags <= 2  # Holm across the four values keeps the family's error at alpha = 0.05 (1 expected of 20)


def test_segments_need_metrics_with_per_user_columns() -> None:
    plan = AnalysisPlan("exp", secondary_metrics=("latency_p95",), segments=("platform",))
    results = analyze(_data({"web": 1.0, "ios": 1.0}), plan)
    assert {r.metric for r in results.segments} == {"ctr"}


def test_rare_values_are_pooled() -> None:
    one = {"control": Moments.from_values(COLUMNS, np.ones((1, 2)))}
    by_value = {f"v{i:02d}": one for i in range(MAX_VALUES + 5)} | {"": one}
    kept = top_values(by_value)
    assert len(kept) == MAX_VALUES + 1 and kept[OTHER]["control"].n == 6 and "(none)" in kept
