"""The production sink: background thread → kafka-python producer, disk spool while the broker is away.

States of the sender thread:
- connected, spool empty: pack the drained events (`wire.pack`), send, wait for acknowledgements up to
  `send_timeout_s`; whatever is not acknowledged goes to the spool and the producer is dropped.
- spool not empty or broker unreachable: new batches are appended to the spool (so order is kept) and,
  once a (re)connect succeeds, sealed segments are replayed oldest first before anything newer.
A new `KafkaProducer` is built on every reconnect: a producer that lived through a broker restart does
not recover on Tansu, and idempotence is off for the same reason (dedupe happens in analysis).
"""

from __future__ import annotations

import logging
import time

from kafka import KafkaProducer
from kafka.errors import KafkaError

from event_logging.config import KafkaConfig, SpoolConfig
from event_logging.errors import EventBusUnavailable
from event_logging.retry import Backoff
from event_logging.schema import BaseEvent
from event_logging.sink import QueuedSink
from event_logging.spool import DiskSpool, read_segment
from event_logging.topics import ensure_topic
from event_logging.wire import Message, pack

logger = logging.getLogger(__name__)

RECONNECT_BACKOFF_S = (0.5, 5.0)
"""First and longest wait before reconnecting to the broker (`event_logging.retry`)."""


class KafkaEventSink(QueuedSink):
    """Events → Kafka topic `config.topic`, keyed by user shard (`wire`), with an on-disk spool for outages."""

    def __init__(self, config: KafkaConfig, spool: SpoolConfig) -> None:
        self.config = config
        self._spool = DiskSpool(spool)
        self._producer: KafkaProducer | None = None
        self._next_attempt = 0.0
        self._reconnect = Backoff(*RECONNECT_BACKOFF_S)
        self._outage_logged = False
        if not self._spool.is_empty():
            logger.warning("spool holds %d bytes from a previous run; they will be replayed", self._spool.bytes_used)
        super().__init__(
            name="vsx-kafka-sink",
            max_queue=config.queue_max_events,
            max_batch=max(config.max_events_per_message * 20, 5_000),
            linger_s=config.linger_ms / 1000,
        )

    # -- delivery -----------------------------------------------------------------------------------
    def _deliver(self, events: list[BaseEvent]) -> None:
        messages = pack(events, self.config.max_events_per_message, self.config.user_shards)
        if self._past_close_deadline() or not self._spool.is_empty() or not self._connect():
            self._to_spool(messages)
            self._replay_if_possible()
            return
        sent = self._send(messages)
        self._count("sent", sum(m.events for m in messages[:sent]))
        if sent < len(messages):
            self._to_spool(messages[sent:])

    def _idle(self) -> None:
        self._replay_if_possible()

    def _pending_work(self) -> bool:
        return not self._spool.is_empty() and self._producer is not None

    def _replay_if_possible(self) -> None:
        """Replay sealed segments oldest first while the broker acknowledges; stop at the first failure."""
        if self._spool.is_empty() or not self._connect():
            return
        self._spool.seal()
        for segment in self._spool.segments():
            if self._closing.is_set() and self._past_close_deadline():
                return
            messages = list(read_segment(segment))
            sent = self._send(messages)
            if sent < len(messages):
                return
            self._spool.remove(segment)
            self._count("replayed", sum(m.events for m in messages))
            logger.info("replayed spool segment %s (%d messages)", segment.name, len(messages))

    def _send(self, messages: list[Message]) -> int:
        """Send and wait for acknowledgement; return how many leading messages were acknowledged.

        On any failure the producer is dropped (the next attempt reconnects) and the caller spools the
        rest. A message that failed on our side may still have reached the broker: that is a duplicate,
        which the `event_id` dedupe in analysis removes.
        """
        producer = self._producer
        if producer is None:
            return 0
        futures = []
        try:
            for m in messages:
                futures.append(producer.send(self.config.topic, key=m.key, value=m.value))
            producer.flush(timeout=self._send_timeout())
        except (KafkaError, OSError, ValueError) as exc:
            logger.warning("send to Kafka failed: %s", exc)
        acked = 0
        for future in futures:
            if not future.succeeded():
                break
            acked += 1
        if acked < len(messages):
            self._disconnect(f"{len(messages) - acked} of {len(messages)} messages not acknowledged")
        return acked

    def _to_spool(self, messages: list[Message]) -> None:
        if not messages:
            return
        kept = self._spool.append(messages)
        self._count("spooled", sum(m.events for m in messages[:kept]))
        if kept < len(messages):
            lost = sum(m.events for m in messages[kept:])
            self._count_dropped(lost, f"spool full ({self._spool.bytes_used} bytes in {self._spool.directory})")

    # -- connection ---------------------------------------------------------------------------------
    def _connect(self) -> bool:
        if self._producer is not None:
            return True
        now = time.monotonic()
        if now < self._next_attempt:
            return False
        try:
            ensure_topic(self.config)
            self._producer = self._new_producer()
        except (EventBusUnavailable, KafkaError, OSError) as exc:
            self._next_attempt = now + self._reconnect.next_wait()
            if not self._outage_logged:
                logger.warning("event bus unreachable, spooling events to %s: %s", self._spool.directory, exc)
                self._outage_logged = True
            return False
        self._reconnect.reset()
        if self._outage_logged:
            logger.warning("event bus reachable again; replaying %d spooled bytes", self._spool.bytes_used)
            self._outage_logged = False
        return True

    def _new_producer(self) -> KafkaProducer:
        cfg = self.config
        linger_plus_request = cfg.linger_ms + cfg.request_timeout_ms
        return KafkaProducer(
            bootstrap_servers=cfg.bootstrap_servers,
            client_id="vsx-events",
            acks="all" if cfg.acks == "all" else 1,
            linger_ms=cfg.linger_ms,
            batch_size=cfg.batch_bytes,
            compression_type=None if cfg.compression == "none" else cfg.compression,
            max_request_size=max(cfg.batch_bytes, 1_048_576) * 4,
            request_timeout_ms=cfg.request_timeout_ms,
            delivery_timeout_ms=max(int(cfg.send_timeout_s * 1000), linger_plus_request),
            max_block_ms=cfg.request_timeout_ms,
            bootstrap_timeout_ms=cfg.request_timeout_ms,
            enable_idempotence=False,
            retries=3,
        )

    def _disconnect(self, why: str) -> None:
        producer, self._producer = self._producer, None
        self._next_attempt = time.monotonic() + self._reconnect.next_wait()
        if not self._outage_logged:
            logger.warning("event bus failing (%s); spooling to %s", why, self._spool.directory)
            self._outage_logged = True
        if producer is not None:
            try:
                producer.close(timeout=0)
            except (KafkaError, OSError) as exc:
                logger.debug("closing a failed producer: %s", exc)

    def _send_timeout(self) -> float:
        deadline = self._closing_deadline()
        if deadline is None:
            return self.config.send_timeout_s
        return max(0.0, min(self.config.send_timeout_s, deadline - time.monotonic()))

    def _past_close_deadline(self) -> bool:
        deadline = self._closing_deadline()
        return deadline is not None and time.monotonic() >= deadline

    def _shutdown(self) -> None:
        """The queue is empty here (the thread drains it before leaving); close producer and spool."""
        if self._producer is not None:
            try:
                self._producer.close(timeout=self._send_timeout())
            except (KafkaError, OSError) as exc:
                logger.warning("closing the Kafka producer: %s", exc)
            self._producer = None
        self._spool.close()
        counts = self.counters()
        logger.info("event sink closed: %s", counts)
