"""The decision rule: ship / no_ship / inconclusive / invalid, for both directions of metric, with reasons."""

from __future__ import annotations

import numpy as np
import pytest

from analysis import AnalysisPlan, BayesianOptions, ExperimentData, GuardrailSpec, Moments, analyze
from analysis.stats import adjust_p_values

COLUMNS = ("searches", "impressions", "clicks", "error_searches")


def _arm(rng: np.random.Generator, n: int, ctr: float, error_rate: float) -> np.ndarray:
    searches = rng.poisson(4, n) + 1
    impressions = searches * 10
    clicks = rng.binomial(impressions, ctr)
    errors = rng.binomial(searches, error_rate)
    return np.column_stack([searches, impressions, clicks, errors]).astype(float)


def _data(**arms: tuple[int, float, float]) -> ExperimentData:
    rng = np.random.default_rng(2026)
    moments = {name: Moments.from_values(COLUMNS, _arm(rng, *spec)) for name, spec in arms.items()}
    return ExperimentData(source="test", arms=moments)


def _decision(data: ExperimentData, plan: AnalysisPlan, variant: str = "treatment"):
    results = analyze(data, plan)
    decision = results.decision_for(variant)
    assert decision is not None
    return decision


BASE = (4000, 0.10, 0.02)


def test_ship_when_the_primary_wins_and_every_guardrail_passes() -> None:
    data = _data(control=BASE, treatment=(4000, 0.11, 0.02))
    plan = AnalysisPlan("exp", guardrails=(GuardrailSpec("error_rate", margin=0.5),))
    decision = _decision(data, plan)
    assert decision.recommendation == "ship"
    assert decision.reasons[0].startswith("primary metric improved significantly: ctr +")
    assert any(r.startswith("guardrail error_rate passed") for r in decision.reasons)


def test_no_ship_when_the_primary_moves_the_wrong_way() -> None:
    decision = _decision(_data(control=BASE, treatment=(4000, 0.09, 0.02)), AnalysisPlan("exp"))
    assert decision.recommendation == "no_ship"
    assert decision.reasons[0].startswith("primary metric got significantly worse: ctr -")


def test_a_lower_is_better_primary_ships_when_it_falls_and_not_when_it_rises() -> None:
    plan = AnalysisPlan("exp", primary_metric="error_rate")
    down = _decision(_data(control=(6000, 0.1, 0.04), treatment=(6000, 0.1, 0.03)), plan)
    up = _decision(_data(control=(6000, 0.1, 0.04), treatment=(6000, 0.1, 0.05)), plan)
    assert down.recommendation == "ship" and "improved" in down.reasons[0]
    assert up.recommendation == "no_ship" and "worse" in up.reasons[0]


def test_no_ship_when_a_guardrail_fails_even_if_the_primary_wins() -> None:
    data = _data(control=BASE, treatment=(4000, 0.11, 0.04))
    plan = AnalysisPlan("exp", guardrails=(GuardrailSpec("error_rate", margin=0.1),))
    decision = _decision(data, plan)
    assert decision.recommendation == "no_ship"
    assert any(r.startswith("guardrail error_rate got significantly worse") for r in decision.reasons)


def test_inconclusive_says_how_many_more_users_the_planned_mde_needs() -> None:
    data = _data(control=(500, 0.10, 0.02), treatment=(500, 0.101, 0.02))
    decision = _decision(data, AnalysisPlan("exp", mde=0.02, power=0.8))
    assert decision.recommendation == "inconclusive"
    assert decision.users_needed is not None and decision.users_needed > 1000
    assert f"about {decision.users_needed:,} more users for the planned MDE of +2.00%" in decision.reasons[0]
    unplanned = _decision(data, AnalysisPlan("exp"))
    assert unplanned.users_needed is None and "set analysis.mde" in unplanned.reasons[0]


def test_inconclusive_when_a_guardrail_cannot_be_shown_within_its_margin() -> None:
    data = _data(control=(3000, 0.10, 0.01), treatment=(3000, 0.12, 0.01))
    plan = AnalysisPlan("exp", guardrails=(GuardrailSpec("error_rate", margin=0.02),))
    decision = _decision(data, plan)
    assert decision.recommendation == "inconclusive"
    assert any(r.startswith("guardrail error_rate not shown within its margin") for r in decision.reasons)


