"""Plain helper functions for the event pipeline tests (fixtures live in conftest.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer, TopicPartition

from event_logging.config import KafkaConfig, SpoolConfig
from event_logging.consumer import Ingestor
from event_logging.kafka_sink import KafkaEventSink
from event_logging.schema import BaseEvent, ClickEvent, ImpressionEvent, SearchEvent, parse_event
from event_logging.store import EventStore, deduped_events_sql
from event_logging.wire import unpack


def searches(n: int, *, users: int = 50, seed_user: str = "user", start: int = 0) -> list[BaseEvent]:
    """n searches (numbered from `start`), each with 3 impressions, every third with a click; odd searches carry
    user attributes (schema version 4), even ones none."""
    base = datetime(2024, 3, 1, tzinfo=UTC)
    events: list[BaseEvent] = []
    for i in range(start, start + n):
        common: dict[str, Any] = dict(
            request_id=f"req{i}",
            user_id=f"{seed_user}{i % users}",
            experiment="exp",
            ts=base + timedelta(seconds=i),
            variant="treatment" if i % 2 else "control",
        )
        attributes = {"platform": ("web", "ios")[i % 4 // 2], "country": "de"} if i % 2 else {}
        events.append(SearchEvent(**common, latency_ms=12.5, result_count=3, attributes=attributes))
        for p in range(1, 4):
            events.append(ImpressionEvent(**common, result_image_id=f"img{p}", position=p, score=1 / p))
        if i % 3 == 0:
            events.append(ClickEvent(**common, result_image_id="img1", position=1))
    return events


def stored_counts(store: EventStore) -> tuple[int, int]:
    """(rows in `events`, distinct event_ids through the analysis read path)."""
    db = store.database
    ((rows,),) = store.query(f"SELECT count() FROM {db}.events")
    ((distinct,),) = store.query(f"SELECT count() FROM {deduped_events_sql(db)}")
    return rows, distinct


def stored_ids(store: EventStore) -> set[str]:
    return {row[0] for row in store.query(f"SELECT DISTINCT event_id FROM {store.database}.events")}


def ids(events: list[BaseEvent]) -> set[str]:
    return {str(e.event_id) for e in events}


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll until `predicate()` holds; fail the test naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


@contextmanager
def ingesting(kafka: KafkaConfig, store: EventStore, **kwargs: Any) -> Iterator[Ingestor]:
    """An Ingestor running in a thread for the duration of the block; stopped and joined after it."""
    ingestor = Ingestor(kafka, store, **kwargs)
    stop = threading.Event()
    thread = threading.Thread(target=ingestor.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield ingestor
    finally:
        stop.set()
        thread.join(30)
        assert not thread.is_alive(), "ingestor did not stop"


def read_topic(kafka: KafkaConfig, idle_ms: int = 2_000) -> list[tuple[bytes, bytes]]:
    """Every (key, event line) in the topic, partition by partition, without a consumer group."""
    consumer = KafkaConsumer(
        bootstrap_servers=kafka.bootstrap_servers,
        consumer_timeout_ms=idle_ms,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    consumer.assign([TopicPartition(kafka.topic, p) for p in range(kafka.partitions)])
    consumer.seek_to_beginning()
    lines = [(m.key, line) for m in consumer for line in unpack(m.value)]
    consumer.close()
    return lines


def assert_replayed(kafka: KafkaConfig, spool_dir: Path, events: list[BaseEvent]) -> None:
    """A fresh in-process Kafka sink on `spool_dir` replays exactly `events` into the topic and empties the spool."""
    up = KafkaEventSink(kafka, SpoolConfig(directory=spool_dir))
    assert up.flush(30)
    up.close()
    assert up.counters()["replayed"] == len(events)
    assert {str(parse_event(line).event_id) for _, line in read_topic(kafka)} == ids(events)
    assert not list(spool_dir.glob("*.seg*"))
