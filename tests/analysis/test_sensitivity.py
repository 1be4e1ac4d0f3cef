"""`users_for_power` against statsmodels' power solver, and its reading of interleaving rows."""

from __future__ import annotations

import math

import pytest
from statsmodels.stats.power import NormalIndPower

from analysis.results import MetricResult
from analysis.sensitivity import users_for_power


def _row(method: str, delta: float, se: float, n_control: int, n_treatment: int) -> MetricResult:
    half = 1.959963984540054 * se
    return MetricResult(
        metric="ctr", variant="treatment", method=method, control_mean=0.1, treatment_mean=0.1 + delta,
        abs_lift=delta, abs_ci_low=delta - half, abs_ci_high=delta + half, rel_lift=None, ci_low=None,
        ci_high=None, p_value=0.5, n_control=n_control, n_treatment=n_treatment,
    )  # fmt: skip


@pytest.mark.parametrize(("sigma", "delta", "n_arm"), [(0.3, 0.01, 1000), (1.0, 0.05, 250), (0.05, -0.002, 4000)])
def test_ab_row_matches_statsmodels_two_sample_power(sigma: float, delta: float, n_arm: int) -> None:
    """Observed on n users per arm with per-user sd σ: se = σ·√(2/n); the total equals 2 × statsmodels' n per arm."""
    row = _row("delta", delta, sigma * math.sqrt(2 / n_arm), n_arm, n_arm)
    per_arm = NormalIndPower().solve_power(effect_size=abs(delta) / sigma, alpha=0.05, power=0.8, ratio=1.0)
    assert users_for_power(row) == pytest.approx(2 * per_arm, rel=1e-3)  # statsmodels adds the far tail's ~0


def test_interleaving_row_counts_each_user_once() -> None:
    """Every user saw both rankers: n users with per-user sd σ give se = σ/√n, needing (z+z)²σ²/Δ² users."""
    sigma, delta, n = 0.8, 0.05, 900
    row = _row("interleaving", delta, sigma / math.sqrt(n), n, n)
    assert users_for_power(row) == pytest.approx((1.959964 + 0.841621) ** 2 * sigma**2 / delta**2, rel=1e-5)


def test_no_effect_or_no_interval_gives_none() -> None:
    assert users_for_power(_row("delta", 0.0, 0.01, 100, 100)) is None
    assert users_for_power(_row("delta", 0.01, 0.01, 100, 100).model_copy(update={"abs_ci_low": None})) is None
