"""The Kafka sink against a real broker: delivery, spooling while unreachable, replay, bounded spool."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from event_logging.config import KafkaConfig, SpoolConfig
from event_logging.kafka_sink import KafkaEventSink
from event_logging.schema import parse_event
from event_logging.wire import shard_key
from tests.event_logging.event_helpers import assert_replayed, ids, read_topic, searches
from vsx.services import free_port

pytestmark = pytest.mark.integration


def _unreachable(config: KafkaConfig) -> KafkaConfig:
    return config.model_copy(update={"bootstrap_servers": [f"127.0.0.1:{free_port()}"]})


def test_events_arrive_keyed_by_user_shard_in_order(kafka_config: KafkaConfig, tmp_path: Path) -> None:
    events = searches(200)
    sink = KafkaEventSink(kafka_config, SpoolConfig(directory=tmp_path))
    sink.log_many(events[:500])
    for event in events[500:]:
        sink.log(event)
    assert sink.flush(30)
    sink.close()
    assert sink.counters() == {"logged": len(events), "sent": len(events), "spooled": 0, "dropped": 0, "replayed": 0,
                               "dead_letters": 0}  # fmt: skip
    received = [(key, parse_event(line)) for key, line in read_topic(kafka_config)]
    assert all(key == shard_key(e.user_id, kafka_config.user_shards) for key, e in received)
    assert {str(e.event_id) for _, e in received} == ids(events)
    for user in ("user0", "user7"):
        assert [e for _, e in received if e.user_id == user] == [e for e in events if e.user_id == user]


def test_unreachable_broker_spools_and_next_process_replays(kafka_config: KafkaConfig, tmp_path: Path) -> None:
    events = searches(100)
    down = KafkaEventSink(_unreachable(kafka_config), SpoolConfig(directory=tmp_path))
    down.log_many(events)
    assert down.flush(10)
    down.close(timeout=2)
    assert down.counters()["spooled"] == len(events) and down.counters()["sent"] == 0
    assert list(tmp_path.glob("*.seg")), "close() seals the spool segment"
    assert_replayed(kafka_config, tmp_path, events)


def test_full_spool_drops_loudly_and_never_blocks(
    kafka_config: KafkaConfig, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    events = searches(2_000)
    spool = SpoolConfig(directory=tmp_path, max_bytes=64 * 1024, segment_bytes=16 * 1024, fsync="never")
    small_messages = kafka_config.model_copy(update={"max_events_per_message": 20})  # several fit the 64 KiB
    sink = KafkaEventSink(_unreachable(small_messages), spool)
    with caplog.at_level(logging.ERROR, logger="event_logging.sink"):
        for start in range(0, len(events), 100):
            sink.log_many(events[start : start + 100])
        assert sink.flush(20)
        sink.close(timeout=2)
    counts = sink.counters()
    assert counts["dropped"] > 0 and counts["spooled"] > 0
    assert counts["spooled"] + counts["dropped"] == counts["logged"] == len(events)
    assert any("EVENTS DROPPED" in r.getMessage() for r in caplog.records)
