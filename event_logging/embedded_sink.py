"""The embedded sink (`vsx demo`, embedded serving): the same queue and thread, straight into the store.

No broker, no spool: the store is in this process (chdb on disk), so the only failure is a bug or a
full disk, and then the batch is counted as dropped and logged loudly.

It lingers 2 s between inserts: every chdb insert writes a new part and holds the interpreter while it does,
so fewer, larger inserts leave more of it to the requests (`vsx simulate` in-process, an interleaving
experiment on 2 cores, two runs each: 94 and 100 searches/s at 0.2 s, 104 and 111 at 2 s). Events are in the
store 2 s later at worst; `flush` and `close` do not wait out the linger.
"""

from __future__ import annotations

import logging

from event_logging.errors import EventLoggingError
from event_logging.schema import BaseEvent
from event_logging.sink import QueuedSink
from event_logging.store import EventStore

logger = logging.getLogger(__name__)


class EmbeddedEventSink(QueuedSink):
    """Events → `store.insert_events` in batches from a background thread."""

    def __init__(self, store: EventStore, *, max_batch: int = 10_000, linger_s: float = 2.0) -> None:
        self.store = store
        super().__init__(name="vsx-embedded-sink", max_queue=1_000_000, max_batch=max_batch, linger_s=linger_s)

    def _deliver(self, events: list[BaseEvent]) -> None:
        try:
            self.store.insert_events(events)
        except EventLoggingError as exc:
            self._count_dropped(len(events), f"insert into the embedded store failed: {exc}")
            return
        self._count("sent", len(events))
