"""A sink that runs another sink (the Kafka one) in a child process, off the serving interpreter's GIL.

Why: building a search's events (a pydantic model per result), packing them and kafka-python's per-message
Python all ran on threads of the serving process; a batch of that work holds the GIL in bursts that a
request thread waits behind, and that was most of the serving p99 overhead (BENCHMARKS.md, "Serving"). Here
the serving process only queues what it logs and a thread pickles
the queued items — events, or deferred groups still unbuilt (`functools.partial` of a module-level builder
with plain arguments, cheap to pickle) — down a pipe; the child (spawned, so no inherited threads or
locks) feeds them to the real sink, which builds, packs, sends and spools there. Spawning re-imports the
parent's main module, so a script that makes this sink must guard its entry point with
`if __name__ == "__main__":`, as any multiprocessing code (`vsx`, uvicorn and pytest do).

Counters: the child publishes its sink's counters into shared memory every `PUBLISH_INTERVAL_S` and before it
answers a flush or close, so `counters()` stays a few memory reads (serving calls it on every request).
`logged` and queue-full drops are this process's own.

Failure: if the child dies (killed, out of memory), the next send notices the broken pipe, counts the events it
had been handed and had not accounted for as dropped (an estimate: its last published counters may be one
interval old), logs loudly and starts a new child with back-off; the new child's Kafka sink replays whatever the
old one spooled (same spool folder). What the dead child held in memory or had not yet read from the pipe is
lost — the guarantee the in-process sender thread gave for a crash of the serving process, now for a crash of
the child as well. Re-sending it would not be safe: a deferred search rebuilt in a new child gets new event ids,
so analysis could not dedupe the copies.

Stopping: the child ignores SIGINT and outlives SIGTERM by `term_grace_s`, so Ctrl-C on a server, or a service
manager that signals every process of the service (systemd's default), stops it through the app's shutdown
(`close`: drain, then flush or spool) instead of killing it with events in memory. If this process vanishes,
or exits without `close()` (multiprocessing then sends the child SIGTERM), the child closes its sink when the
pipe closes or the grace ends, spooling what the broker does not take, and exits.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import pickle
import signal
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from event_logging.retry import Backoff
from event_logging.schema import BaseEvent
from event_logging.sink import CLOSE_GRACE_S, BatchingSink, EventSink, QueueItem, events_in

logger = logging.getLogger(__name__)

PUBLISH_INTERVAL_S = 0.1
RESTART_BACKOFF_S = (0.5, 30.0)
"""First and longest wait before starting a new event process (`event_logging.retry`)."""
STABLE_AFTER_S = 60.0
"""A child that lived this long died of something new: its replacement starts after the shortest back-off."""
TERM_GRACE_S = 10.0
"""How long the child keeps taking events after a SIGTERM, waiting for the server's own shutdown to close it."""
ORPHAN_CLOSE_S = 10.0
"""The close timeout of a child whose parent is gone (or never closed it): the time it gives the broker."""
COMMAND_POLL_S = 0.2
REPLY_GRACE_S = CLOSE_GRACE_S + 5.0
"""How much longer than the child's own timeout a flush or close waits for its answer (its sink's close may
itself overrun the timeout by `CLOSE_GRACE_S`)."""

_CONTEXT = multiprocessing.get_context("spawn")
_CHILD_COUNTERS = ("sent", "spooled", "dropped", "replayed")


