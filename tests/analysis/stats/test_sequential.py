"""Always-valid confidence sequences: consistent with their p-value, wider than fixed-horizon, safe to peek."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from analysis.errors import StatsInputError
from analysis.stats import MeanStats, QuantileStats, RatioStats, compare_means, compare_quantiles, compare_sequential


def _arms(normal_arms) -> tuple[MeanStats, MeanStats]:
    return MeanStats.from_values(normal_arms[0]), MeanStats.from_values(normal_arms[1])


def test_fixed_numbers(normal_arms):
    expected = {
        "control_mean": 9.97389,
        "treatment_mean": 10.63208,
        "abs_lift": 0.65819,
        "abs_ci_low": 0.06338,
        "abs_ci_high": 1.25300,
        "rel_lift": 0.06599,
        "ci_low": 0.00536,
        "ci_high": 0.12662,
        "p_value": 0.02348,
        "p_value_abs": 0.01996,
        "n_control": 400,
        "n_treatment": 300,
        "variance_reduction": None,
        "note": None,
    }
    result = dataclasses.asdict(compare_sequential(*_arms(normal_arms), tuning=700))
    assert [result.pop(k) for k in ("chance_to_win", "risk_control", "risk_treatment")] == [None] * 3
    assert result.pop("inference") == "relative"
    assert result == pytest.approx(expected, abs=1e-5)


def test_gbstats_halfwidth_formula(normal_arms):
    """Half-width = √(s²)·√(2(Nρ²+1)·log(√(Nρ²+1)/α)/(Nρ)²), s² = Var(diff)·N, ρ from the tuning N*."""
    control, treatment = _arms(normal_arms)
    alpha, tuning, n = 0.05, 2000.0, control.n + treatment.n
    rho2 = (-2 * np.log(alpha) + np.log(-2 * np.log(alpha) + 1)) / tuning
    s2 = (control.var / control.n + treatment.var / treatment.n) * n
    half = np.sqrt(s2 * 2 * (n * rho2 + 1) * np.log(np.sqrt(n * rho2 + 1) / alpha) / (n * n * rho2))
    result = compare_sequential(control, treatment, alpha=alpha, tuning=tuning)
    assert (result.abs_ci_high - result.abs_ci_low) / 2 == pytest.approx(half, rel=1e-10)


@pytest.mark.parametrize("shift", [0.0, 0.3, 0.55, 0.6, 0.65, 0.7, 1.0, 3.0])
def test_p_value_below_alpha_exactly_when_interval_excludes_zero(normal_arms, shift):
    control, treatment = normal_arms
    result = compare_sequential(MeanStats.from_values(control), MeanStats.from_values(treatment - 0.65 + shift))
    assert (result.p_value < 0.05) == (result.ci_low > 0 or result.ci_high < 0)
    assert (result.p_value_abs < 0.05) == (result.abs_ci_low > 0 or result.abs_ci_high < 0)
    assert 0.0 <= result.p_value <= 1.0


def test_wider_than_fixed_horizon_and_same_estimate(normal_arms):
    fixed, sequential = compare_means(*_arms(normal_arms)), compare_sequential(*_arms(normal_arms))
    assert sequential.abs_lift == fixed.abs_lift and sequential.rel_lift == fixed.rel_lift
    assert sequential.ci_high - sequential.ci_low > fixed.ci_high - fixed.ci_low
    assert sequential.p_value > fixed.p_value


def test_huge_effects_do_not_overflow():
    control = MeanStats.from_values(np.array([1.0, 1.1, 0.9, 1.05]))
    treatment = MeanStats.from_values(np.array([1e6, 1e6 + 1, 1e6 - 1, 1e6 + 0.5]))
    result = compare_sequential(control, treatment)
    assert result.p_value_abs == 0.0 and 0.0 <= result.p_value < 0.05


def test_quantiles_get_an_always_valid_interval():
    """Around the quantile delta method's estimate, wider than its fixed-horizon interval."""
    rng = np.random.default_rng(4)
    users = np.repeat(np.arange(400), 5)
    arms = [QuantileStats.from_values(rng.lognormal(0, 1, 2000) * scale, users, 0.9) for scale in (1.0, 1.2)]
    fixed, sequential = compare_quantiles(*arms), compare_sequential(*arms, tuning=800)
    assert sequential.rel_lift == fixed.rel_lift and sequential.inference == "relative"
    assert sequential.ci_high - sequential.ci_low > fixed.ci_high - fixed.ci_low
    assert (sequential.p_value < 0.05) == (sequential.ci_low > 0 or sequential.ci_high < 0)


def test_bad_tuning_raises(normal_arms):
    with pytest.raises(StatsInputError):
        compare_sequential(*_arms(normal_arms), tuning=0)
    with pytest.raises(StatsInputError):
        compare_sequential(RatioStats(3, 1, 1, 1, 1, 1), MeanStats(3, 1.0, 1.0))  # type: ignore[arg-type]


def test_peeking_daily_keeps_false_positives_at_alpha():
    """300 seeded A/A experiments, 20 looks each: any-look rejection ≤ α for the sequence, inflated for naive peeks."""
    rng = np.random.default_rng(12)
    sims, looks, per_look = 300, 20, 100
    x = rng.exponential(1.0, (sims, 2, looks * per_look))
    n = np.arange(1, looks + 1) * per_look
    sums = np.cumsum(x, axis=2)[:, :, n - 1]
    squares = np.cumsum(x * x, axis=2)[:, :, n - 1]
    sequential_hits = naive_hits = 0
    for s in range(sims):
        seq = naive = False
        for k in range(looks):
            arms = [MeanStats(int(n[k]), float(sums[s, a, k]), float(squares[s, a, k])) for a in (0, 1)]
            seq = seq or compare_sequential(*arms, tuning=2 * looks * per_look).p_value < 0.05
            naive = naive or compare_means(*arms).p_value < 0.05
        sequential_hits += seq
        naive_hits += naive
    assert sequential_hits / sims <= 0.05
    assert naive_hits / sims >= 0.15
