"""POST /v1/search: both query forms, the response contract, assignment, and the events it logs."""

from __future__ import annotations

import io
import uuid

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image
from threadpoolctl import threadpool_info

from search_core.catalog import Catalog
from serving.models import SearchResponse
from serving.query_body import QueryBody
from serving.service import INLINE_BELOW_MS
from tests.serving.conftest import stored_events


def query_id(catalog: Catalog) -> str:
    return catalog.query_ids[0]


def test_json_search_returns_ranked_results(client: TestClient, catalog: Catalog) -> None:
    qid = query_id(catalog)
    resp = client.post("/v1/search", json={"image_id": qid, "k": 5}, headers={"X-User-Id": "alice"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    uuid.UUID(body["request_id"])
    assert body["query_image_id"] == qid
    assert [r["position"] for r in body["results"]] == [1, 2, 3, 4, 5]
    scores = [r["score"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True)
    assert qid not in [r["image_id"] for r in body["results"]]  # drop_query re-ranking
    first = body["results"][0]
    assert first["url"] == f"/v1/images/{first['image_id']}"
    assert "/" in first["image_id"]  # folder catalog ids are relative paths
    assert first["label"] in catalog.class_names
    assert body["latency_ms"] > 0
    # the body is built without the pydantic models: it must still be exactly what SearchResponse documents
    assert SearchResponse.model_validate(body).model_dump(mode="json") == body


def test_default_k_comes_from_the_served_variant(client: TestClient, catalog: Catalog) -> None:
    resp = client.post("/v1/search", json={"image_id": query_id(catalog)}, headers={"X-User-Id": "bob"})
    assert len(resp.json()["results"]) == 10  # platform default k


def test_upload_search_matches_catalog_search(client: TestClient, catalog: Catalog) -> None:
    qid = catalog.gallery_ids[0]  # an indexed image: drop_query removes it from its own results
    png = catalog.png(qid)
    by_id = client.post("/v1/search", json={"image_id": qid, "k": 6}, headers={"X-User-Id": "carol"}).json()
    upload = client.post(
        "/v1/search", files={"image": ("q.png", png, "image/png")}, data={"k": "6"}, headers={"X-User-Id": "carol"}
    )
    assert upload.status_code == 200, upload.text
    body = upload.json()
    assert body["query_image_id"] is None
    # An upload is not known to be the catalog image, so drop_query keeps it: it comes first, then the same list.
    ids = [r["image_id"] for r in body["results"]]
    assert ids[0] == qid
    assert ids[1:] == [r["image_id"] for r in by_id["results"]][:5]


def test_upload_jpeg_rgb_is_accepted(client: TestClient) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 10, 10)).save(buf, format="JPEG")
    resp = client.post(
        "/v1/search", files={"image": ("x.jpg", buf.getvalue(), "image/jpeg")}, headers={"X-User-Id": "d"}
    )
    assert resp.status_code == 200, resp.text


def test_assignment_is_stable_per_user_and_reported(client: TestClient, catalog: Catalog) -> None:
    seen = set()
    for _ in range(3):
        body = client.post("/v1/search", json={"image_id": query_id(catalog)}, headers={"X-User-Id": "erin"}).json()
        seen.add((body["experiment"], body["variant"]))
    assert len(seen) == 1
    variants = {
        client.post("/v1/search", json={"image_id": query_id(catalog)}, headers={"X-User-Id": f"u{i}"}).json()[
            "variant"
        ]
        for i in range(40)
    }
    assert variants == {"control", "treatment"}


def test_targeting_attribute_header_adds_the_targeted_layer(client: TestClient, catalog: Catalog) -> None:
    plain = client.post("/v1/search", json={"image_id": query_id(catalog)}, headers={"X-User-Id": "frank"}).json()
    web = client.post(
        "/v1/search", json={"image_id": query_id(catalog)}, headers={"X-User-Id": "frank", "X-Attr-Platform": "web"}
    ).json()
    assert [a["experiment"] for a in plain["assignments"]] == ["enc-v1"]
    assert [a["experiment"] for a in web["assignments"]] == ["enc-v1", "rerank-v1"]


def test_search_logs_one_search_and_one_impression_per_result(
    client: TestClient, app: FastAPI, catalog: Catalog
) -> None:
    qid = query_id(catalog)
    body = client.post("/v1/search", json={"image_id": qid, "k": 4}, headers={"X-User-Id": "gina"}).json()
    events = stored_events(app, body["request_id"])
    searches = [e for e in events if e["event_type"] == "search"]
    impressions = [e for e in events if e["event_type"] == "impression"]
    assert len(searches) == 1 and len(impressions) == 4
    search = searches[0]
    assert (search["experiment"], search["variant"]) == ("enc-v1", body["variant"])
    assert (search["layer"], search["salt"], search["hash_version"]) == ("ranking", "enc-v1", 1)
    assert search["result_count"] == 4 and search["status_code"] == 200 and search["latency_ms"] > 0
    assert search["user_id"] == "gina" and search["query_image_id"] == qid
    assert [(e["position"], e["result_image_id"]) for e in impressions] == [
        (r["position"], r["image_id"]) for r in body["results"]
    ]
    assert abs(impressions[0]["score"] - body["results"][0]["score"]) < 1e-4


def test_user_in_two_layers_is_logged_once_per_experiment(client: TestClient, app: FastAPI, catalog: Catalog) -> None:
    headers = {"X-User-Id": "hank", "X-Attr-Platform": "web"}
    body = client.post("/v1/search", json={"image_id": query_id(catalog), "k": 3}, headers=headers).json()
    events = stored_events(app, body["request_id"])
    per_experiment = {}
    for e in events:
        per_experiment.setdefault(e["experiment"], []).append(e["event_type"])
    assert sorted(per_experiment) == ["enc-v1", "rerank-v1"]
    for types in per_experiment.values():
        assert sorted(types) == ["impression"] * 3 + ["search"]
    assert len({e["event_id"] for e in events}) == len(events)


def test_only_short_catalog_searches_run_on_the_event_loop(client: TestClient, app: FastAPI, catalog: Catalog) -> None:
    service = app.state.service
    by_id, upload = QueryBody(image_id=query_id(catalog), upload=None, k=5), QueryBody(None, b"png", 5)
    service.typical_ms = None
    assert not service.runs_inline(by_id)  # nothing measured yet: the thread pool
    resp = client.post("/v1/search", json={"image_id": query_id(catalog), "k": 5}, headers={"X-User-Id": "alice"})
    assert resp.status_code == 200
    assert service.typical_ms == pytest.approx(resp.json()["latency_ms"], abs=0.01)
    service.typical_ms = INLINE_BELOW_MS / 2
    assert service.runs_inline(by_id) and not service.runs_inline(upload)  # an upload's decode cost is unknown
    resp = client.post("/v1/search", json={"image_id": query_id(catalog), "k": 5}, headers={"X-User-Id": "alice"})
    assert resp.status_code == 200 and len(resp.json()["results"]) == 5  # served inline, same contract
    service.typical_ms = INLINE_BELOW_MS * 10  # e.g. a ResNet variant: back to the pool
    assert not service.runs_inline(by_id)


def test_blas_is_single_threaded_while_the_app_serves(client: TestClient, catalog: Catalog) -> None:
    """Re-ranking's small matrix products must not fan out to BLAS threads that fight torch's OpenMP workers."""
    resp = client.post("/v1/search", json={"image_id": query_id(catalog), "k": 5}, headers={"X-User-Id": "bo"})
    assert resp.status_code == 200
    numpy_blas = [pool for pool in threadpool_info() if pool["user_api"] == "blas" and "numpy" in pool["filepath"]]
    assert numpy_blas and all(pool["num_threads"] == 1 for pool in numpy_blas)


def test_response_names_the_encoder_and_index_that_ranked(client: TestClient, catalog: Catalog) -> None:
    """The page shows which configuration answered: the variant's index (Flat for control, HNSW for treatment)."""
    indexes = {"control": "pixels-flat@1", "treatment": "pixels-hnsw@1"}
    for user in ("ranker-a", "ranker-b", "ranker-c", "ranker-d"):
        body = client.post("/v1/search", json={"image_id": query_id(catalog)}, headers={"X-User-Id": user}).json()
        assert body["rankers"] == [{"encoder": "pixels@1", "index": indexes[body["variant"]]}]