class ProcessSink(BatchingSink[QueueItem]):
    """Queues in this process; `make()` (picklable, e.g. a `partial` of a sink class) builds the sink in a child."""

    _close_grace_s = REPLY_GRACE_S + CLOSE_GRACE_S  # the feeder's shutdown: the child's answer, then reaping it

    def __init__(
        self,
        make: Callable[[], EventSink],
        *,
        max_queue: int,
        max_items: int = 64,
        linger_s: float = 0.005,
        term_grace_s: float = TERM_GRACE_S,
    ) -> None:
        self._make = make
        self._term_grace_s = term_grace_s
        self._shared = _CONTEXT.RawArray("q", len(_CHILD_COUNTERS))
        self._base = dict.fromkeys(_CHILD_COUNTERS, 0)  # totals of children that died
        self._handed = 0  # events handed to the current child
        self._restart_wait = Backoff(*RESTART_BACKOFF_S)
        self._conn_lock = threading.Lock()
        self._conn, self._process = self._start_child()
        super().__init__(name="vsx-event-process-feeder", max_queue=max_queue, max_batch=max_items, linger_s=linger_s)

    # -- control ------------------------------------------------------------------------------------
    def flush(self, timeout: float = 10.0) -> bool:
        """Hand everything queued here to the child, then wait for the child's sink to flush."""
        deadline = time.monotonic() + timeout
        return super().flush(timeout) and self._ask("flush", deadline)

    def counters(self) -> dict[str, int]:
        counts = super().counters()
        published = self._shared[:]
        for i, name in enumerate(_CHILD_COUNTERS):
            counts[name] += self._base[name] + published[i]
        return counts

    # -- feeder thread ------------------------------------------------------------------------------
    def _take(self) -> list[QueueItem]:
        """Up to `max_items` queued items as they are: deferred groups are built in the child."""
        items: list[QueueItem] = []
        while self._queue and len(items) < self._max_batch:
            items.append(self._pop())
        return items

    def _deliver(self, items: list[QueueItem]) -> None:
        data = pickle.dumps(("log", items), protocol=pickle.HIGHEST_PROTOCOL)
        count = events_in(items)
        while not self._send(data):
            deadline = self._closing_deadline()
            if deadline is not None and time.monotonic() >= deadline:
                self._count_dropped(count, "the event process is down and the sink is closing")
                return
            self._restart()
        self._handed += count

    def _send(self, data: bytes) -> bool:
        try:
            with self._conn_lock:
                self._conn.send_bytes(data)
        except OSError:
            return False
        return True

    def _ask(self, command: str, deadline: float) -> bool:
        """Send `command` with the time left; True if the child answered that its sink did it in time."""
        timeout = max(0.0, deadline - time.monotonic())
        with self._conn_lock:
            try:
                while self._conn.poll(0):  # the late answer to an earlier command that timed out
                    self._conn.recv()
                self._conn.send_bytes(pickle.dumps((command, timeout)))
                if not self._conn.poll(timeout + REPLY_GRACE_S):
                    logger.error("the event process did not answer %r within %.0f s", command, timeout)
                    return False
                return bool(self._conn.recv())
            except (OSError, EOFError):
                logger.error("the event process is gone; %r not done", command)
                return False

    def _restart(self) -> None:
        """Account for the dead child's events, wait a back-off, start a new child on the same spool."""
        self._process.join(timeout=1.0)
        self._account_for_dead_child()
        if time.monotonic() - self._started_at > STABLE_AFTER_S:
            self._restart_wait.reset()
        wait = self._restart_wait.next_wait()
        logger.error("the event process exited (code %s); starting another in %.1f s", self._process.exitcode, wait)
        self._closing.wait(wait)
        self._conn.close()
        self._conn, self._process = self._start_child()

    def _account_for_dead_child(self) -> None:
        """Fold the dead child's last published counters into the totals; what it was handed beyond them is lost."""
        published = dict(zip(_CHILD_COUNTERS, self._shared[:], strict=True))
        lost = max(0, self._handed - published["sent"] - published["spooled"] - published["dropped"])
        for i, name in enumerate(_CHILD_COUNTERS):
            self._base[name] += published[name]
            self._shared[i] = 0
        self._handed = 0
        if lost:
            self._count_dropped(lost, "the event process died with them (estimate)")

    def _start_child(self) -> tuple[Connection, Any]:
        ours, theirs = _CONTEXT.Pipe()
        args = (theirs, self._make, self._shared, _logging_levels(), self._term_grace_s)
        process = _CONTEXT.Process(target=_child_main, args=args, name="vsx-events", daemon=True)
        process.start()
        theirs.close()
        self._started_at = time.monotonic()
        return ours, process

    def _shutdown(self) -> None:
        """The queue is drained: ask the child to close its sink within the deadline, then reap it."""
        deadline = self._closing_deadline() or time.monotonic()
        closed = self._ask("close", deadline)
        self._process.join(timeout=REPLY_GRACE_S)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        if not closed:
            self._account_for_dead_child()
        self._conn.close()


def _logging_levels() -> dict[str, int]:
    """The root level and every level set explicitly on a named logger (e.g. `vsx` quietens `kafka`)."""
    manager = logging.Logger.manager
    levels = {name: lg.level for name, lg in manager.loggerDict.items() if isinstance(lg, logging.Logger) and lg.level}
    return {"": logging.getLogger().getEffectiveLevel(), **levels}


def _child_main(
    conn: Connection, make: Callable[[], EventSink], shared: Any, levels: dict[str, int], term_grace_s: float
) -> None:
    """The child: feed what arrives to the real sink; answer flush/close; publish counters."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    terminated: list[float] = []  # when SIGTERM arrived
    signal.signal(signal.SIGTERM, lambda *_: terminated.append(time.monotonic()))
    logging.basicConfig(format="%(asctime)s %(levelname)s [vsx-events] %(name)s: %(message)s")
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
    sink = make()

    def publish() -> None:
        counts = sink.counters()
        shared[:] = [counts[name] for name in _CHILD_COUNTERS]

    stop = threading.Event()

    def publisher() -> None:
        while not stop.wait(PUBLISH_INTERVAL_S):
            publish()

    threading.Thread(target=publisher, name="vsx-events-counters", daemon=True).start()
    try:
        while True:
            command, payload = _next_command(conn, terminated, term_grace_s)
            if command == "log":
                _log_items(sink, payload)
                continue
            if command == "flush":
                done = sink.flush(payload)
            else:
                sink.close(payload)
                done = True
            publish()
            with contextlib.suppress(OSError):  # the parent may be gone; nothing to tell then
                conn.send(done)
            if command == "close":
                return
    finally:
        stop.set()
        publish()


def _next_command(conn: Connection, terminated: list[float], grace: float) -> tuple[str, Any]:
    """The parent's next command; "close" once the parent is gone, or `grace` seconds after a SIGTERM."""
    while not conn.poll(COMMAND_POLL_S):
        if terminated and time.monotonic() - terminated[0] >= grace:
            logger.warning("SIGTERM %.0f s ago and the server has not closed the event process: closing", grace)
            return "close", ORPHAN_CLOSE_S
    try:
        return pickle.loads(conn.recv_bytes())
    except EOFError:  # the parent is gone without closing us: keep what we hold
        return "close", ORPHAN_CLOSE_S


def _log_items(sink: EventSink, items: list[QueueItem]) -> None:
    for item in items:
        if isinstance(item, BaseEvent):
            sink.log(item)
        else:
            sink.log_deferred(*item)
