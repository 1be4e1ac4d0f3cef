"""GET /v1/experiments, /v1/experiments/{name} and /v1/assignment."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_lists_every_experiment_with_its_status(client: TestClient) -> None:
    resp = client.get("/v1/experiments")
    assert resp.status_code == 200
    statuses = {e["name"]: e["status"] for e in resp.json()}
    assert statuses == {"enc-v1": "running", "rerank-v1": "running", "draft-v1": "draft"}


def test_one_experiment(client: TestClient) -> None:
    body = client.get("/v1/experiments/enc-v1").json()
    assert body["layer"] == "ranking"
    assert [v["name"] for v in body["variants"]] == ["control", "treatment"]
    assert body["variants"][1]["index"] == "pixels-hnsw@1"


def test_unknown_experiment_is_404(client: TestClient) -> None:
    resp = client.get("/v1/experiments/nope")
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "unknown_experiment"


def test_assignment_shows_experiments_and_the_served_configuration(client: TestClient) -> None:
    plain = client.get("/v1/assignment", params={"user_id": "olga"}).json()
    assert [a["experiment"] for a in plain["assignments"]] == ["enc-v1"]
    web = client.get("/v1/assignment", params={"user_id": "olga"}, headers={"X-Attr-Platform": "web"}).json()
    assert web["attributes"] == {"platform": "web"}
    assert [a["experiment"] for a in web["assignments"]] == ["enc-v1", "rerank-v1"]
    variant = web["assignments"][0]["variant"]
    assert web["served"]["index"] == ("pixels-flat@1" if variant == "control" else "pixels-hnsw@1")
    assert web["served"]["k"] == 10


def test_assignment_needs_a_user_id(client: TestClient) -> None:
    resp = client.get("/v1/assignment")
    assert resp.status_code == 422
    assert "user_id" in resp.json()["error"]["message"]
