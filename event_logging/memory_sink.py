"""The in-memory sink: events kept in this process, for tests and for apps embedded without an event store.

It runs the same queue and sender thread as the stored sinks (`event_logging/sink.py`), so a deferred group is
built off the caller's thread, `flush` waits for delivery and the counters mean what they mean elsewhere; only
delivery differs: events go to a bounded list instead of a store. Nothing is persisted.
"""

from __future__ import annotations

import threading
from collections import deque

from event_logging.schema import BaseEvent
from event_logging.sink import QueuedSink

DEFAULT_CAPACITY = 1_000_000


class MemoryEventSink(QueuedSink):
    """Events → a list holding the newest `capacity` of them (older ones fall out, still counted as `sent`)."""

    def __init__(
        self,
        *,
        capacity: int = DEFAULT_CAPACITY,
        max_queue: int = 1_000_000,
        max_batch: int = 10_000,
        linger_s: float = 0.05,
    ) -> None:
        self._delivered: deque[BaseEvent] = deque(maxlen=capacity)
        self._delivered_lock = threading.Lock()
        super().__init__(name="vsx-memory-sink", max_queue=max_queue, max_batch=max_batch, linger_s=linger_s)

    def _deliver(self, events: list[BaseEvent]) -> None:
        with self._delivered_lock:
            self._delivered.extend(events)
        self._count("sent", len(events))

    def events(self) -> list[BaseEvent]:
        """The events delivered so far (up to `capacity`), oldest first; `flush` first to include all logged."""
        with self._delivered_lock:
            return list(self._delivered)
