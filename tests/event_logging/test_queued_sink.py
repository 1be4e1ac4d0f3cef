"""The sender thread's linger: long enough to batch, never long enough to make `flush` or `close` wait it out."""

from __future__ import annotations

import time

from event_logging.schema import BaseEvent
from event_logging.sink import QueuedSink
from tests.event_logging.event_helpers import ids, searches


class _ListSink(QueuedSink):
    """Delivers into a list: the queue, the thread and the linger are the real ones."""

    def __init__(self, linger_s: float) -> None:
        self.delivered: list[BaseEvent] = []
        self.batches = 0
        super().__init__(name="test-list-sink", max_queue=10_000, max_batch=1_000, linger_s=linger_s)

    def _deliver(self, events: list[BaseEvent]) -> None:
        self.delivered.extend(events)
        self.batches += 1
        self._count("sent", len(events))


def test_flush_and_close_cut_an_hour_long_linger_short() -> None:
    """With a one-hour linger, everything logged still arrives within flush's and close's own timeouts."""
    sink = _ListSink(linger_s=3600)
    events = searches(40)
    sink.log_many(events)
    assert sink.flush(timeout=5), "flush woke the lingering sender"
    assert ids(sink.delivered) == ids(events)
    more = searches(10, start=40)
    sink.log_many(more)
    sink.close(timeout=5)
    assert ids(sink.delivered) == ids(events + more)
    assert sink.counters()["sent"] == len(events) + len(more)


def test_the_linger_batches_what_arrives_meanwhile() -> None:
    """Without a flush the sender waits out its linger, so events logged one by one go in one batch."""
    sink = _ListSink(linger_s=3600)
    events = searches(30)
    time.sleep(1.0)  # the sender found the queue empty and lingers; only flush or close can wake it now
    for event in events:
        sink.log(event)
    time.sleep(0.2)
    assert sink.batches == 0, "still lingering: nothing delivered yet"
    assert sink.flush(timeout=5)
    assert sink.batches == 1 and ids(sink.delivered) == ids(events)
    sink.close(timeout=5)
