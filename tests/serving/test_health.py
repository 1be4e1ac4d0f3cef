"""/healthz, /readyz and /metrics (Prometheus text: latency per experiment/variant, results, events, errors)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from search_core.catalog import Catalog
from tests.serving.conftest import metric_samples


def test_health_and_ready(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "generation": None}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["generation"] >= 1


def samples(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    resp = client.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    return metric_samples(resp.text)


def test_metrics_count_searches_results_events_and_errors(client: TestClient, catalog: Catalog) -> None:
    body = client.post(
        "/v1/search", json={"image_id": catalog.query_ids[0], "k": 7}, headers={"X-User-Id": "rita"}
    ).json()
    client.post("/v1/search", json={"image_id": "nope"}, headers={"X-User-Id": "rita"})
    found = samples(client)
    labels = (("experiment", "enc-v1"), ("variant", body["variant"]))
    assert found[("vsx_search_latency_seconds_count", labels)] >= 1
    assert found[("vsx_search_results_total", labels)] >= 7
    assert found[("vsx_searches_total", tuple(sorted((*labels, ("status", "200")))))] >= 1
    assert found[("vsx_http_errors_total", (("code", "unknown_image"),))] >= 1
    assert found[("vsx_events", (("state", "logged"),))] >= 8
