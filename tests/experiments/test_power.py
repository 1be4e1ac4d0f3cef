"""Sample size and MDE for per-user CTR tests, checked against statsmodels' power solvers."""

from __future__ import annotations

import math

import pytest
from statsmodels.stats.power import NormalIndPower, tt_ind_solve_power

from experiments.errors import PowerInputError
from experiments.power import ctr_variance, minimum_detectable_effect, power_of, sample_size


@pytest.mark.parametrize(("ctr", "mde", "alpha", "power"), [(0.08, 0.03, 0.05, 0.8), (0.2, 0.1, 0.01, 0.9)])
def test_plain_binomial_case_matches_statsmodels(ctr, mde, alpha, power):
    plan = sample_size(ctr, mde, alpha=alpha, power=power)
    effect_size = ctr * mde / math.sqrt(ctr * (1 - ctr))
    normal = NormalIndPower().solve_power(effect_size=effect_size, alpha=alpha, power=power, ratio=1.0)
    student = tt_ind_solve_power(effect_size=effect_size, alpha=alpha, power=power, ratio=1.0)
    assert plan.users_per_arm == math.ceil(normal)
    assert abs(plan.users_per_arm - student) <= 2
    assert plan.design_effect == 1.0 and plan.total_users == 2 * plan.users_per_arm


@pytest.mark.parametrize("alpha", [0.05, 0.01, 0.0125])
@pytest.mark.parametrize(("effect_size", "users_per_arm"), [(0.02, 1000), (0.05, 5000), (0.3, 40), (-0.1, 800)])
def test_power_of_equals_normal_ind_power(effect_size: float, users_per_arm: int, alpha: float) -> None:
    """The power function every plan solves with is statsmodels' two-sided normal power, both tails counted."""
    reference = NormalIndPower().power(abs(effect_size), nobs1=users_per_arm, alpha=alpha, ratio=1.0)
    assert power_of(effect_size, 1.0, users_per_arm, alpha=alpha) == pytest.approx(reference, rel=1e-9, abs=1e-12)


def test_fixed_numbers():
    assert sample_size(0.08, 0.03).users_per_arm == 200582
    clustered = sample_size(0.08, 0.03, variance=ctr_variance(0.08, 20, icc=0.05), daily_users=20000)
    assert clustered.design_effect == pytest.approx(1.95)
    assert clustered.per_user_variance == pytest.approx(0.0736 * 1.95 / 20)
    assert (clustered.users_per_arm, clustered.days) == (19557, 2)


def test_variance_models_agree():
    """Propensity variance V gives ICC = V / (p(1-p)); the per-user variance can also be given outright."""
    from_icc = ctr_variance(0.1, 10, icc=0.2)
    from_user_variance = ctr_variance(0.1, 10, user_variance=0.2 * 0.09)
    direct = ctr_variance(0.1, 10, per_user_variance=from_icc.per_user_variance)
    assert from_user_variance.per_user_variance == pytest.approx(from_icc.per_user_variance)
    assert direct.design_effect == pytest.approx(from_icc.design_effect) == pytest.approx(2.8)


def test_mde_inverts_sample_size():
    variance = ctr_variance(0.08, 12, icc=0.03)
    plan = sample_size(0.08, 0.05, variance=variance)
    mde = minimum_detectable_effect(0.08, plan.users_per_arm, variance=variance)
    assert mde == pytest.approx(0.05, rel=1e-3) and mde <= 0.05
    assert power_of(0.08 * 0.05, variance.per_user_variance, plan.users_per_arm) == pytest.approx(0.8, abs=1e-4)


def test_more_arms_more_users_and_days():
    plan = sample_size(0.08, 0.05, arms=3, daily_users=1000)
    assert plan.total_users == 3 * plan.users_per_arm
    assert plan.days == math.ceil(plan.total_users / 1000)


@pytest.mark.parametrize(
    "call",
    [
        lambda: sample_size(0.0, 0.03),
        lambda: sample_size(0.08, 0.0),
        lambda: sample_size(0.08, 0.03, alpha=1.0),
        lambda: sample_size(0.08, 0.03, power=0.04),
        lambda: sample_size(0.08, 0.03, arms=1),
        lambda: sample_size(0.08, 0.03, daily_users=0),
        lambda: ctr_variance(0.08, 0.5),
        lambda: ctr_variance(0.08, 5, icc=1.5),
        lambda: ctr_variance(0.08, 5, icc=0.1, user_variance=0.01),
        lambda: ctr_variance(0.08, 5, user_variance=0.5),
        lambda: ctr_variance(0.08, 5, per_user_variance=-1.0),
        lambda: minimum_detectable_effect(0.08, 0),
    ],
)
def test_impossible_inputs_raise(call):
    with pytest.raises(PowerInputError):
        call()


def test_more_treatments_are_planned_at_the_primary_familys_holm_level():
    """Three arms: two treatments in the primary's Holm family, each planned at alpha / 2 (statsmodels at 0.025)."""
    plan = sample_size(0.1, 0.05, arms=3)
    effect_size = 0.1 * 0.05 / math.sqrt(0.1 * 0.9)
    reference = NormalIndPower().solve_power(effect_size=effect_size, alpha=0.025, power=0.8, ratio=1.0)
    assert plan.test_alpha == 0.025 and plan.users_per_arm == math.ceil(reference)
    assert plan.users_per_arm > sample_size(0.1, 0.05).users_per_arm
    assert minimum_detectable_effect(0.1, plan.users_per_arm, arms=3) == pytest.approx(0.05, rel=1e-3)


def test_cuped_variance_reduction_shrinks_the_sample():
    plain, cuped = sample_size(0.08, 0.03), sample_size(0.08, 0.03, cuped_reduction=0.4)
    assert cuped.users_per_arm == pytest.approx(plain.users_per_arm * 0.6, rel=1e-4)
    assert minimum_detectable_effect(0.08, 10_000, cuped_reduction=0.75) == pytest.approx(
        minimum_detectable_effect(0.08, 10_000) / 2, rel=1e-6
    )


@pytest.mark.parametrize(
    "call",
    [
        lambda: sample_size(0.08, 1e-300),
        lambda: sample_size(0.08, float("inf")),
        lambda: sample_size(0.08, 0.03, cuped_reduction=1.0),
        lambda: minimum_detectable_effect(0.08, 100, cuped_reduction=-0.1),
    ],
)
def test_absurd_plans_are_refused_with_a_message(call):
    with pytest.raises(PowerInputError):
        call()
