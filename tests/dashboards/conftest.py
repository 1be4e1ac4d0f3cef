"""Hand-built `Results` documents for the report tests, and a headless Chromium driver.

The numbers are made up but consistent (lifts inside their intervals, Holm-adjusted p ≥ raw p),
so the rendered report looks like a real one when a person opens the screenshot.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest

from analysis.results import DailyPoint, GuardrailResult, MetricResult, OfflineMetrics, Results, SrmResult


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
    **extra: object,
) -> MetricResult:
    """A row whose absolute numbers follow from the relative ones, as the analysis would write it."""
    treatment_mean = control_mean * (1 + rel)
    return MetricResult(
        metric=metric,
        variant=variant,
        method=method,
        control_mean=control_mean,
        treatment_mean=treatment_mean,
        abs_lift=treatment_mean - control_mean,
        abs_ci_low=control_mean * (rel - half_width),
        abs_ci_high=control_mean * (rel + half_width),
        rel_lift=rel,
        ci_low=rel - half_width,
        ci_high=rel + half_width,
        p_value=p,
        p_value_adjusted=p_adj,
        significant=p_adj is not None and p_adj < 0.05,
        n_control=n,
        n_treatment=n + 37,
        **extra,
    )


def daily_points(days: int = 14) -> list[DailyPoint]:
    """Exposures that ramp up then flatten; treatment_a's cumulative CTR settles ~4% above control."""
    points = []
    start = date(2024, 5, 1)
    totals = {"control": 0, "treatment_a": 0, "treatment_b": 0}
    for day in range(days):
        for variant, offset, drift in (("control", 0, 0.0), ("treatment_a", 11, 0.041), ("treatment_b", -7, -0.006)):
            users = 300 + 25 * min(day, 6) + offset + (day * 13 % 17)
            totals[variant] += users
            wobble = 0.03 * (-1) ** day / (day + 1)
            points.append(
                DailyPoint(
                    date=(start + timedelta(days=day)).isoformat(),
                    variant=variant,
                    users=users,
                    cumulative_users=totals[variant],
                    cumulative_value=0.052 * (1 + drift + (wobble if variant != "control" else 0)),
                )
            )
    return points


def make_results(**overrides: object) -> Results:
    """A full experiment: three metrics, two treatments, delta/CUPED/sequential rows, guardrails, daily, offline."""
    rows = [
        metric_row("ctr", "treatment_a", "delta", 0.052, 0.041, 0.021, 0.00011, 0.0003),
        metric_row("ctr", "treatment_a", "cuped", 0.052, 0.043, 0.016, 0.00002, 0.00008, variance_reduction=0.234),
        metric_row("ctr", "treatment_b", "delta", 0.052, -0.006, 0.02, 0.56, 0.9),
        metric_row("ctr", "treatment_b", "cuped", 0.052, -0.005, 0.016, 0.53, 0.9, variance_reduction=0.229),
        metric_row("dwell_seconds", "treatment_a", "delta", 41.3, 0.012, 0.018, 0.19, 0.57),
        metric_row("dwell_seconds", "treatment_b", "delta", 41.3, -0.031, 0.017, 0.0004, 0.0016),
        metric_row("zero_click_rate", "treatment_a", "delta", 0.31, -0.02, 0.03, 0.19, 0.57),
        metric_row("zero_click_rate", "treatment_b", "delta", 0.31, 0.004, 0.03, 0.8, 0.9),
    ]
    values: dict[str, object] = dict(
        experiment="encoder-v2-vs-v1",
        generated_at=datetime(2024, 5, 15, 9, 30, tzinfo=UTC),
        status="running",
        primary_metric="ctr",
        srm=SrmResult(
            p_value=0.41,
            observed={"control": 5000, "treatment_a": 5037, "treatment_b": 4988},
            expected={"control": 5008.3, "treatment_a": 5008.3, "treatment_b": 5008.3},
            ok=True,
        ),
        results=rows,
        guardrails=[
            GuardrailResult(metric="latency_p95_ms", variant="treatment_a", value=212.0, max=250.0, ok=True),
            GuardrailResult(metric="latency_p95_ms", variant="treatment_b", value=268.4, max=250.0, ok=False),
            GuardrailResult(metric="zero_result_rate", variant="treatment_a", value=None, max=0.02, ok=None),
        ],
        daily=daily_points(),
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
    return Results(**values)


def srm_failed(results: Results) -> Results:
    """The same experiment with a broken split: treatment_a lost a tenth of its users."""
    srm = SrmResult(
        p_value=0.00002,
        observed={"control": 5000, "treatment_a": 4480, "treatment_b": 4988},
        expected={"control": 4822.7, "treatment_a": 4822.7, "treatment_b": 4822.7},
        ok=False,
    )
    return results.model_copy(update={"srm": srm})


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
        guardrails=[GuardrailResult(metric="latency_p95_ms", variant="treatment_a", value=None, max=250.0, ok=None)],
        daily=[],
        offline=[],
        notes=[],
    )
