"""`analyze`: rows per metric × variant × method, SRM, corrections, guardrails, daily series, bad input."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import orjson
import pytest

from analysis import (
    AnalysisPlan,
    AnalysisPlanError,
    EventStoreSource,
    ExperimentData,
    GuardrailSpec,
    Moments,
    UnknownVariantError,
    analyze,
)
from analysis.sources.data import TimelineSlice
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


def test_primary_is_its_own_family_and_secondaries_are_corrected_among_themselves(
    arms: dict[str, np.ndarray],
) -> None:
    for correction in ("holm", "bh"):
        plan = AnalysisPlan("exp", secondary_metrics=("clicks_per_user", "dwell_per_click"), correction=correction)
        results = analyze(_data(arms), plan)
        for role, method in (("primary", "holm"), ("secondary", correction)):
            family = [r for r in results.results if r.method == "delta" and r.role == role]
            expected = adjust_p_values([r.p_value for r in family], method)
            assert [r.p_value_adjusted for r in family] == pytest.approx(expected)
        assert {r.metric for r in results.results if r.role == "primary"} == {"ctr"}
        assert all(r.significant == (r.p_value_adjusted < 0.05) for r in results.results)


def test_adding_secondary_metrics_never_changes_the_primary(arms: dict[str, np.ndarray]) -> None:
    alone = analyze(_data(arms), AnalysisPlan("exp"))
    crowded = analyze(_data(arms), AnalysisPlan("exp", secondary_metrics=("clicks_per_user", "dwell_per_user")))
    primary = [[r for r in res.results if r.metric == "ctr"] for res in (alone, crowded)]
    assert [r.p_value_adjusted for r in primary[0]] == [r.p_value_adjusted for r in primary[1]]


def test_a_two_arm_primary_is_unadjusted(arms: dict[str, np.ndarray]) -> None:
    del arms["b"]
    results = analyze(_data(arms), AnalysisPlan("exp", secondary_metrics=("clicks_per_user",)))
    for row in (r for r in results.results if r.role == "primary"):
        assert row.p_value_adjusted == row.p_value
        assert (row.ci_low_adjusted, row.ci_high_adjusted) == (row.ci_low, row.ci_high)


def test_adjusted_intervals_agree_with_adjusted_p_values(arms: dict[str, np.ndarray]) -> None:
    plan = AnalysisPlan("exp", secondary_metrics=("clicks_per_user", "dwell_per_click", "dwell_per_user"))
    results = analyze(_data(arms), plan)
    checked = 0
    for row in results.results:
        if row.ci_low_adjusted is None:
            assert row.p_value_adjusted is None or row.p_value_adjusted > 0.999
            continue
        excludes_zero = row.ci_low_adjusted > 0 or row.ci_high_adjusted < 0
        assert excludes_zero == (row.p_value_adjusted < 0.05)
        assert row.ci_low_adjusted <= row.ci_low and row.ci_high_adjusted >= row.ci_high
        checked += 1
    assert checked >= 6


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


def test_guardrails_are_non_inferiority_tests_against_control(arms: dict[str, np.ndarray]) -> None:
    """CTR up 20 % is non-inferior with a 10 % margin; the same arms read as if CTR were lower-is-better fail."""
    plan = AnalysisPlan("exp", guardrails=(GuardrailSpec("ctr", margin=0.1), GuardrailSpec("latency_p95", margin=0.1)))
    results = analyze(_data(arms), plan)
    ctr = {g.variant: g for g in results.guardrails if g.metric == "ctr"}
    assert set(ctr) == {"treatment", "b"} and ctr["treatment"].status == "pass"
    assert ctr["treatment"].method == "cuped" and ctr["treatment"].margin_on_scale == pytest.approx(-0.1)
    assert ctr["treatment"].bound > -0.1 and ctr["treatment"].p_value < 0.05
    assert not [g for g in results.guardrails if g.metric == "latency_p95"]
    assert any(n.startswith("latency_p95 left out: quantiles need event-level values") for n in results.notes)


def test_a_guardrail_in_its_bad_direction_fails(arms: dict[str, np.ndarray]) -> None:
    worse = {"control": arms["treatment"], "treatment": arms["control"]}  # CTR down ~17 %
    plan = AnalysisPlan("exp", guardrails=(GuardrailSpec("ctr", margin=0.05),))
    (guardrail,) = analyze(_data(worse), plan).guardrails
    assert guardrail.status == "fail" and guardrail.estimate < -0.1 and guardrail.bound < -0.05


def test_cuped_is_skipped_for_a_pair_whose_arm_lacks_history(arms: dict[str, np.ndarray]) -> None:
    arms["treatment"][:, 4:] = 0.0  # treatment users have no pre-period
    results = analyze(_data(arms), PLAN)
    methods = {(r.metric, r.variant): [] for r in results.results}
    for r in results.results:
        methods[(r.metric, r.variant)].append(r.method)
    assert methods[("ctr", "treatment")] == ["delta"] and methods[("ctr", "b")] == ["delta", "cuped"]
    assert (
        "CUPED not applied to ctr for treatment: treatment has no varying pre-period data "
        "(pre_clicks, pre_impressions)" in results.notes
    )


def test_daily_points_count_users_first_exposed(arms: dict[str, np.ndarray]) -> None:
    day1, day2 = date(2026, 1, 10), date(2026, 1, 11)
    c = arms["control"]
    first, second = Moments.from_values(COLUMNS, c[:300]), Moments.from_values(COLUMNS, c[300:])
    data = _data(arms, daily={"control": ((day1, first), (day2, second))})
    points = analyze(data, PLAN).daily
    assert [(p.date, p.variant, p.users) for p in points] == [
        ("2026-01-10", "control", 300),
        ("2026-01-11", "control", 500),
    ]


def test_timeline_points_compare_each_slice(arms: dict[str, np.ndarray]) -> None:
    halves = {v: Moments.from_values(COLUMNS, a[: a.shape[0] // 2]) for v, a in arms.items()}
    whole = {v: Moments.from_values(COLUMNS, a) for v, a in arms.items()}
    timeline = (
        TimelineSlice("calendar", date(2026, 1, 10), halves),
        TimelineSlice("calendar", date(2026, 1, 11), whole),
        TimelineSlice("exposure_day", 0, whole),
    )
    plan = AnalysisPlan("exp", guardrails=(GuardrailSpec("clicks_per_user"),))
    results = analyze(_data(arms, timeline=timeline), plan)
    points = {(p.metric, p.variant, p.view, p.date or p.day): p for p in results.timeline}
    assert len(points) == 2 * 2 * 3
    last = points[("ctr", "treatment", "calendar", "2026-01-11")]
    delta = next(r for r in results.results if (r.metric, r.variant, r.method) == ("ctr", "treatment", "delta"))
    assert (last.rel_lift, last.ci_low, last.ci_high) == pytest.approx((delta.rel_lift, delta.ci_low, delta.ci_high))
    first = points[("ctr", "treatment", "calendar", "2026-01-10")]
    assert first.n_control == 400 and first.ci_high - first.ci_low > last.ci_high - last.ci_low


def test_neutral_metrics_cannot_decide(arms: dict[str, np.ndarray]) -> None:
    with pytest.raises(AnalysisPlanError, match="primary metric searches_per_user is neutral"):
        analyze(_data(arms), AnalysisPlan("exp", primary_metric="searches_per_user"))
    with pytest.raises(AnalysisPlanError, match="guardrail searches_per_user is neutral"):
        analyze(_data(arms), AnalysisPlan("exp", guardrails=(GuardrailSpec("searches_per_user"),)))
    with pytest.raises(AnalysisPlanError, match="margin must be a relative change"):
        analyze(_data(arms), AnalysisPlan("exp", guardrails=(GuardrailSpec("ctr", margin=0.0),)))


@pytest.mark.integration
def test_end_to_end_on_the_hand_built_events(loaded_store: EventStore) -> None:
    """Tiny arms: the numbers are what the stats engine makes of two users per arm, never NaN."""
    plan = AnalysisPlan(
        EXPERIMENT,
        secondary_metrics=("search_success_rate", "dwell_p50", "latency_p95"),
        guardrails=(GuardrailSpec("error_rate", margin=0.1), GuardrailSpec("zero_result_rate", margin=0.4)),
        weights={"control": 0.5, "treatment": 0.5},
        start=START,
    )
    results = analyze(EventStoreSource(loaded_store, "test").load(plan), plan)
    rows = {(r.metric, r.method): r for r in results.results}
    assert rows[("ctr", "delta")].control_mean == pytest.approx(1 / 5)  # alice 1/3, dave 0/2
    assert rows[("ctr", "delta")].treatment_mean == pytest.approx(3 / 4)  # bob 2/2, carol 1/2
    # alice has pre-period clicks, but neither treatment user has a pre-period: no CUPED for this pair
    assert ("ctr", "cuped") not in rows
    assert any(n.startswith("CUPED not applied to ctr for treatment: ") for n in results.notes)
    assert rows[("latency_p95", "delta")].control_mean == 120.0
    guardrails = {(g.metric, g.variant): g for g in results.guardrails}
    errors = guardrails[("error_rate", "treatment")]  # control has no 5xx: an absolute test, margin 0
    assert errors.scale == "absolute" and errors.estimate == pytest.approx(1 / 3) and errors.status != "pass"
    assert guardrails[("zero_result_rate", "treatment")].control_mean == pytest.approx(1 / 3)
    assert [(p.date, p.variant, p.users) for p in results.daily] == [
        ("2026-01-10", "control", 1),
        ("2026-01-12", "control", 1),
        ("2026-01-10", "treatment", 1),
        ("2026-01-11", "treatment", 1),
    ]
    assert results.decisions and results.decisions[0].variant == "treatment"
