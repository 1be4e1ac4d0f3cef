"""EventStore on a ClickHouse server (18.16 here, any later version in production) via clickhouse-driver.

Rows travel as columnar insert parameters (`execute("INSERT INTO t (cols) VALUES", columns,
columnar=True)`): the native protocol sends them as typed column blocks, and an inline
`INSERT ... VALUES (...)` text hangs 18.16 through this driver. Connection-level failures become
`EventStoreUnavailable` (the consumer retries); a server refusing a statement becomes `EventStoreError`,
except the codes that mean "try again later", and so does a value the driver cannot put in its column (a
retry would refuse it forever).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from clickhouse_driver import Client
from clickhouse_driver import errors as ch_errors

from event_logging.config import ClickHouseConfig, url_database
from event_logging.errors import EventStoreError, EventStoreUnavailable
from event_logging.store import EventStore

logger = logging.getLogger(__name__)

# Server error codes that mean "overloaded or restarting", not "your statement is wrong".
TRANSIENT_CODES = frozenset({159, 202, 209, 210, 236, 241, 252, 394})
CONNECTION_ERRORS = (ch_errors.NetworkError, ch_errors.SocketTimeoutError, EOFError, OSError)


def split_url(url: str) -> tuple[str, str]:
    """(`url` pointing at the `default` database, the database named in `url`; `vsx` when none)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/default", parts.query, parts.fragment)), url_database(url)


def _first_line(exc: ch_errors.ServerException) -> str:
    """The message without the server's stack trace."""
    return exc.message.split(". Stack trace")[0].strip()


class ClickHouseStore(EventStore):
    """Thread-safe (one lock around one connection); reconnects after every failure."""

    def __init__(self, config: ClickHouseConfig) -> None:
        url, database = split_url(config.url)
        super().__init__(database, config.cluster)
        # The connection uses `default`: the target database may not exist before `migrate()`.
        self._client = Client.from_url(url)
        self._client.connection.connect_timeout = 3
        self._lock = threading.Lock()

    def _run(self, sql: str, params: Any = None, columnar: bool = False) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._client.execute(sql, params, types_check=False, columnar=columnar)
            except CONNECTION_ERRORS as exc:
                self._client.disconnect()
                raise EventStoreUnavailable(f"ClickHouse unreachable: {exc}") from exc
            except ch_errors.ServerException as exc:
                if exc.code in TRANSIENT_CODES:
                    self._client.disconnect()
                    raise EventStoreUnavailable(f"ClickHouse busy or restarting: {_first_line(exc)}") from exc
                raise EventStoreError(f"ClickHouse refused the statement: {_first_line(exc)}") from exc
            except ch_errors.TypeMismatchError as exc:  # the driver found a value its column cannot hold
                self._client.disconnect()  # mid-INSERT: the server still waits for the block
                raise EventStoreError(f"ClickHouse client refused a value: {exc}") from exc
            except ch_errors.Error as exc:
                self._client.disconnect()
                raise EventStoreUnavailable(f"ClickHouse client error: {exc}") from exc

    def _execute(self, sql: str) -> None:
        self._run(sql)

    def _select(self, sql: str) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self._run(sql)]

    def _insert(self, table: str, names: Sequence[str], columns: Sequence[Sequence[Any]]) -> None:
        self._run(f"INSERT INTO {self.database}.{table} ({', '.join(names)}) VALUES", columns, columnar=True)

    def close(self) -> None:
        with self._lock:
            self._client.disconnect()
