"""`vsx ingest` reads kafka/clickhouse settings, migrates, ingests and reports what it did."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from event_logging.clickhouse_store import ClickHouseStore
from event_logging.config import ClickHouseConfig, KafkaConfig, SpoolConfig
from event_logging.kafka_sink import KafkaEventSink
from tests.event_logging.event_helpers import ids, searches, stored_ids
from vsx.cli import app
from vsx.settings import get_settings

pytestmark = pytest.mark.integration


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch, kafka_config: KafkaConfig, clickhouse_db_url: str) -> Iterator[None]:
    monkeypatch.setenv("VSX_KAFKA__BOOTSTRAP_SERVERS", json.dumps(kafka_config.bootstrap_servers))
    monkeypatch.setenv("VSX_KAFKA__TOPIC", kafka_config.topic)
    monkeypatch.setenv("VSX_KAFKA__CONSUMER_GROUP", kafka_config.consumer_group)
    monkeypatch.setenv("VSX_CLICKHOUSE__URL", clickhouse_db_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_vsx_ingest_consumes_into_clickhouse(
    settings_env: None, kafka_config: KafkaConfig, clickhouse_db_url: str, tmp_path: Path
) -> None:
    events = searches(200)
    sink = KafkaEventSink(kafka_config, SpoolConfig(directory=tmp_path))
    sink.log_many(events)
    assert sink.flush(30)
    sink.close()
    result = CliRunner().invoke(app, ["ingest", "--max-events", str(len(events)), "--batch-timeout", "0.3"])
    assert result.exit_code == 0, result.output
    assert f"ingested {len(events)} events" in result.output
    store = ClickHouseStore(ClickHouseConfig(url=clickhouse_db_url))
    assert stored_ids(store) == ids(events)
    store.close()
