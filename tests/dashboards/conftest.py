"""Hand-built `Results` documents for the report tests, and a headless Chromium driver.

The numbers are made up but consistent (lifts inside their intervals, Holm-adjusted p ≥ raw p),
so the rendered report looks like a real one when a person opens the screenshot.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest

from analysis.decision import decide
from analysis.results import (
    DailyPoint,
    GuardrailResult,
    MetricInfo,
    MetricResult,
    OfflineMetrics,
    Results,
    SrmResult,
    TimelinePoint,
)

METRIC_INFO = {
    "ctr": MetricInfo(direction="higher_is_better", kind="ratio"),
    "dwell_per_click": MetricInfo(direction="higher_is_better", kind="ratio", unit="ms"),
    "zero_result_rate": MetricInfo(direction="lower_is_better", kind="ratio"),
    "latency_p95": MetricInfo(direction="lower_is_better", kind="quantile", unit="ms"),
}


def metric_row(
    metric: str,
    variant: str,
    method: str,
    control_mean: float,
    rel: float,
    half_width: float,
    p: float,
    p_adj: float | None,
    *,
    n: int = 5000,
    role: str = "secondary",
    **extra: object,
) -> MetricResult:
    """A row whose absolute numbers follow from the relative ones, as the analysis would write it; the adjusted
    interval is widened by p / p_adj, the way an adjusted p-value widens it."""
    treatment_mean = control_mean * (1 + rel)
    widen = 1.0 if p_adj is None or p_adj == p else max(1.0, (p_adj / p) ** 0.25)
    return MetricResult(
        metric=metric,
        variant=variant,
        method=method,
        role=role,
        control_mean=control_mean,
        treatment_mean=treatment_mean,
        abs_lift=treatment_mean - control_mean,
        abs_ci_low=control_mean * (rel - half_width),
        abs_ci_high=control_mean * (rel + half_width),
        rel_lift=rel,
        ci_low=rel - half_width,
        ci_high=rel + half_width,
        p_value=p,
        p_value_abs=p,
        p_value_adjusted=p_adj,
        ci_low_adjusted=None if p_adj is None else rel - half_width * widen,
        ci_high_adjusted=None if p_adj is None else rel + half_width * widen,
        significant=p_adj is not None and p_adj < 0.05,
        n_control=n,
        n_treatment=n + 37,
        **extra,
    )


def daily_points(days: int = 14) -> list[DailyPoint]:
    """Exposures that ramp up then flatten."""
    start = date(2024, 5, 1)
    return [
        DailyPoint(
            date=(start + timedelta(days=day)).isoformat(), variant=variant, users=300 + 25 * min(day, 6) + offset
        )
        for day in range(days)
        for variant, offset in (("control", 0), ("treatment_a", 11), ("treatment_b", -7))
    ]


def timeline_points(days: int = 14) -> list[TimelinePoint]:
    """treatment_a's cumulative CTR lift settles near +4 % with a narrowing band; by exposure day it fades."""
    start = date(2024, 5, 1)
    points = []
    for day in range(days):
        for variant, lift in (("treatment_a", 0.041), ("treatment_b", -0.006)):
            half = 0.08 / (day + 1) ** 0.5
            wobble = 0.03 * (-1) ** day / (day + 1)
            users = 300 * (day + 1)
            common = dict(metric="ctr", variant=variant, method="delta", n_control=users, n_treatment=users,
                          control_value=0.052, treatment_value=0.052 * (1 + lift))  # fmt: skip
            points.append(
                TimelinePoint(
                    **common,
                    view="calendar",
                    date=(start + timedelta(days=day)).isoformat(),
                    rel_lift=lift + wobble,
                    ci_low=lift + wobble - half,
                    ci_high=lift + wobble + half,
                )  # fmt: skip
            )
            if day < 7:
                fade = lift * (1.5 - day / 7)
                band = {"ci_low": fade - 0.03, "ci_high": fade + 0.03}
                points.append(TimelinePoint(**common, view="exposure_day", day=day, rel_lift=fade, **band))
    return points


def guardrail(metric: str, variant: str, status: str, estimate: float, bound: float, margin: float) -> GuardrailResult:
    direction = METRIC_INFO[metric].direction
    bad = 1 if direction == "lower_is_better" else -1
    return GuardrailResult(
        metric=metric, variant=variant, method="delta", direction=direction, margin=margin, scale="relative",
        margin_on_scale=bad * margin, estimate=estimate, bound=bound, p_value=0.01 if status == "pass" else 0.4,
        status=status, control_mean=212.0, treatment_mean=212.0 * (1 + estimate), n_control=5000, n_treatment=5037,
    )  # fmt: skip


