"""`analyze`: rows per metric × variant × method, SRM, corrections, guardrails, daily series, bad input."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import orjson
import pytest

from analysis import (
    AnalysisPlan,
    EventStoreSource,
    ExperimentData,
    GuardrailSpec,
    Moments,
    UnknownVariantError,
    analyze,
)
from analysis.stats import (
    CovariateRatioStats,
    RatioStats,
    adjust_p_values,
    compare_cuped,
    compare_ratios,
)
from event_logging.store import EventStore
from tests.analysis.conftest import EXPERIMENT, START

COLUMNS = ("searches", "impressions", "clicks", "dwell_ms", "pre_impressions", "pre_clicks")


def _arm(rng: np.random.Generator, n: int, lift: float) -> np.ndarray:
    """Users × COLUMNS; each user's click propensity persists from the (untreated) pre-period, so CUPED helps."""
    propensity = rng.beta(2, 18, n)
    searches = rng.poisson(3, n) + 1
    impressions = searches * 10
    clicks = rng.binomial(impressions, np.clip(propensity * lift, 0, 1))
    dwell = clicks * rng.lognormal(8, 0.5, n)
    pre_impressions = rng.poisson(20, n)
    pre_clicks = rng.binomial(pre_impressions, propensity)
    return np.column_stack([searches, impressions, clicks, dwell, pre_impressions, pre_clicks]).astype(float)


@pytest.fixture
def arms() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(11)
    return {"control": _arm(rng, 800, 1.0), "treatment": _arm(rng, 800, 1.2), "b": _arm(rng, 790, 1.0)}


def _data(arms: dict[str, np.ndarray], columns: tuple[str, ...] = COLUMNS, **kwargs: object) -> ExperimentData:
    picked = [COLUMNS.index(c) for c in columns]
    moments = {name: Moments.from_values(columns, values[:, picked]) for name, values in arms.items()}
    return ExperimentData(source="test", arms=moments, **kwargs)


PLAN = AnalysisPlan("exp", primary_metric="ctr", secondary_metrics=("clicks_per_user", "dwell_per_click"))


def test_rows_per_metric_variant_and_method(arms: dict[str, np.ndarray]) -> None:
    results = analyze(_data(arms), PLAN)
    keys = [(r.metric, r.variant, r.method) for r in results.results]
    assert keys == [
        ("ctr", "treatment", "delta"), ("ctr", "treatment", "cuped"), ("ctr", "b", "delta"), ("ctr", "b", "cuped"),
        ("clicks_per_user", "treatment", "delta"), ("clicks_per_user", "treatment", "cuped"),
        ("clicks_per_user", "b", "delta"), ("clicks_per_user", "b", "cuped"),
        ("dwell_per_click", "treatment", "delta"), ("dwell_per_click", "b", "delta"),
    ]  # fmt: skip
    assert results.srm.ok and results.srm.expected == {"control": 1 / 3, "treatment": 1 / 3, "b": 1 / 3}
    assert results.srm.observed == {"control": 800, "b": 790, "treatment": 800}


def test_delta_and_cuped_rows_are_the_stats_engine_results(arms: dict[str, np.ndarray]) -> None:
    results = analyze(_data(arms), PLAN)
    c, t = arms["control"], arms["treatment"]
    delta = compare_ratios(RatioStats.from_values(c[:, 2], c[:, 1]), RatioStats.from_values(t[:, 2], t[:, 1]))
    cuped = compare_cuped(
        CovariateRatioStats.from_values(c[:, 2], c[:, 1], c[:, 5], c[:, 4]),
        CovariateRatioStats.from_values(t[:, 2], t[:, 1], t[:, 5], t[:, 4]),
    )
    rows = {(r.metric, r.variant, r.method): r for r in results.results}
    for method, expected in (("delta", delta), ("cuped", cuped)):
        row = rows[("ctr", "treatment", method)]
        for field in ("control_mean", "treatment_mean", "rel_lift", "ci_low", "ci_high", "p_value"):
            assert getattr(row, field) == pytest.approx(getattr(expected, field), rel=1e-9)
    assert rows[("ctr", "treatment", "cuped")].variance_reduction > 0.2
    assert rows[("ctr", "treatment", "delta")].significant


def test_holm_across_rows_of_one_method_and_bh_option(arms: dict[str, np.ndarray]) -> None:
    for correction in ("holm", "bh"):
        plan = AnalysisPlan("exp", secondary_metrics=("clicks_per_user", "dwell_per_click"), correction=correction)
        results = analyze(_data(arms), plan)
        delta = [r for r in results.results if r.method == "delta"]
        expected = adjust_p_values([r.p_value for r in delta], correction)
        assert [r.p_value_adjusted for r in delta] == pytest.approx(expected)
        assert all(r.significant == (r.p_value_adjusted < 0.05) for r in results.results)


def test_sequential_rows_when_asked(arms: dict[str, np.ndarray]) -> None:
    plan = AnalysisPlan("exp", sequential=True)
    methods = [r.method for r in analyze(_data(arms), plan).results if r.variant == "treatment"]
    assert methods == ["delta", "cuped", "sequential"]


def test_failed_srm_withholds_every_verdict(arms: dict[str, np.ndarray]) -> None:
    plan = AnalysisPlan("exp", weights={"control": 0.45, "treatment": 0.45, "b": 0.1})
    results = analyze(_data(arms), plan)
    assert not results.srm.ok and results.srm.p_value < 0.001
    assert not any(r.significant for r in results.results)
    assert any(r.p_value is not None and r.p_value < 0.001 for r in results.results)
    assert any(n.startswith("sample ratio mismatch") for n in results.notes)


