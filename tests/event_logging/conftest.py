"""Fixtures for the event pipeline tests: stores of both kinds, a unique topic per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from event_logging.chdb_store import ChdbStore
from event_logging.clickhouse_store import ClickHouseStore
from event_logging.config import ClickHouseConfig, KafkaConfig
from event_logging.store import EventStore


@pytest.fixture(params=["clickhouse", "chdb"])
def store(request: pytest.FixtureRequest) -> Iterator[EventStore]:
    """The contract suite runs once per backend: ClickHouse 18.16 server, then embedded chdb."""
    if request.param == "clickhouse":
        store: EventStore = ClickHouseStore(ClickHouseConfig(url=request.getfixturevalue("clickhouse_db_url")))
    else:
        store = ChdbStore.open(request.getfixturevalue("chdb_path"))
    yield store
    store.close()


@pytest.fixture
def ch_store(clickhouse_db_url: str) -> Iterator[ClickHouseStore]:
    """A migrated ClickHouse store in a fresh database."""
    store = ClickHouseStore(ClickHouseConfig(url=clickhouse_db_url))
    store.migrate()
    yield store
    store.close()


@pytest.fixture
def kafka_config(tansu_bootstrap: list[str]) -> KafkaConfig:
    """A topic and consumer group of this test alone, with timeouts short enough for fault tests."""
    suffix = uuid.uuid4().hex[:8]
    return KafkaConfig(
        bootstrap_servers=tansu_bootstrap,
        topic=f"events-{suffix}",
        consumer_group=f"ingest-{suffix}",
        partitions=4,
        linger_ms=5,
        request_timeout_ms=2_000,
        send_timeout_s=3.0,
    )
