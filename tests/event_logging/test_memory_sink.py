"""The in-memory sink: the queued sink's contract, delivering into a bounded list."""

from __future__ import annotations

from event_logging.memory_sink import MemoryEventSink
from event_logging.schema import ClickEvent


def click(i: int) -> ClickEvent:
    return ClickEvent(request_id=f"r{i}", user_id="u", result_image_id="x", position=1)


def test_logged_and_deferred_events_are_kept_in_order_and_counted() -> None:
    sink = MemoryEventSink()
    sink.log(click(0))
    sink.log_many([click(1), click(2)])
    sink.log_deferred(lambda: [click(3), click(4)], 2)
    assert sink.flush(timeout=10)
    assert [e.request_id for e in sink.events()] == ["r0", "r1", "r2", "r3", "r4"]
    sink.close()
    assert sink.counters() == {"logged": 5, "sent": 5, "spooled": 0, "dropped": 0, "replayed": 0, "dead_letters": 0}


def test_a_builder_that_raises_loses_its_events_only() -> None:
    def broken() -> list[ClickEvent]:
        raise RuntimeError("bug")

    sink = MemoryEventSink()
    sink.log_deferred(broken, 3)
    sink.log(click(1))
    assert sink.flush(timeout=10)
    sink.close()
    assert [e.request_id for e in sink.events()] == ["r1"]
    assert (sink.counters()["sent"], sink.counters()["dropped"]) == (1, 3)


def test_only_the_newest_capacity_events_are_kept() -> None:
    sink = MemoryEventSink(capacity=3, max_batch=2)
    for i in range(3):
        sink.log(click(i))
    assert sink.flush(timeout=10)
    for i in range(3, 5):
        sink.log(click(i))
    assert sink.flush(timeout=10)
    sink.close()
    assert [e.request_id for e in sink.events()] == ["r2", "r3", "r4"]
    assert sink.counters()["sent"] == 5
