"""Interleaving preference test: per-query outcomes, fixed numbers, scipy cross-checks, degenerate input, A/A."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy import stats as sps

from analysis.errors import StatsInputError
from analysis.results import MetricResult
from analysis.rows import make_row
from analysis.stats import (
    NOT_ENOUGH_DATA,
    ZERO_VARIANCE,
    InterleavingStats,
    compare_interleaving,
    query_outcome,
)
from search_core.interleaving import team_draft


@pytest.fixture
def user_outcomes() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-user (wins_a, wins_b, ties) for 800 users with 1–12 clicked queries, team B slightly preferred."""
    rng = np.random.default_rng(20240609)
    queries = 1 + rng.poisson(rng.gamma(1.0, 3.0, 800))
    lean = np.clip(rng.normal(0.04, 0.15, 800), -0.4, 0.4)  # per-user taste: P(B wins) − P(A wins)
    p_a, p_b = 0.4 - lean / 2, 0.4 + lean / 2
    wins = np.array([rng.multinomial(q, (a, b, 1 - a - b)) for q, a, b in zip(queries, p_a, p_b, strict=True)])
    return wins[:, 0].astype(float), wins[:, 1].astype(float), wins[:, 2].astype(float)


@pytest.mark.parametrize(
    ("teams", "expected"),
    [(["A"], "A"), (["B", "A", "B"], "B"), (["A", "B"], "tie"), ([], None), (("A", "A", "B"), "A")],
)
def test_query_outcome(teams, expected):
    assert query_outcome(teams) == expected


def test_query_outcome_refuses_unknown_team():
    with pytest.raises(StatsInputError, match="team 'A' or 'B'"):
        query_outcome(["A", "control"])


def test_fixed_numbers(user_outcomes):
    expected = {
        "control_mean": 0.39835,
        "treatment_mean": 0.41677,
        "abs_lift": 0.01842,
        "abs_ci_low": -0.01768,
        "abs_ci_high": 0.05453,
        "rel_lift": 0.01842,
        "ci_low": -0.01768,
        "ci_high": 0.05453,
        "p_value": 0.31674,
        "p_value_abs": 0.31674,
        "n_control": 800,
        "n_treatment": 800,
        "variance_reduction": None,
        "note": None,
    }
    result = dataclasses.asdict(compare_interleaving(InterleavingStats.from_values(*user_outcomes)))
    assert [result.pop(k) for k in ("chance_to_win", "risk_control", "risk_treatment")] == [None] * 3
    assert result.pop("inference") == "absolute"
    assert result == pytest.approx(expected, abs=1e-5)


def test_delta_is_treatment_preference(user_outcomes):
    wins_a, wins_b, ties = user_outcomes
    result = compare_interleaving(InterleavingStats.from_values(wins_a, wins_b, ties))
    assert result.abs_lift == pytest.approx((wins_b.sum() - wins_a.sum()) / (wins_a + wins_b + ties).sum(), rel=1e-12)
    assert result.abs_lift == pytest.approx(result.treatment_mean - result.control_mean, rel=1e-12)
    swapped = compare_interleaving(InterleavingStats.from_values(wins_b, wins_a, ties))
    assert swapped.abs_lift == pytest.approx(-result.abs_lift, rel=1e-12)
    assert swapped.p_value == pytest.approx(result.p_value, rel=1e-12)


def test_matches_linearised_ratio_t_test(user_outcomes):
    """se = sd((d_i − Δ·q_i) / q̄) / √n, Student t with n − 1 df: the ratio delta method, computed directly."""
    wins_a, wins_b, ties = user_outcomes
    d, q = wins_b - wins_a, wins_a + wins_b + ties
    delta = d.sum() / q.sum()
    se = np.std((d - delta * q) / q.mean(), ddof=1) / math.sqrt(d.size)
    result = compare_interleaving(InterleavingStats.from_values(wins_a, wins_b, ties), alpha=0.1)
    assert result.p_value == pytest.approx(2 * sps.t.sf(abs(delta) / se, d.size - 1), rel=1e-9)
    half = sps.t.ppf(0.95, d.size - 1) * se
    assert (result.abs_ci_low, result.abs_ci_high) == pytest.approx((delta - half, delta + half), rel=1e-9)


def test_one_clicked_query_per_user_is_the_one_sample_t_test():
    rng = np.random.default_rng(3)
    outcome = rng.choice(3, 500, p=(0.3, 0.4, 0.3))
    wins_a, wins_b, ties = ((outcome == i).astype(float) for i in range(3))
    result = compare_interleaving(InterleavingStats.from_values(wins_a, wins_b, ties))
    reference = sps.ttest_1samp(wins_b - wins_a, 0.0)
    ci = reference.confidence_interval(0.95)
    assert result.p_value == pytest.approx(reference.pvalue, rel=1e-9)
    assert (result.ci_low, result.ci_high) == pytest.approx((ci.low, ci.high), rel=1e-9)


def test_pooling_is_addition(user_outcomes):
    wins_a, wins_b, ties = user_outcomes
    halves = [InterleavingStats.from_values(wins_a[s], wins_b[s], ties[s]) for s in (slice(0, 300), slice(300, None))]
    pooled = halves[0] + halves[1]
    whole = InterleavingStats.from_values(wins_a, wins_b, ties)
    assert dataclasses.astuple(pooled) == pytest.approx(dataclasses.astuple(whole), rel=1e-12)


