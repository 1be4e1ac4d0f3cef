"""Errors raised by `event_logging`: one base class, children named for what went wrong.

Children also inherit the builtin they refine (e.g. `ValueError`), so callers may catch either.
The `vsx` command line turns any `EventLoggingError` into a one-line message and exit code 2.
"""


class EventLoggingError(Exception):
    """Base of every expected error raised by `event_logging`."""


class EventBusUnavailable(EventLoggingError, ConnectionError):
    """The Kafka cluster cannot be reached or did not acknowledge in time; the producer answers by spooling."""


class EventStoreUnavailable(EventLoggingError, ConnectionError):
    """ClickHouse cannot be reached; the consumer retries with back-off and moves no offset."""


class EventStoreError(EventLoggingError, RuntimeError):
    """The event store rejected a statement (bad SQL, missing table): retrying will not help."""


class MigrationError(EventLoggingError, RuntimeError):
    """A migration file is malformed, or an applied migration changed after it was recorded."""


class EventStoreLockedError(EventLoggingError, RuntimeError):
    """Another process holds the embedded store (chdb: one process per folder); `pid`/`command` name it."""

    def __init__(self, path: object, pid: int | None, command: str | None) -> None:
        who = f"process {pid}" if pid is not None else "another process"
        what = f" ({command})" if command else ""
        super().__init__(f"the embedded event store {path} is in use by {who}{what}")
        self.path, self.pid, self.command = path, pid, command


class InvalidIdentifierError(EventLoggingError, ValueError):
    """A database or cluster name (from settings) that is not a plain SQL identifier; it would be spliced into SQL."""


class QueryParameterError(EventLoggingError, TypeError):
    """A query parameter of a type `sql_text` does not render (it never guesses with `repr`)."""
