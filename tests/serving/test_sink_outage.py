"""A down broker never fails or slows a search: the Kafka sink spools, the request path only enqueues."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from event_logging.config import KafkaConfig
from search_core.catalog import Catalog
from serving.app import create_app
from serving.config import ServingConfig
from serving.spool_slot import claim_spool_slot
from tests.serving.conftest import free_port, make_config

pytestmark = pytest.mark.integration  # the real Kafka sink's child process, its broker down


def test_search_succeeds_with_the_broker_down(config: ServingConfig, catalog: Catalog, tmp_path: Path) -> None:
    dead = KafkaConfig(bootstrap_servers=[f"127.0.0.1:{free_port()}"], request_timeout_ms=500, send_timeout_s=0.5)
    kafka_config = make_config(config.artifacts_dir, config.experiments_dir, config.chdb_path, tmp_path / "spool",
                               embedded=False, kafka=dead)  # fmt: skip
    with TestClient(create_app(kafka_config)) as client:
        started = time.perf_counter()
        for i in range(5):
            resp = client.post("/v1/search", json={"image_id": catalog.query_ids[i]}, headers={"X-User-Id": f"s{i}"})
            assert resp.status_code == 200, resp.text
            body = resp.json()
            event = {"event_type": "click", "request_id": body["request_id"], "position": 1,
                     "result_image_id": body["results"][0]["image_id"]}  # fmt: skip
            assert client.post("/v1/events", json=event, headers={"X-User-Id": f"s{i}"}).status_code == 202
        assert time.perf_counter() - started < 5
        counters = client.app.state.service.sink.counters()
        assert counters["logged"] == 5 * 11 + 5
        assert counters["dropped"] == 0


def test_each_process_spools_into_its_own_slot(tmp_path: Path) -> None:
    first = claim_spool_slot(tmp_path)
    second = claim_spool_slot(tmp_path)  # another worker: the first slot is locked
    assert (first.path.name, second.path.name) == ("slot-0", "slot-1")
    first.release()
    again = claim_spool_slot(tmp_path)  # a restarted worker takes the free slot and replays what is in it
    assert again.path.name == "slot-0"
    second.release()
    again.release()
