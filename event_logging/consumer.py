"""`vsx ingest`: Kafka consumer group → batched inserts into the event store, offsets after inserts.

At-least-once: offsets are committed only after the batch they cover was inserted, so a crash between
insert and commit re-inserts that batch (duplicates, removed by `event_id` in analysis) and never skips
one. A batch closes at `batch_size` events or `batch_timeout_s` after its first message. While the store
is down the batch is retried with jittered exponential back-off (`retry`) and its partitions are paused — `poll` keeps
running, so the member stays in the group, but no offset moves and nothing is dropped. When partitions
are revoked (a member joins or leaves) the pending batch is inserted and committed first; if that fails
it is discarded and re-read from the last committed offset, by the new owner or, for a partition this
member keeps, by itself (kafka-python keeps a kept partition's position, so it seeks back). Messages that
are not valid events go to `dead_letters` with the reason, in the same batch, and ingest goes on; so do events
the store refuses one by one (the batch is split until each refused row stands alone, `insert_events_isolating`),
which would otherwise be retried forever.
"""

from __future__ import annotations

import logging
import threading
import time
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field

import tenacity
from kafka import ConsumerRebalanceListener, KafkaConsumer, TopicPartition
from kafka.errors import CommitFailedError, KafkaError
from kafka.structs import OffsetAndMetadata

from event_logging.config import KafkaConfig
from event_logging.errors import EventStoreUnavailable
from event_logging.retry import backoff
from event_logging.schema import BaseEvent, MalformedEventError, parse_event
from event_logging.store import DeadLetter, EventStore, refused_letter
from event_logging.wire import unpack

logger = logging.getLogger(__name__)

RETRY_BACKOFF_S = (0.25, 8.0)
"""First and longest wait between inserts of a batch while the store is down (`event_logging.retry`)."""


def _stop_when(stop: threading.Event, attempts: int | None) -> tenacity.stop.stop_base:
    """Stop retrying once `stop` is set, or after `attempts` attempts when given."""
    stopped = tenacity.stop_when_event_set(stop)
    return stopped if attempts is None else stopped | tenacity.stop_after_attempt(attempts)


@dataclass
class IngestStats:
    """Running totals of one `Ingestor.run` (what `vsx ingest` shows)."""

    inserted: int = 0
    dead_letters: int = 0
    batches: int = 0
    retries: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def rate(self) -> float:
        """Events inserted per second since start."""
        return self.inserted / max(time.monotonic() - self.started, 1e-9)


@dataclass
class _Batch:
    events: list[BaseEvent] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)
    offsets: dict[TopicPartition, int] = field(default_factory=dict)
    first: dict[TopicPartition, int] = field(default_factory=dict)
    opened: float = 0.0
    firsts: list[int] = field(default_factory=list)  # index in `events` of each message's first event
    origins: list[tuple[str, int, int]] = field(default_factory=list)  # (topic, partition, offset) of that message

    def add(self, topic: str, partition: int, offset: int, value: bytes | None) -> None:
        if not self.offsets:
            self.opened = time.monotonic()
        tp = TopicPartition(topic, partition)
        self.offsets[tp] = offset + 1
        self.first.setdefault(tp, offset)
        self.firsts.append(len(self.events))
        self.origins.append((topic, partition, offset))
        lines = unpack(value or b"")
        if not lines:
            self.dead.append(DeadLetter(topic, partition, offset, "empty message", value or b""))
        for line in lines:
            try:
                self.events.append(parse_event(line))
            except MalformedEventError as exc:
                self.dead.append(DeadLetter(topic, partition, offset, str(exc), line))

    def __len__(self) -> int:
        return len(self.events) + len(self.dead)

    def refused(self, index: int, reason: str) -> DeadLetter:
        """The dead letter of `events[index]`, which the store refused, pointing at the message it came in."""
        topic, partition, offset = self.origins[bisect_right(self.firsts, index) - 1]
        return refused_letter(self.events[index], reason, topic, partition, offset)


class _CommitOnRevoke(ConsumerRebalanceListener):
    def __init__(self, ingestor: Ingestor) -> None:
        self.ingestor = ingestor

    def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        self.ingestor._on_revoke(revoked)

    def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        self.ingestor._on_assign(assigned)


