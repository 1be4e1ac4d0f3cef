"""Where the request path hands events: an in-memory queue drained by one background thread.

`log`/`log_many` only append to a `collections.deque` (atomic under the GIL, well under a microsecond): no
I/O, no exception, so logging can never slow down or fail a search. `log_deferred` appends a function that
builds the events instead, with the number it will build, and the sender thread calls it: building a search's
eleven events (ids, field dicts, validation) costs far more than queueing a function, and that cost then stays
off the request path (BENCHMARKS.md, "Event pipeline", request-path cost). The announced count keeps the
`max_queue` bound and the `logged` counter in events (an uncontended lock guards that count); a builder that
raises, or builds another number, is logged, and its shortfall counted as dropped. The sender thread wakes
every `linger_s` (at once when a batch is ready, or when `flush` or `close` waits for it), takes up to
`max_batch` events and hands them to `_deliver`, which the Kafka and embedded sinks implement. When the queue
is full (the sender cannot keep up even by spooling) events are dropped with a counter and a loud,
rate-limited log line.
"""

from __future__ import annotations

import abc
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

from event_logging.schema import BaseEvent

logger = logging.getLogger(__name__)

EventBuilder = Callable[[], Iterable[BaseEvent]]
"""Builds a group of events when called; must not depend on when it is called (timestamps are arguments)."""

QueueItem = BaseEvent | tuple[EventBuilder, int]
"""An event, or a deferred group: its builder and the number of events it announced."""

Taken = TypeVar("Taken", bound=QueueItem)
"""What a queued sink's batches hold: built events, or queue items as they were queued."""


def events_in(items: Iterable[QueueItem]) -> int:
    """The events queue items stand for (a deferred group: the number it announced)."""
    return sum(1 if isinstance(item, BaseEvent) else item[1] for item in items)


COUNTERS = ("logged", "sent", "spooled", "dropped", "replayed", "dead_letters")
DROP_LOG_INTERVAL_S = 10.0
CLOSE_GRACE_S = 5.0
"""How much longer than its timeout `close` waits for the sender thread (a send or connect in progress)."""


