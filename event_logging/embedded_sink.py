"""The embedded sink (`vsx demo`, embedded serving): the same queue and thread, straight into the store.

No broker, no spool: the store is in this process (chdb on disk). A batch the store refuses is split until
each refused row stands alone (`EventStore.insert_events_isolating`): those rows go to `dead_letters` with the
store's reason and are counted (`dead_letters`), the others are inserted. Anything else (a bug, a full disk) costs
the batch, counted as dropped and logged loudly.

It lingers 2 s between inserts: every chdb insert writes a new part and holds the interpreter while it does,
so fewer, larger inserts leave more of it to the requests (BENCHMARKS.md, "Search path of a catalog image").
Events are in the store 2 s later at worst; `flush` and `close` do not wait out the linger.
"""

from __future__ import annotations

import logging

from event_logging.errors import EventLoggingError
from event_logging.schema import BaseEvent
from event_logging.sink import QueuedSink
from event_logging.store import EventStore, refused_letter

EMBEDDED_SOURCE = "embedded"
"""The `topic` of the dead letters this sink writes (partition and offset 0: there is no log to point into)."""

logger = logging.getLogger(__name__)


class EmbeddedEventSink(QueuedSink):
    """Events → `store.insert_events` in batches from a background thread."""

    def __init__(self, store: EventStore, *, max_batch: int = 10_000, linger_s: float = 2.0) -> None:
        self.store = store
        super().__init__(name="vsx-embedded-sink", max_queue=1_000_000, max_batch=max_batch, linger_s=linger_s)

    def _deliver(self, events: list[BaseEvent]) -> None:
        try:
            refused = self.store.insert_events_isolating(events)
        except EventLoggingError as exc:
            self._count_dropped(len(events), f"insert into the embedded store failed: {exc}")
            return
        self._count("sent", len(events) - len(refused))
        if not refused:
            return
        letters = [refused_letter(events[i], reason, EMBEDDED_SOURCE) for i, reason in refused]
        try:
            self.store.insert_dead_letters(letters)
        except EventLoggingError as exc:
            self._count_dropped(len(letters), f"dead letters refused by the embedded store: {exc}")
            return
        self._count("dead_letters", len(letters))