def test_fits_the_results_contract(user_outcomes):
    result = compare_interleaving(InterleavingStats.from_values(*user_outcomes))
    row = make_row(MetricResult, "interleaving_preference", "ranker_b", "interleaving", "primary", result)
    assert row.rel_lift == row.abs_lift


def test_no_clicks_at_all_is_not_enough_data():
    zeros = np.zeros(50)
    result = compare_interleaving(InterleavingStats.from_values(zeros, zeros, zeros))
    assert result.note == NOT_ENOUGH_DATA
    assert result.control_mean is None and result.treatment_mean is None and result.p_value is None
    assert (result.n_control, result.n_treatment) == (50, 50)


def test_single_user_is_not_enough_data_but_keeps_win_rates():
    result = compare_interleaving(InterleavingStats.from_values(np.array([2.0]), np.array([1.0]), np.array([1.0])))
    assert result.note == NOT_ENOUGH_DATA
    assert (result.control_mean, result.treatment_mean) == pytest.approx((0.5, 0.25))
    assert result.abs_lift is None


def test_only_ties_is_zero_variance():
    ties = np.array([1.0, 3.0, 2.0])
    result = compare_interleaving(InterleavingStats.from_values(np.zeros(3), np.zeros(3), ties))
    assert result.note == ZERO_VARIANCE
    assert (result.control_mean, result.treatment_mean) == (0.0, 0.0)
    assert all(v is None or math.isfinite(v) for v in dataclasses.astuple(result) if isinstance(v, float))


def test_no_users():
    result = compare_interleaving(InterleavingStats(0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0))
    assert result.note == NOT_ENOUGH_DATA and result.control_mean is None


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: InterleavingStats.from_values(np.array([-1.0]), np.zeros(1), np.zeros(1)), "cannot be negative"),
        (lambda: InterleavingStats.from_values(np.zeros(2), np.zeros(3), np.zeros(2)), "differ in length"),
        (lambda: InterleavingStats(3, -1.0, 0.0, 0.0, 0.0, 0.0, 0.0), "sum_wins_a must be >= 0"),
        (lambda: InterleavingStats(3, float("nan"), 0.0, 0.0, 0.0, 0.0, 0.0), "must be finite"),
        (lambda: InterleavingStats(2.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0), "must be an int"),
        (lambda: compare_interleaving("stats"), "needs InterleavingStats"),
    ],
)
def test_malformed_input_raises(call, match):
    with pytest.raises(StatsInputError, match=match):
        call()


def test_bad_alpha(user_outcomes):
    with pytest.raises(StatsInputError, match="alpha"):
        compare_interleaving(InterleavingStats.from_values(*user_outcomes), alpha=1.5)


def _simulate(rng: np.random.Generator, teams_b: np.ndarray, users: int, b_boost: float) -> InterleavingStats:
    """Users with 1 + Poisson(2.5) searches over identical 10-result lists, each merged by a random coin pattern.

    Clicks are position-biased (1/pos^0.9 × per-user propensity); team B's results are clicked `b_boost` times
    as often.
    """
    searches = 1 + rng.poisson(2.5, users)
    user = np.repeat(np.arange(users), searches)
    team_b = teams_b[rng.integers(0, len(teams_b), user.size)]
    propensity = rng.lognormal(-0.18, 0.6, users)[user][:, None]
    p = np.minimum(1.0, 0.35 / np.arange(1, 11) ** 0.9 * propensity * np.where(team_b, b_boost, 1.0))
    clicked = rng.random(team_b.shape) < p
    clicks_b = (clicked & team_b).sum(axis=1)
    clicks_a = clicked.sum(axis=1) - clicks_b
    outcomes = (clicks_a > clicks_b, clicks_b > clicks_a, (clicks_a == clicks_b) & (clicks_a > 0))
    return InterleavingStats.from_values(*(np.bincount(user, weights=o, minlength=users) for o in outcomes))


@pytest.fixture(scope="module")
def aa_team_patterns() -> np.ndarray:
    """Team B's slots (32, 10) of every A/A merge (same ranker on both teams): all 2⁵ coin patterns of 5 rounds.

    Each search draws one uniformly, as a fresh request id's SHA-256 flips do. A fixed sample of request ids
    would not do: its chance imbalance (e.g. B on top in 52.7 % of 512 ids) is a real bias the test detects.
    """
    ranking = [f"img-{i}" for i in range(10)]
    merges = [team_draft(ranking, ranking, 10, [bool(p >> r & 1) for r in range(5)]) for p in range(32)]
    return np.array([[item.team == "B" for item in merged] for merged in merges])


def test_aa_simulation_is_calibrated(aa_team_patterns):
    """Position bias must not create a preference: 200 A/A experiments of 300 users reject about 5 % of the time."""
    rng = np.random.default_rng(99)
    p_values = [compare_interleaving(_simulate(rng, aa_team_patterns, 300, 1.0)).p_value for _ in range(200)]
    false_positive_rate = np.mean(np.array(p_values) < 0.05)
    assert 0.01 < false_positive_rate < 0.09


def test_detects_a_preferred_team(aa_team_patterns):
    rng = np.random.default_rng(100)
    results = [compare_interleaving(_simulate(rng, aa_team_patterns, 300, 1.5)) for _ in range(20)]
    assert np.mean([r.p_value < 0.05 and r.abs_lift > 0 for r in results]) > 0.8
