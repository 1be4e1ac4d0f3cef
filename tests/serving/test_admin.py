"""POST /v1/admin/reload: token-protected, atomic, refuses an invalid config (the old one stays live), and
reaches every worker through the reload stamp; startup refuses an invalid config loudly."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from search_core.catalog import Catalog
from serving.app import create_app
from serving.config import ServingConfig
from serving.errors import InvalidServingConfigError
from tests.experiments.test_hostile_yaml import LAUGHS
from tests.serving.conftest import (
    ADMIN_TOKEN,
    PLATFORM_YAML,
    RANKING_YAML,
    RERANK_YAML,
    make_config,
    memory_app,
    write_experiments,
)

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

BROKEN_YAML = RERANK_YAML.replace(
    "weight: 0.5, rerank: [{name: drop_query}]}", "weight: 0.7, rerank: [{name: drop_query}]}"
)
MISSING_ARTIFACT_YAML = (
    RANKING_YAML.replace("pixels-hnsw@1", "pixels-ivf@9")
    .replace("name: enc-v1", "name: enc-v2")
    .replace("salt: enc-v1", "salt: enc-v2")
    .replace("layer: ranking", "layer: other")
)


@pytest.fixture
def experiments(tmp_path: Path) -> Path:
    return write_experiments(tmp_path / "experiments", {"platform.yaml": PLATFORM_YAML, "enc-v1.yaml": RANKING_YAML})


@pytest.fixture
def reload_config(artifacts_dir: Path, chdb_dir: Path, experiments: Path, tmp_path: Path) -> ServingConfig:
    return make_config(artifacts_dir, experiments, chdb_dir, tmp_path / "spool")


def test_reload_swaps_in_the_new_config(reload_config: ServingConfig, experiments: Path) -> None:
    with TestClient(memory_app(reload_config)) as client:
        assert client.get("/readyz").json()["generation"] == 1
        (experiments / "rerank-v1.yaml").write_text(RERANK_YAML)
        resp = client.post("/v1/admin/reload", headers=AUTH)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["generation"] == 2 and body["experiments"] == ["enc-v1", "rerank-v1"]
        assert "index pixels-hnsw@1" in body["artifacts"]
        assignment = client.get("/v1/assignment", params={"user_id": "p"}, headers={"X-Attr-Platform": "web"}).json()
        assert [a["experiment"] for a in assignment["assignments"]] == ["enc-v1", "rerank-v1"]


def test_invalid_config_is_refused_with_every_error_and_the_old_one_stays_live(
    reload_config: ServingConfig, experiments: Path, catalog: Catalog
) -> None:
    with TestClient(memory_app(reload_config)) as client:
        (experiments / "rerank-v1.yaml").write_text(BROKEN_YAML)
        (experiments / "enc-v2.yaml").write_text(MISSING_ARTIFACT_YAML)
        resp = client.post("/v1/admin/reload", headers=AUTH)
        assert resp.status_code == 422, resp.text
        error = resp.json()["error"]
        assert error["code"] == "invalid_serving_config"
        assert len(error["errors"]) >= 2
        assert any("rerank-v1.yaml" in e and "weight" in e for e in error["errors"])
        assert any("enc-v2.yaml" in e and "pixels-ivf@9" in e for e in error["errors"])
        assert client.get("/readyz").json()["generation"] == 1
        assert [e["name"] for e in client.get("/v1/experiments").json()] == ["enc-v1"]
        search = client.post("/v1/search", json={"image_id": catalog.query_ids[0]}, headers={"X-User-Id": "q"})
        assert search.status_code == 200


def test_admin_needs_the_bearer_token(reload_config: ServingConfig) -> None:
    with TestClient(memory_app(reload_config)) as client:
        missing = client.post("/v1/admin/reload")
        wrong = client.post("/v1/admin/reload", headers={"Authorization": "Bearer nope"})
        for resp in (missing, wrong):
            assert resp.status_code == 401
            assert resp.json()["error"]["code"] == "unauthorized"
            assert resp.headers["www-authenticate"] == "Bearer"


def test_admin_is_disabled_without_a_configured_token(reload_config: ServingConfig) -> None:
    config = make_config(reload_config.artifacts_dir, reload_config.experiments_dir, reload_config.chdb_path,
                         reload_config.spool_dir, admin_token="")  # fmt: skip
    with TestClient(memory_app(config)) as client:
        resp = client.post("/v1/admin/reload", headers={"Authorization": "Bearer "})
        assert resp.status_code == 403
        assert resp.json()["error"]["code"] == "admin_disabled"


def test_a_reload_reaches_the_other_workers(reload_config: ServingConfig, experiments: Path, tmp_path: Path) -> None:
    """Two apps sharing a run_dir stand for two uvicorn workers; the admin call reaches one of them."""
    config = make_config(reload_config.artifacts_dir, experiments, reload_config.chdb_path, reload_config.spool_dir,
                         run_dir=tmp_path / "run", reload_poll_s=0.05)  # fmt: skip
    with TestClient(memory_app(config)) as first, TestClient(memory_app(config)) as second:
        (experiments / "rerank-v1.yaml").write_text(RERANK_YAML)
        assert first.post("/v1/admin/reload", headers=AUTH).status_code == 200
        deadline = time.monotonic() + 5
        while second.get("/readyz").json()["generation"] != 2:
            assert time.monotonic() < deadline, "the second worker never reloaded"
            time.sleep(0.05)
        assert first.get("/readyz").json()["generation"] == 2  # its own watcher did not reload it twice
        assert len(second.get("/v1/experiments").json()) == 2


def test_startup_refuses_an_invalid_config(reload_config: ServingConfig, experiments: Path) -> None:
    (experiments / "rerank-v1.yaml").write_text(BROKEN_YAML)
    with pytest.raises(InvalidServingConfigError) as info:
        create_app(reload_config)
    assert any("weight" in e for e in info.value.errors)


def test_startup_refuses_a_missing_experiments_folder(reload_config: ServingConfig, tmp_path: Path) -> None:
    config = make_config(reload_config.artifacts_dir, tmp_path / "nowhere", reload_config.chdb_path, tmp_path)
    with pytest.raises(InvalidServingConfigError, match="does not exist"):
        create_app(config)


def test_startup_refuses_query_parameters_the_index_lacks(reload_config: ServingConfig, experiments: Path) -> None:
    """Only a real query shows that an HNSW index has no `nprobe`; the probe at load time finds it."""
    (experiments / "enc-v1.yaml").write_text(
        RANKING_YAML.replace("index_params: {efSearch: 32}", "index_params: {nprobe: 8}")
    )
    with pytest.raises(InvalidServingConfigError) as info:
        create_app(reload_config)
    assert any("nprobe" in e for e in info.value.errors), info.value.errors


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (LAUGHS, "aliases expand"),
        (RANKING_YAML.replace("start: 2020-01-01T00:00:00Z", "start: 2026-02-30"), "day is out of range for month"),
        (RANKING_YAML.replace("start: 2020-01-01T00:00:00Z", "start: 0001-01-01T00:00:00+01:00"), "years 1-9999"),
        (RANKING_YAML.replace("layer: ranking", "layer: ranking\ntraffic: !!float abc"), "as float"),
        ("a: " + "[" * 5000 + "]" * 5000, "nest"),
        (RANKING_YAML.replace("index_params: {efSearch: 32}", "index_params: {efSearch: .inf}"), "efSearch"),
        (RANKING_YAML.replace("index_params: {efSearch: 32}", "index_params: {efSearch: .nan}"), "efSearch"),
    ],
)
def test_hostile_files_are_a_422_and_the_old_config_stays_live(
    reload_config: ServingConfig, experiments: Path, text: str, expected: str
) -> None:
    """Regression: each of these made the reload a 500 (or hung it, for the aliases)."""
    with TestClient(memory_app(reload_config)) as client:
        (experiments / "enc-v1.yaml").write_text(text)
        resp = client.post("/v1/admin/reload", headers=AUTH)
        assert resp.status_code == 422, resp.text
        assert any(expected in e for e in resp.json()["error"]["errors"]), resp.json()
        assert client.get("/readyz").json()["generation"] == 1