def test_metrics_without_columns_are_left_out_with_a_note(arms: dict[str, np.ndarray]) -> None:
    plan = AnalysisPlan("exp", secondary_metrics=("search_success_rate", "dwell_p90"))
    results = analyze(_data(arms, columns=("impressions", "clicks")), plan)
    assert {r.metric for r in results.results} == {"ctr"}
    assert {r.method for r in results.results} == {"delta"}  # no pre-period columns: no CUPED
    assert "search_success_rate left out: column(s) successful_searches, searches absent from test" in results.notes
    assert any(n.startswith("dwell_p90 left out: quantiles need event-level values") for n in results.notes)


def test_unknown_control_is_an_error(arms: dict[str, np.ndarray]) -> None:
    with pytest.raises(UnknownVariantError, match="control variant 'ctl' is not among the variants"):
        analyze(_data(arms), AnalysisPlan("exp", control="ctl"))


def test_designed_variant_without_users_gives_notes_not_nan(arms: dict[str, np.ndarray]) -> None:
    plan = AnalysisPlan("exp", weights={"control": 0.5, "treatment": 0.25, "ghost": 0.25})
    del arms["b"]
    results = analyze(_data(arms), plan)
    ghost = [r for r in results.results if r.variant == "ghost"]
    assert ghost and all(r.p_value is None and r.note.startswith("not enough data") for r in ghost)
    assert "variant 'ghost' has no users: not enough data" in results.notes
    assert "variant 'b' is in the data but not in the experiment definition: left out" not in results.notes
    assert not results.srm.ok


def test_all_zero_metrics_give_notes_and_valid_json() -> None:
    zeros = {"control": np.zeros((50, 6)), "treatment": np.zeros((50, 6))}
    results = analyze(_data(zeros), PLAN)
    assert results.results and all(r.p_value is None and r.note for r in results.results)
    document = orjson.loads(results.model_dump_json())
    flat = [v for row in document["results"] for v in row.values() if isinstance(v, float)]
    assert not any(math.isnan(v) or math.isinf(v) for v in flat)


def test_guardrails_per_variant(arms: dict[str, np.ndarray]) -> None:
    plan = AnalysisPlan("exp", guardrails=(GuardrailSpec("ctr", min=0.11), GuardrailSpec("latency_p95", max=250)))
    results = analyze(_data(arms), plan)
    ctr = {g.variant: g for g in results.guardrails if g.metric == "ctr"}
    assert ctr["treatment"].ok and not ctr["control"].ok
    latency = [g for g in results.guardrails if g.metric == "latency_p95"]
    assert [(g.value, g.ok) for g in latency] == [(None, None)] * 3
    assert any(n.startswith("guardrail latency_p95 not evaluated") for n in results.notes)


def test_daily_points_accumulate_users_and_the_primary_metric(arms: dict[str, np.ndarray]) -> None:
    day1, day2 = date(2026, 1, 10), date(2026, 1, 11)
    c = arms["control"]
    first, second = Moments.from_values(COLUMNS, c[:300]), Moments.from_values(COLUMNS, c[300:])
    data = _data(arms, daily={"control": ((day1, first), (day2, second))})
    points = analyze(data, PLAN).daily
    assert [(p.date, p.users, p.cumulative_users) for p in points] == [
        ("2026-01-10", 300, 300),
        ("2026-01-11", 500, 800),
    ]
    assert points[0].cumulative_value == pytest.approx(c[:300, 2].sum() / c[:300, 1].sum())
    assert points[1].cumulative_value == pytest.approx(c[:, 2].sum() / c[:, 1].sum())


@pytest.mark.integration
def test_end_to_end_on_the_hand_built_events(loaded_store: EventStore) -> None:
    """Tiny arms: the numbers are what the stats engine makes of two users per arm, never NaN."""
    plan = AnalysisPlan(
        EXPERIMENT,
        secondary_metrics=("search_success_rate", "dwell_p50", "latency_p95"),
        guardrails=(GuardrailSpec("error_rate", max=0.1), GuardrailSpec("zero_result_rate", max=0.4)),
        weights={"control": 0.5, "treatment": 0.5},
        start=START,
    )
    results = analyze(EventStoreSource(loaded_store, "test").load(plan), plan)
    rows = {(r.metric, r.method): r for r in results.results}
    assert rows[("ctr", "delta")].control_mean == pytest.approx(1 / 5)  # alice 1/3, dave 0/2
    assert rows[("ctr", "delta")].treatment_mean == pytest.approx(3 / 4)  # bob 2/2, carol 1/2
    assert ("ctr", "cuped") in rows  # alice has pre-period clicks
    assert rows[("latency_p95", "delta")].control_mean == 120.0
    guardrails = {(g.metric, g.variant): (g.value, g.ok) for g in results.guardrails}
    assert guardrails[("error_rate", "treatment")] == (pytest.approx(1 / 3), False)
    assert guardrails[("zero_result_rate", "control")] == (pytest.approx(1 / 3), True)
    assert [(p.date, p.variant, p.cumulative_users) for p in results.daily] == [
        ("2026-01-10", "control", 1),
        ("2026-01-12", "control", 2),
        ("2026-01-10", "treatment", 1),
        ("2026-01-11", "treatment", 2),
    ]