class EventSink(abc.ABC):
    """What serving logs to. Implementations never block the caller and never raise on outages."""

    @abc.abstractmethod
    def log(self, event: BaseEvent) -> None: ...

    @abc.abstractmethod
    def log_many(self, events: Iterable[BaseEvent]) -> None: ...

    @abc.abstractmethod
    def log_deferred(self, build: EventBuilder, count: int) -> None:
        """Log the `count` events `build()` returns, calling it later, off the caller's thread."""

    @abc.abstractmethod
    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything logged so far was delivered (or spooled); False on timeout."""

    @abc.abstractmethod
    def close(self, timeout: float = 10.0) -> None:
        """Flush, or spool what cannot be sent before `timeout`; then stop the background thread."""

    @abc.abstractmethod
    def counters(self) -> dict[str, int]:
        """Event counts since start: logged, sent, spooled, dropped, replayed, dead_letters (for /metrics)."""


class BatchingSink(EventSink, Generic[Taken]):
    """The shared queue + sender thread; subclasses say what a batch holds (`_take`) and how it is delivered."""

    _close_grace_s = CLOSE_GRACE_S

    def __init__(self, *, name: str, max_queue: int, max_batch: int, linger_s: float) -> None:
        self._queue: deque[QueueItem] = deque()
        self._deferred_extra = 0  # events announced by queued builders beyond the one queue slot each
        self._deferred_lock = threading.Lock()
        self._max_queue = max_queue
        self._max_batch = max_batch
        self._linger_s = linger_s
        self._counts = dict.fromkeys(COUNTERS, 0)
        self._taken = 0
        self._dropped_at_queue = 0
        self._busy = False
        self._close_deadline: float | None = None
        self._closing = threading.Event()
        self._wake = threading.Event()  # cuts the sender's linger short: flush and close are waiting
        self._drop_lock = threading.Lock()
        self._last_drop_log = 0.0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    # -- request path -------------------------------------------------------------------------------
    def log(self, event: BaseEvent) -> None:
        if self._full():
            self._drop_at_queue(1)
            return
        self._queue.append(event)

    def log_many(self, events: Iterable[BaseEvent]) -> None:
        if self._full():
            self._drop_at_queue(sum(1 for _ in events))
            return
        self._queue.extend(events)

    def log_deferred(self, build: EventBuilder, count: int) -> None:
        if self._full():
            self._drop_at_queue(count)
            return
        with self._deferred_lock:
            self._deferred_extra += count - 1
            self._queue.append((build, count))

    def _full(self) -> bool:
        """Queued events (a deferred group counts its announced events) have reached `max_queue`."""
        return len(self._queue) + self._deferred_extra >= self._max_queue

    # -- control ------------------------------------------------------------------------------------
    def flush(self, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while self._queue or self._busy or self._pending_work():
            if time.monotonic() >= deadline or not self._thread.is_alive():
                return False
            self._wake.set()
            time.sleep(0.005)
        return True

    def close(self, timeout: float = 10.0) -> None:
        self._close_deadline = time.monotonic() + timeout
        self._closing.set()
        self._wake.set()
        self._thread.join(timeout + self._close_grace_s)
        if self._thread.is_alive():
            logger.error("event sink thread did not stop within %.0f s; %d events left", timeout, len(self._queue))

    def counters(self) -> dict[str, int]:
        counts = dict(self._counts)
        counts["logged"] = self._taken + len(self._queue) + self._deferred_extra + self._dropped_at_queue
        return counts

    # -- sender thread ------------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            while True:
                closing = self._closing.is_set()
                if not self._queue:
                    if closing:
                        break
                    self._idle()
                    if len(self._queue) < self._max_batch:
                        self._wake.wait(self._linger_s)
                        self._wake.clear()
                    continue
                self._busy = True  # before taking, so flush() never sees an empty queue and an idle sender mid-batch
                batch = self._take()
                try:
                    self._deliver(batch)
                except Exception:  # a bug here must not silently stop logging for the life of the process
                    logger.exception("event sink failed to deliver a batch")
                    self._count_dropped(events_in(batch), "delivery raised")
                finally:
                    self._busy = False
        finally:
            self._shutdown()

    @abc.abstractmethod
    def _take(self) -> list[Taken]:
        """Up to about `max_batch` queued events as one batch for `_deliver` (each item leaves by `_pop`)."""

    def _pop(self) -> QueueItem:
        """The oldest queued item; `taken` advances by its events (a deferred group's announced count)."""
        item = self._queue.popleft()
        if isinstance(item, BaseEvent):
            self._taken += 1
            return item
        with self._deferred_lock:
            self._deferred_extra -= item[1] - 1
            self._taken += item[1]
        return item

    def _count(self, name: str, n: int) -> None:
        """Counters other than `dropped` have one writer, the sender thread, so plain `+=` is exact."""
        self._counts[name] += n

    def _drop_at_queue(self, n: int) -> None:
        with self._drop_lock:
            self._dropped_at_queue += n
        self._count_dropped(n, "in-memory queue full")

    def _count_dropped(self, n: int, why: str) -> None:
        with self._drop_lock:
            self._counts["dropped"] += n
            now = time.monotonic()
            if now - self._last_drop_log >= DROP_LOG_INTERVAL_S:
                self._last_drop_log = now
                logger.error("EVENTS DROPPED: %d (%s); %d dropped since start", n, why, self._counts["dropped"])

    def _closing_deadline(self) -> float | None:
        """Monotonic time by which close() wants the thread gone, or None while running."""
        return self._close_deadline if self._closing.is_set() else None

    def _pending_work(self) -> bool:
        """Subclasses with their own backlog (the spool) report it here, so `flush` waits for it."""
        return False

    def _idle(self) -> None:
        """Called when the queue is empty: a chance to replay a backlog."""

    @abc.abstractmethod
    def _deliver(self, batch: list[Taken]) -> None: ...

    def _shutdown(self) -> None:
        """Release resources when the sender thread ends."""


class QueuedSink(BatchingSink[BaseEvent]):
    """A batching sink that delivers events: deferred groups are built on the sender thread as they are taken."""

    def _take(self) -> list[BaseEvent]:
        """Up to about `max_batch` events (a deferred group is built whole, so a batch may exceed it by one group)."""
        queue = self._queue
        batch: list[BaseEvent] = []
        while queue and len(batch) < self._max_batch:
            item = self._pop()
            if isinstance(item, BaseEvent):
                batch.append(item)
            else:
                batch.extend(self._build(*item))
        return batch

    def _build(self, build: EventBuilder, count: int) -> list[BaseEvent]:
        """Run a builder that announced `count` events; a shortfall or an exception is counted as dropped."""
        try:
            events = list(build())
        except Exception:
            logger.exception("an event builder raised; its %d events are lost", count)
            self._count_dropped(count, "event builder raised")
            return []
        if len(events) != count:
            logger.error("an event builder announced %d events and built %d", count, len(events))
            self._count_dropped(max(count - len(events), 0), "event builder built fewer than announced")
        return events