def test_invalid_when_the_split_is_broken() -> None:
    data = _data(control=(4000, 0.10, 0.02), treatment=(3000, 0.12, 0.02))
    decision = _decision(data, AnalysisPlan("exp", weights={"control": 0.5, "treatment": 0.5}))
    assert decision.recommendation == "invalid" and decision.reasons[0].startswith("sample-ratio mismatch")


def test_too_few_users_gets_no_recommendation() -> None:
    data = _data(control=(17, 0.10, 0.02), treatment=(17, 0.30, 0.02))
    decision = _decision(data, AnalysisPlan("exp", min_users_per_arm=100))
    assert decision.recommendation == "inconclusive"
    assert decision.reasons == ["too few users to decide: 17 in control, 17 in treatment (at least 100 per arm)"]


def test_every_treatment_gets_a_decision_and_the_primary_family_is_holm() -> None:
    data = _data(control=BASE, treatment=(4000, 0.11, 0.02), other=(4000, 0.10, 0.02))
    results = analyze(data, AnalysisPlan("exp"))
    assert [d.variant for d in results.decisions] == ["treatment", "other"]
    assert {d.variant: d.recommendation for d in results.decisions} == {"treatment": "ship", "other": "inconclusive"}
    rows = [r for r in results.results if r.method == "delta"]
    assert [r.p_value_adjusted for r in rows] == pytest.approx(adjust_p_values([r.p_value for r in rows], "holm"))
    assert "Holm-adjusted" in results.decisions[0].reasons[0]


def test_a_zero_baseline_primary_is_read_on_the_absolute_difference() -> None:
    """An error rate going from 0 to 0.5 % as the primary: no relative lift, but a significant absolute rise."""
    data = _data(control=(6000, 0.1, 0.0), treatment=(6000, 0.1, 0.02))
    results = analyze(data, AnalysisPlan("exp", primary_metric="error_rate"))
    (row,) = results.results
    assert row.inference == "absolute" and row.rel_lift is None and row.significant
    assert results.decisions[0].recommendation == "no_ship"
    assert "absolute" in results.decisions[0].reasons[0]


BAYES = AnalysisPlan("exp", engine="bayesian", mde=0.05)


def test_bayesian_engine_ships_on_chance_to_win_and_risk() -> None:
    results = analyze(_data(control=BASE, treatment=(4000, 0.11, 0.02)), BAYES)
    row = results.preferred_row("ctr", "treatment")
    assert row.engine == "bayesian" and row.p_value is None and row.chance_to_win > 0.99
    assert row.risk.treatment < 1e-4 < row.risk.control and row.significant
    assert results.design.engine == "bayesian" and results.design.bayesian.chance_to_win == 0.95
    decision = results.decision_for("treatment")
    assert decision.recommendation == "ship"
    assert decision.reasons[0].startswith("primary metric probably improved: ctr +")
    assert "credible interval" in decision.reasons[0] and "chance to win >99.9%, risk <0.001%" in decision.reasons[0]


def test_bayesian_engine_no_ship_when_the_treatment_is_probably_worse() -> None:
    decision = _decision(_data(control=BASE, treatment=(4000, 0.09, 0.02)), BAYES)
    assert decision.recommendation == "no_ship"
    assert decision.reasons[0].startswith("primary metric probably got worse")


def test_bayesian_engine_waits_while_the_risk_is_too_high() -> None:
    """A likely but uncertain win: chance to win above 95 %, but an expected loss above the plan's 0.25 %."""
    data = _data(control=(10, 0.10, 0.02), treatment=(10, 0.13, 0.02))
    results = analyze(data, BAYES)
    row = results.preferred_row("ctr", "treatment")
    assert row.chance_to_win >= 0.95 and row.risk.treatment > 0.0025
    decision = results.decision_for("treatment")
    assert decision.recommendation == "inconclusive"
    assert "risk above the maximum of 0.25%" in decision.reasons[0]
    loose = analyze(data, AnalysisPlan("exp", engine="bayesian", bayesian=BayesianOptions(max_risk=0.05)))
    assert loose.decision_for("treatment").recommendation == "ship"


def test_bayesian_rows_are_not_corrected_and_keep_the_frequentist_guardrails() -> None:
    plan = AnalysisPlan("exp", engine="bayesian", guardrails=(GuardrailSpec("error_rate", margin=0.5),))
    results = analyze(_data(control=BASE, treatment=BASE, b=BASE), plan)
    assert all(r.p_value_adjusted is None and r.chance_to_win is not None for r in results.results)
    assert {g.p_value is not None for g in results.guardrails} == {True}