class Ingestor:
    """One consumer-group member. Run several (processes or machines) to share the partitions."""

    def __init__(
        self,
        kafka: KafkaConfig,
        store: EventStore,
        batch_size: int = 20_000,
        batch_timeout_s: float = 1.0,
        on_progress: Callable[[IngestStats], None] | None = None,
    ) -> None:
        self.kafka = kafka
        self.store = store
        self.batch_size = batch_size
        self.batch_timeout_s = batch_timeout_s
        self.on_progress = on_progress
        self.stats = IngestStats()
        self._batch = _Batch()
        self._consumer: KafkaConsumer | None = None
        self.assigned: frozenset[int] = frozenset()
        self._rewind: dict[TopicPartition, int] = {}

    def _new_consumer(self) -> KafkaConsumer:
        cfg = self.kafka
        return KafkaConsumer(
            bootstrap_servers=cfg.bootstrap_servers,
            group_id=cfg.consumer_group,
            client_id="vsx-ingest",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=cfg.session_timeout_ms,
            heartbeat_interval_ms=cfg.heartbeat_interval_ms,
            max_poll_records=2_000,
            max_poll_interval_ms=300_000,
            request_timeout_ms=max(cfg.request_timeout_ms, cfg.session_timeout_ms + 5_000),
        )

    def run(self, stop: threading.Event, max_events: int | None = None) -> IngestStats:
        """Consume until `stop` is set (or `max_events` events are inserted and committed)."""
        self.stats = IngestStats()
        consumer = self._consumer = self._new_consumer()
        consumer.subscribe([self.kafka.topic], listener=_CommitOnRevoke(self))
        try:
            while not stop.is_set():
                self._poll_into_batch(consumer, timeout_ms=100)
                if self._batch_due():
                    self._flush(consumer, stop)
                if max_events is not None and self.stats.inserted >= max_events:
                    break
            if len(self._batch):
                self._flush(consumer, stop, attempts=3)
        finally:
            self._consumer = None
            consumer.close(autocommit=False)
        return self.stats

    def _poll_into_batch(self, consumer: KafkaConsumer, timeout_ms: int) -> None:
        room = max(1, self.batch_size - len(self._batch))
        records = consumer.poll(timeout_ms=timeout_ms, max_records=min(room, 2_000))
        for messages in records.values():
            for m in messages:
                self._batch.add(m.topic, m.partition, m.offset, m.value)

    def _batch_due(self) -> bool:
        size = len(self._batch)
        if not size and not self._batch.offsets:
            return False
        return size >= self.batch_size or time.monotonic() - self._batch.opened >= self.batch_timeout_s

    def _flush(self, consumer: KafkaConsumer, stop: threading.Event, attempts: int | None = None) -> None:
        """Insert + commit the batch, retrying while the store is down (partitions paused meanwhile)."""

        def attempt() -> None:
            if self._batch.offsets:  # a rebalance during a wait may have inserted or discarded the batch
                self._insert_and_commit(consumer)

        def count(state: tenacity.RetryCallState) -> None:
            self.stats.retries += 1

        def pause(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            logger.warning(
                "event store unavailable (%s); retry %d in %.1f s, offsets held",
                exc, state.attempt_number, state.upcoming_sleep,
            )  # fmt: skip
            consumer.pause(*consumer.assignment())

        def give_up(state: tenacity.RetryCallState) -> None:
            logger.warning("store down at shutdown; %d events stay uncommitted in Kafka", len(self._batch))
            self._batch = _Batch()

        tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(EventStoreUnavailable),
            stop=_stop_when(stop, attempts),
            wait=backoff(*RETRY_BACKOFF_S),
            sleep=lambda seconds: self._wait_polling(consumer, stop, seconds),
            after=count,
            before_sleep=pause,
            retry_error_callback=give_up,
        )(attempt)
        consumer.resume(*consumer.paused())

    def _wait_polling(self, consumer: KafkaConsumer, stop: threading.Event, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not stop.is_set():
            # Keeps the membership alive; partitions assigned after a rebalance are not paused,
            # and what they bring joins the batch.
            self._poll_into_batch(consumer, timeout_ms=int(min(0.2, seconds) * 1000))

    def _insert_and_commit(self, consumer: KafkaConsumer) -> None:
        batch = self._batch
        refused = self.store.insert_events_isolating(batch.events)  # rows the store refuses alone: dead letters
        dead = batch.dead + [batch.refused(index, reason) for index, reason in refused]
        self.store.insert_dead_letters(dead)
        self._batch = _Batch()
        self._commit(consumer, batch.offsets)
        self.stats.inserted += len(batch.events) - len(refused)
        self.stats.dead_letters += len(dead)
        self.stats.batches += 1
        if dead:
            logger.warning("%d malformed or refused events sent to dead_letters (first: %s)", len(dead), dead[0].reason)
        if self.on_progress is not None:
            self.on_progress(self.stats)

    def _commit(self, consumer: KafkaConsumer, offsets: dict[TopicPartition, int]) -> None:
        try:
            consumer.commit({tp: OffsetAndMetadata(offset, "", -1) for tp, offset in offsets.items()})
        except (CommitFailedError, KafkaError) as exc:
            # The rows are in the store; the next owner of these partitions re-reads them (duplicates only).
            logger.warning("offset commit failed after insert (%s); those events may be ingested twice", exc)

    def _on_revoke(self, revoked: list[TopicPartition]) -> None:
        self.assigned = frozenset()
        consumer = self._consumer
        if consumer is None or not self._batch.offsets:
            return
        try:
            self._insert_and_commit(consumer)
            logger.info("partitions revoked: pending batch inserted and committed")
        except EventStoreUnavailable:
            logger.warning(
                "partitions revoked while the store is down: %d events left for re-reading", len(self._batch)
            )
            self._rewind.update(self._batch.first)
            self._batch = _Batch()

    def _on_assign(self, assigned: list[TopicPartition]) -> None:
        """Seek a kept partition back to the start of a batch discarded at revocation (= its committed offset);
        a partition new to this member starts from its committed offset anyway."""
        consumer = self._consumer
        for tp in assigned:
            if tp in self._rewind and consumer is not None:
                consumer.seek(tp, self._rewind[tp])
        self._rewind.clear()
        self.assigned = frozenset(tp.partition for tp in assigned)
        logger.info("assigned partitions: %s", sorted(self.assigned))
