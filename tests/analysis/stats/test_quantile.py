"""Quantile delta method (Deng, Knoblich & Lu 2018) on event values clustered by user."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from analysis.errors import StatsInputError
from analysis.stats import (
    BASELINE_ZERO,
    NOT_ENOUGH_DATA,
    ZERO_VARIANCE,
    QuantileStats,
    RatioStats,
    compare_quantiles,
    outer_levels,
)


def _clustered(rng: np.random.Generator, users: int, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Dwell-like values: lognormal with a per-user random effect, 1 + Poisson(9) events per user."""
    counts = 1 + rng.poisson(9, users)
    user = np.repeat(np.arange(users), counts)
    effect = rng.normal(0.0, 0.6, users)[user]
    return scale * np.exp(1.0 + effect + rng.normal(0.0, 0.5, user.size)), user


def test_from_values_is_what_the_sql_computes():
    rng = np.random.default_rng(2)
    values, user = _clustered(rng, 200)
    stats = QuantileStats.from_values(values, user * 7 + 3, 0.9)  # any user labels
    quantile = np.quantile(values, 0.9, method="inverted_cdf")
    below = np.bincount(user, weights=values <= quantile)
    per_user = np.bincount(user).astype(float)
    assert stats.quantile == quantile
    assert stats.counts == RatioStats.from_values(below, per_user)
    assert (stats.level_low, stats.level_high) == outer_levels(0.9, stats.counts)
    assert stats.level_low < 0.9 < stats.level_high
    assert stats.lower == np.quantile(values, stats.level_low, method="inverted_cdf")
    assert stats.n == 200 and stats.n_events == values.size


def test_one_event_per_user_matches_iid_asymptotics():
    """With no clustering, Var(q̂) ≈ p(1−p) / (N·f(q)²); for Exp(1) at p = 0.5, f(q) = 0.5."""
    rng = np.random.default_rng(4)
    n = 20000
    stats = QuantileStats.from_values(rng.exponential(1.0, n), np.arange(n), 0.5)
    assert stats.var == pytest.approx(0.25 / (n * 0.25), rel=0.15)


def test_clustering_inflates_the_variance():
    rng = np.random.default_rng(5)
    values, user = _clustered(rng, 400)
    stats = QuantileStats.from_values(values, user, 0.5)
    iid_fraction_var = 0.25 / values.size
    assert stats.counts.var / stats.n > 2 * iid_fraction_var


def test_fixed_numbers():
    rng = np.random.default_rng(6)
    control = QuantileStats.from_values(*_clustered(rng, 300), 0.9)
    treatment = QuantileStats.from_values(*_clustered(rng, 320, scale=1.1), 0.9)
    expected = {
        "control_mean": 7.64970,
        "treatment_mean": 7.66010,
        "abs_lift": 0.01040,
        "abs_ci_low": -1.10200,
        "abs_ci_high": 1.12280,
        "rel_lift": 0.00136,
        "ci_low": -0.14415,
        "ci_high": 0.14687,
        "p_value": 0.98539,
        "p_value_abs": 0.98538,
        "n_control": 300,
        "n_treatment": 320,
        "variance_reduction": None,
        "note": None,
    }
    result = dataclasses.asdict(compare_quantiles(control, treatment))
    assert [result.pop(k) for k in ("chance_to_win", "risk_control", "risk_treatment")] == [None] * 3
    assert result.pop("inference") == "relative"
    assert result == pytest.approx(expected, abs=1e-5)


def test_interval_coverage_by_simulation():
    """200 seeded A/A experiments of clustered values: 95 % intervals of p50 and p90 differences cover 0."""
    rng = np.random.default_rng(8)
    sims = 200
    covered = {0.5: 0, 0.9: 0}
    for _ in range(sims):
        arms = [_clustered(rng, 300), _clustered(rng, 300)]
        for p in covered:
            result = compare_quantiles(*(QuantileStats.from_values(v, u, p) for v, u in arms))
            covered[p] += result.abs_ci_low <= 0 <= result.abs_ci_high and result.ci_low <= 0 <= result.ci_high
    for p, hits in covered.items():
        assert 0.92 <= hits / sims <= 0.98, (p, hits / sims)


def test_degenerate_arms():
    many_users = np.arange(50)
    tied = QuantileStats.from_values(np.full(50, 3.0), many_users, 0.5)
    spread = QuantileStats.from_values(np.arange(1.0, 51.0), many_users, 0.5)
    zeros = QuantileStats.from_values(np.r_[np.zeros(40), np.arange(10.0)], many_users, 0.5)
    single = QuantileStats.from_values(np.array([1.0, 2.0]), np.array([0, 0]), 0.5)
    assert compare_quantiles(tied, tied).note == ZERO_VARIANCE
    assert compare_quantiles(tied, spread).note is None  # one tied arm: the other arm's variance carries the test
    baseline_zero = compare_quantiles(zeros, spread)
    assert baseline_zero.note == BASELINE_ZERO and baseline_zero.rel_lift is None
    assert baseline_zero.inference == "absolute" and baseline_zero.p_value == baseline_zero.p_value_abs is not None
    result = compare_quantiles(single, spread)
    assert result.note == NOT_ENOUGH_DATA and result.control_mean == 1.0 and result.p_value is None


def test_malformed_inputs_raise():
    stats = QuantileStats.from_values(np.arange(1.0, 51.0), np.arange(50), 0.5)
    with pytest.raises(StatsInputError):
        compare_quantiles(stats, QuantileStats.from_values(np.arange(1.0, 51.0), np.arange(50), 0.9))
    with pytest.raises(StatsInputError):
        dataclasses.replace(stats, level_low=0.6)
    with pytest.raises(StatsInputError):
        dataclasses.replace(stats, lower=1e9)
    with pytest.raises(StatsInputError):
        QuantileStats.from_values(np.ones(3), np.ones(4), 0.5)
    with pytest.raises(StatsInputError):
        outer_levels(1.0, stats.counts)
