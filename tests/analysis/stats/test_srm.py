"""Sample-ratio mismatch: chi-square against the designed split, failing below p = 0.001."""

from __future__ import annotations

import pytest
from scipy import stats as sps

from analysis.errors import StatsInputError
from analysis.stats import srm


def test_matches_scipy_chisquare():
    observed = {"control": 5120, "a": 4950, "b": 10100}
    check = srm(observed, {"control": 0.25, "a": 0.25, "b": 0.5})
    total = sum(observed.values())
    reference = sps.chisquare([5120, 4950, 10100], [total * 0.25, total * 0.25, total * 0.5])
    assert check.p_value == pytest.approx(reference.pvalue, rel=1e-12)
    assert check.ok


def test_fixed_numbers_and_threshold():
    fails = srm({"control": 10000, "treatment": 10500}, {"control": 0.5, "treatment": 0.5})
    assert fails.p_value == pytest.approx(0.00048, abs=1e-5)
    assert not fails.ok
    passes = srm({"control": 10000, "treatment": 10300}, {"control": 0.5, "treatment": 0.5})
    assert passes.p_value == pytest.approx(0.03524, abs=1e-5) and passes.ok


def test_shares_need_not_sum_to_one():
    assert srm({"c": 100, "t": 300}, {"c": 1, "t": 3}).p_value == pytest.approx(1.0)


def test_edge_cases():
    assert srm({"c": 0, "t": 0}, {"c": 0.5, "t": 0.5}).p_value is None
    assert srm({"c": 0, "t": 0}, {"c": 0.5, "t": 0.5}).ok
    leaked = srm({"c": 100, "t": 100, "off": 3}, {"c": 0.5, "t": 0.5, "off": 0.0})
    assert leaked.p_value == 0.0 and not leaked.ok


@pytest.mark.parametrize(
    ("observed", "shares"),
    [
        ({"c": 1, "t": 2}, {"c": 0.5, "x": 0.5}),
        ({"c": -1, "t": 2}, {"c": 0.5, "t": 0.5}),
        ({"c": 1.5, "t": 2}, {"c": 0.5, "t": 0.5}),
        ({"c": 1, "t": 2}, {"c": 0.0, "t": 0.0}),
        ({"c": 1, "t": 2}, {"c": float("nan"), "t": 0.5}),
    ],
)
def test_malformed_inputs_raise(observed, shares):
    with pytest.raises(StatsInputError):
        srm(observed, shares)
