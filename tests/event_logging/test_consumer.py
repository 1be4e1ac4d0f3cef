"""`Ingestor` against Tansu + ClickHouse: poison messages, and a consumer group of two sharing the work."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from kafka import KafkaProducer

from event_logging.clickhouse_store import ClickHouseStore
from event_logging.config import ClickHouseConfig, KafkaConfig, SpoolConfig
from event_logging.kafka_sink import KafkaEventSink
from event_logging.schema import serialize
from event_logging.topics import ensure_topic
from tests.event_logging.event_helpers import ids, ingesting, searches, stored_counts, stored_ids, wait_for

pytestmark = pytest.mark.integration


def test_poison_messages_land_in_dead_letters_and_the_rest_flows(
    kafka_config: KafkaConfig, ch_store: ClickHouseStore
) -> None:
    """Fault 4: not JSON, wrong schema, wrong version — alone and inside a packed message."""
    good = searches(40)  # 173 events
    wrong_version = orjson.loads(serialize(good[0])) | {
        "schema_version": 99,
        "event_id": "00000000-0000-4000-8000-000000000001",
    }
    poison = [b"not json at all", b'{"event_type": "search", "user_id": "u"}', orjson.dumps(wrong_version), b"[1, 2]"]
    ensure_topic(kafka_config)
    producer = KafkaProducer(bootstrap_servers=kafka_config.bootstrap_servers)
    bad_sent = 0
    for i, event in enumerate(good):
        producer.send(kafka_config.topic, key=event.user_id.encode(), value=serialize(event))
        if i % 10 == 0:
            producer.send(kafka_config.topic, key=b"bad", value=poison[bad_sent % len(poison)])
            bad_sent += 1
    mixed = b"\n".join([serialize(good[0]), b"{broken", serialize(good[1])])  # a packed message with one bad line
    producer.send(kafka_config.topic, key=b"mixed", value=mixed)
    producer.flush(10)
    producer.close()

    with ingesting(kafka_config, ch_store, batch_size=1_000, batch_timeout_s=0.3):
        wait_for(lambda: stored_ids(ch_store) == ids(good), 30, "all valid events")
        wait_for(
            lambda: ch_store.query(f"SELECT count() FROM {ch_store.database}.dead_letters")[0][0] == bad_sent + 1,
            15,
            "every poison message in dead_letters",
        )
    assert stored_counts(ch_store)[1] == len(good)
    letters = dict(ch_store.query(f"SELECT raw, reason FROM {ch_store.database}.dead_letters"))
    assert letters.keys() == {p.decode() for p in poison} | {"{broken"}
    assert letters["not json at all"].startswith("not JSON")
    assert "schema_version" in letters[orjson.dumps(wrong_version).decode()]
    assert "must be a JSON object" in letters["[1, 2]"]


def test_two_ingestors_in_one_group_share_partitions_without_loss(
    kafka_config: KafkaConfig, clickhouse_db_url: str, tmp_path: Path
) -> None:
    stores = [ClickHouseStore(ClickHouseConfig(url=clickhouse_db_url)) for _ in range(2)]
    stores[0].migrate()
    ensure_topic(kafka_config)
    events = searches(3_000, users=97)
    sink = KafkaEventSink(kafka_config, SpoolConfig(directory=tmp_path))
    with (
        ingesting(kafka_config, stores[0], batch_size=2_000, batch_timeout_s=0.3) as first,
        ingesting(kafka_config, stores[1], batch_size=2_000, batch_timeout_s=0.3) as second,
    ):
        wait_for(
            lambda: (
                len(first.assigned) + len(second.assigned) == kafka_config.partitions
                and first.assigned
                and second.assigned
            ),
            30,
            "both members assigned",
        )
        sink.log_many(events)
        assert sink.flush(30)
        wait_for(lambda: stored_counts(stores[0])[1] == len(events), 60, "every event stored")
    sink.close()
    assert first.stats.inserted > 0 and second.stats.inserted > 0
    assert stored_ids(stores[0]) == ids(events)
    for store in stores:
        store.close()
