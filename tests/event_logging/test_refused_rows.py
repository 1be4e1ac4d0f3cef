"""A row the store refuses goes to dead letters alone, counted; every other row of its batch is inserted.

Regression tests: one event timestamped before 1970 made the embedded sink drop its whole batch
(19 events of other users with it), and the same refusal in `vsx ingest` (a value ClickHouse's driver cannot put in
its column) was classed as "store unavailable" and retried forever. Refusals here are real: a pre-1970 `ts` built
with the validation-free constructor, and a `MATERIALIZED throwIf(user_id = 'poison')` column, which makes the
server (or chdb) refuse exactly the rows of user `poison`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from kafka import KafkaProducer

from event_logging.clickhouse_store import ClickHouseStore
from event_logging.config import KafkaConfig
from event_logging.embedded_sink import EMBEDDED_SOURCE
from event_logging.errors import EventStoreError
from event_logging.factory import make_sink, open_store
from event_logging.schema import BaseEvent, ClickEvent, MalformedEventError, parse_event, serialize
from event_logging.store import EventStore
from event_logging.topics import ensure_topic
from tests.event_logging.event_helpers import ids, ingesting, searches, stored_ids, wait_for

pytestmark = pytest.mark.integration


def poison(n: int) -> list[BaseEvent]:
    return [ClickEvent(request_id=f"p{i}", user_id="poison", result_image_id="x", position=1) for i in range(n)]


def guard(store: EventStore) -> None:
    """Make the store refuse every row of user `poison` (18.16 and chdb both have `throwIf`)."""
    store.query(f"ALTER TABLE {store.database}.events ADD COLUMN guard UInt8 MATERIALIZED throwIf(user_id = 'poison')")


def dead_letters(store: EventStore) -> list[tuple[str, int, int, str, str]]:
    return store.query(f"SELECT topic, partition, offset, reason, raw FROM {store.database}.dead_letters")


def test_refused_rows_are_isolated_and_the_rest_inserted(store: EventStore) -> None:
    store.migrate()
    guard(store)
    good = searches(12)  # 60 events
    bad = poison(3)
    events = [*good[:5], bad[0], *good[5:40], bad[1], bad[2], *good[40:]]
    refused = store.insert_events_isolating(events)
    assert [index for index, _ in refused] == [5, 41, 42]
    assert all("throwIf" in reason for _, reason in refused)
    assert stored_ids(store) == ids(good)


def test_a_batch_refused_row_by_row_is_refused_as_a_whole(store: EventStore) -> None:
    """Every row refused alone means the statement itself fails (here: rows no one may insert)."""
    store.migrate()
    guard(store)
    with pytest.raises(EventStoreError, match="throwIf"):
        store.insert_events_isolating(poison(4))
    assert store.insert_events_isolating(poison(1))[0][0] == 0  # a single row is just a refused row


def test_values_the_columns_cannot_hold_are_malformed_events() -> None:
    """chdb stored position 70,000 as 4,464 and a 2200 timestamp as 2106 without a word: the schema refuses them."""
    base = orjson.loads(serialize(ClickEvent(request_id="r", user_id="u", result_image_id="x", position=1)))
    for change in ({"position": 70_000}, {"ts": "2200-01-01T00:00:00Z"}, {"ts": "1969-12-31T23:59:59Z"}):
        with pytest.raises(MalformedEventError):
            parse_event(orjson.dumps({**base, **change}))
    with pytest.raises(MalformedEventError, match="result_count"):
        parse_event(orjson.dumps({**orjson.loads(serialize(searches(1)[0])), "result_count": -1}))


def test_embedded_sink_dead_letters_the_pre_1970_event_and_inserts_the_other_19(
    chdb_path: Path, tmp_path: Path
) -> None:
    store = open_store(chdb_path=chdb_path)
    store.migrate()
    others = searches(5, users=5)[:19]  # 19 events of five users
    assert len(others) == 19 and len({e.user_id for e in others}) == 5
    # unvalidated (pydantic's `model_construct`): the schema itself refuses a ts before 1970
    old = ClickEvent.model_construct(request_id="r", user_id="sim", result_image_id="x", position=1,
                                     ts=datetime(1960, 1, 1, tzinfo=UTC))  # fmt: skip
    sink = make_sink(embedded=True, kafka=KafkaConfig(), spool_dir=tmp_path, store=store)
    sink.log_many([*others[:7], old, *others[7:]])
    assert sink.flush(30)
    sink.close()
    counts = sink.counters()
    assert (counts["sent"], counts["dead_letters"], counts["dropped"]) == (19, 1, 0)
    assert stored_ids(store) == ids(others)
    ((topic, partition, offset, reason, raw),) = dead_letters(store)
    assert (topic, partition, offset) == (EMBEDDED_SOURCE, 0, 0)
    assert reason.startswith("refused by the store: chdb refused the statement")
    assert orjson.loads(raw)["event_id"] == str(old.event_id)


def test_ingest_dead_letters_refused_events_with_their_message_and_goes_on(
    kafka_config: KafkaConfig, ch_store: ClickHouseStore
) -> None:
    guard(ch_store)
    good = searches(30)
    bad = poison(2)
    ensure_topic(kafka_config)
    producer = KafkaProducer(bootstrap_servers=kafka_config.bootstrap_servers)
    for event in good[:50]:
        producer.send(kafka_config.topic, key=b"k", value=serialize(event))
    producer.send(kafka_config.topic, key=b"k", value=b"\n".join(serialize(e) for e in [good[50], bad[0], good[51]]))
    for event in [*good[52:], bad[1]]:
        producer.send(kafka_config.topic, key=b"k", value=serialize(event))
    producer.flush(10)
    producer.close()
    with ingesting(kafka_config, ch_store, batch_size=1_000, batch_timeout_s=0.3) as ingestor:
        wait_for(lambda: stored_ids(ch_store) == ids(good), 30, "every good event")
        wait_for(lambda: len(dead_letters(ch_store)) == 2, 15, "both refused events in dead_letters")
    assert ingestor.stats.dead_letters == 2 and ingestor.stats.inserted == len(good)
    letters = {orjson.loads(raw)["request_id"]: (topic, offset, reason) for topic, _, offset, reason, raw in
               dead_letters(ch_store)}  # fmt: skip
    assert letters["p0"][:2] == (kafka_config.topic, 50) and letters["p1"][0] == kafka_config.topic
    assert all(reason.startswith("refused by the store: ClickHouse refused") for _, _, reason in letters.values())
