"""Multiple-comparison corrections, checked against statsmodels; None rows pass through."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from analysis.errors import StatsInputError
from analysis.stats import adjust_p_values, adjusted_interval

P_VALUES = [0.001, 0.04, 0.03, 0.2, 0.011]


@pytest.mark.parametrize(("method", "reference"), [("holm", "holm"), ("bh", "fdr_bh")])
def test_matches_statsmodels(method, reference):
    assert adjust_p_values(P_VALUES, method) == pytest.approx(list(multipletests(P_VALUES, method=reference)[1]))


def test_fixed_numbers():
    assert adjust_p_values(P_VALUES) == pytest.approx([0.005, 0.09, 0.09, 0.2, 0.044], abs=1e-5)
    assert adjust_p_values(P_VALUES, "bh") == pytest.approx([0.005, 0.05, 0.05, 0.2, 0.0275], abs=1e-5)


def test_none_passes_through_and_does_not_count():
    adjusted = adjust_p_values([None, 0.01, None, 0.04], "holm")
    assert adjusted[0] is None and adjusted[2] is None
    assert adjusted[1:4:2] == pytest.approx([0.02, 0.04])
    assert adjust_p_values([None, None]) == [None, None]
    assert adjust_p_values([]) == []


def test_malformed_inputs_raise():
    with pytest.raises(StatsInputError):
        adjust_p_values([0.1, 1.2])
    with pytest.raises(StatsInputError):
        adjust_p_values([0.1, float("nan")])
    with pytest.raises(StatsInputError):
        adjust_p_values([0.1], "bonferroni")  # type: ignore[arg-type]


def test_adjusted_interval_is_growthbooks_and_agrees_with_the_adjusted_p_value():
    """GrowthBook `adjustedCI`: width = z(1 - alpha/2) * |lift| / z(1 - p_adj/2), never narrower than the CI."""
    lift, low, high = 0.05, 0.01, 0.09
    for p_adjusted in (0.01, 0.049, 0.051, 0.3):
        adj_low, adj_high = adjusted_interval(lift, low, high, p_adjusted, 0.05)
        width = 1.959963984540054 * lift / NormalDist().inv_cdf(1 - p_adjusted / 2)
        assert (adj_low, adj_high) == pytest.approx((min(low, lift - width), max(high, lift + width)))
        assert (adj_low > 0) == (p_adjusted < 0.05)
    assert adjusted_interval(lift, low, high, 0.9999995, 0.05) is None  # no finite interval agrees with p ≈ 1
    assert adjusted_interval(0.0, -0.02, 0.02, 0.5, 0.05) == (-0.02, 0.02)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize(("method", "reference"), [("holm", "holm"), ("bh", "fdr_bh")])
def test_matches_statsmodels_on_random_families_with_ties(seed, method, reference):
    rng = np.random.default_rng(seed)
    p = np.round(rng.uniform(0, 0.2, 12) ** 2, 3).tolist()  # rounded: ties
    assert adjust_p_values(p, method) == pytest.approx(list(multipletests(p, method=reference)[1]), abs=1e-12)
