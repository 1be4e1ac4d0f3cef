"""`Metrics` as the request path uses it: cached label children, the throttled event-counter mirror."""

from __future__ import annotations

from serving.metrics import Metrics
from tests.serving.conftest import metric_samples


def _samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return metric_samples(metrics.render().decode())


def test_search_served_counts_per_variant_and_status() -> None:
    metrics = Metrics()
    for status in ("200", "200", "500"):
        metrics.search_served("exp", "treatment", status, 0.003, 20 if status == "200" else 0)
    metrics.search_served("exp", "control", "200", 0.002, 20)
    found = _samples(metrics)
    assert found[("vsx_searches_total", (("experiment", "exp"), ("status", "200"), ("variant", "treatment")))] == 2
    assert found[("vsx_searches_total", (("experiment", "exp"), ("status", "500"), ("variant", "treatment")))] == 1
    assert found[("vsx_search_results_total", (("experiment", "exp"), ("variant", "treatment")))] == 40
    assert found[("vsx_search_latency_seconds_count", (("experiment", "exp"), ("variant", "control")))] == 1


def test_requests_mirror_the_sink_counters_at_most_every_interval_and_a_scrape_at_once() -> None:
    metrics = Metrics()
    counts = {"logged": 1, "sent": 0}
    metrics.mirror_sink(lambda: counts)
    counts = {"logged": 5, "sent": 3}
    metrics.mirror_sink(lambda: counts)  # within the interval: skipped, the request path stays cheap
    assert _samples(metrics)[("vsx_events", (("state", "logged"),))] == 1
    metrics.mirror_sink(lambda: counts, now=True)
    found = _samples(metrics)
    assert found[("vsx_events", (("state", "logged"),))] == 5 and found[("vsx_events", (("state", "sent"),))] == 3