def make_results(**overrides: object) -> Results:
    """A full experiment: three metrics, two treatments, delta/CUPED/sequential rows, guardrails, daily, offline."""
    rows = [
        metric_row("ctr", "treatment_a", "delta", 0.052, 0.041, 0.021, 0.00011, 0.0003, role="primary"),
        metric_row(
            "ctr",
            "treatment_a",
            "cuped",
            0.052,
            0.043,
            0.016,
            0.00002,
            0.00008,
            role="primary",
            variance_reduction=0.234,
        ),  # fmt: skip
        metric_row("ctr", "treatment_b", "delta", 0.052, -0.006, 0.02, 0.56, 0.9, role="primary"),
        metric_row(
            "ctr", "treatment_b", "cuped", 0.052, -0.005, 0.016, 0.53, 0.9, role="primary", variance_reduction=0.229
        ),  # fmt: skip
        metric_row("dwell_per_click", "treatment_a", "delta", 41300.0, 0.012, 0.018, 0.19, 0.57),
        metric_row("dwell_per_click", "treatment_b", "delta", 41300.0, -0.031, 0.017, 0.0004, 0.0016),
        metric_row("zero_result_rate", "treatment_a", "delta", 0.031, -0.02, 0.03, 0.19, 0.57),
        metric_row("zero_result_rate", "treatment_b", "delta", 0.031, 0.004, 0.03, 0.8, 0.9),
    ]
    values: dict[str, object] = dict(
        experiment="encoder-v2-vs-v1",
        generated_at=datetime(2024, 5, 15, 9, 30, tzinfo=UTC),
        status="running",
        primary_metric="ctr",
        metrics=METRIC_INFO,
        srm=SrmResult(
            p_value=0.41,
            observed={"control": 5000, "treatment_a": 5037, "treatment_b": 4988},
            expected={"control": 5008.3, "treatment_a": 5008.3, "treatment_b": 5008.3},
            ok=True,
        ),
        results=rows,
        guardrails=[
            guardrail("latency_p95", "treatment_a", "pass", 0.012, 0.058, 0.1),
            guardrail("latency_p95", "treatment_b", "fail", 0.266, 0.31, 0.1),
            guardrail("zero_result_rate", "treatment_a", "inconclusive", 0.01, 0.14, 0.1),
        ],
        daily=daily_points(),
        timeline=timeline_points(),
        offline=[
            OfflineMetrics(
                variant="control",
                encoder="resnet18-simclr@1",
                index="Flat",
                metrics={"precision@10": 0.712, "mrr@10": 0.803, "ndcg@10": 0.741, "ann_recall@10": 1.0},
            ),
            OfflineMetrics(
                variant="treatment_a",
                encoder="resnet18-simclr@2",
                index="Flat",
                metrics={"precision@10": 0.744, "mrr@10": 0.829, "ndcg@10": 0.772, "ann_recall@10": 1.0},
            ),
            OfflineMetrics(
                variant="treatment_b",
                encoder="resnet18-simclr@2",
                index="HNSW32",
                metrics={"precision@10": 0.731, "mrr@10": 0.815, "ndcg@10": 0.757, "ann_recall@10": 0.962},
            ),
        ],
        source="clickhouse://127.0.0.1:9000/vsx",
        notes=["dwell_seconds excludes sessions shorter than 1 s (bot filter)."],
    )
    values.update(overrides)
    results = Results(**values)
    return results.model_copy(update={"decisions": decide(results)})


def srm_failed(results: Results) -> Results:
    """The same experiment with a broken split: treatment_a lost a tenth of its users."""
    srm = SrmResult(
        p_value=0.00002,
        observed={"control": 5000, "treatment_a": 4480, "treatment_b": 4988},
        expected={"control": 4822.7, "treatment_a": 4822.7, "treatment_b": 4822.7},
        ok=False,
    )
    broken = results.model_copy(update={"srm": srm})
    return broken.model_copy(update={"decisions": decide(broken)})


def empty_row(metric: str, variant: str) -> MetricResult:
    """A row the analysis could not compute: every estimate None, with the reason in `note`."""
    return MetricResult(
        metric=metric,
        variant=variant,
        method="delta",
        control_mean=None,
        treatment_mean=None,
        abs_lift=None,
        abs_ci_low=None,
        abs_ci_high=None,
        rel_lift=None,
        ci_low=None,
        ci_high=None,
        p_value=None,
        n_control=0,
        n_treatment=0,
        note="no exposures logged yet",
    )


@pytest.fixture(scope="module")
def results() -> Results:
    """Module-scoped because rendering takes ~0.5 s; tests change copies (`model_copy`), never this."""
    return make_results()


@pytest.fixture
def results_factory() -> Callable[..., Results]:
    """`make_results(**overrides)`: the full experiment with some fields replaced."""
    return make_results


@pytest.fixture(scope="module")
def srm_failed_results(results: Results) -> Results:
    return srm_failed(results)


@pytest.fixture
def row_factory() -> Callable[..., MetricResult]:
    """`metric_row(metric, variant, method, control_mean, rel, half_width, p, p_adj, **extra)`."""
    return metric_row


@pytest.fixture(scope="module")
def no_data_results() -> Results:
    """An experiment that just started: no rows have values, no daily points, SRM cannot be computed."""
    return make_results(
        experiment="just-started",
        status="draft",
        srm=SrmResult(p_value=None, observed={}, expected={}, ok=True),
        results=[empty_row("ctr", "treatment_a"), empty_row("dwell_seconds", "treatment_a")],
        guardrails=[],
        daily=[],
        timeline=[],
        offline=[],
        notes=[],
    )
