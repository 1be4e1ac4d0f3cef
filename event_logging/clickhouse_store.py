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
import re
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

# Server error codes that mean "overloaded or restarting", not "your statement is wrong"; on a cluster also
# "ZooKeeper or a shard is out of reach": a replicated table turns read-only (242) after a ZooKeeper connection
# loss (999) until its session is back, an insert's outcome may be unknown (319: retry, copies are deduped),
# a Distributed query finds no live replica of a shard (279), or a shard's connection ends mid-insert (32).
TRANSIENT_CODES = frozenset({32, 159, 202, 209, 210, 236, 241, 242, 252, 279, 319, 394, 999})
CONNECTION_ERRORS = (ch_errors.NetworkError, ch_errors.SocketTimeoutError, EOFError, OSError)
# "Table … isn't replicated, but shard #1 is replicated according to its cluster definition".
INCONSISTENT_CLUSTER_DEFINITION = 371


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
        self._url = url
        self._client = Client.from_url(url)
        self._client.connection.connect_timeout = 3
        self._lock = threading.Lock()

    def _run(
        self, sql: str, params: Any = None, columnar: bool = False, settings: dict[str, Any] | None = None
    ) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._client.execute(sql, params, types_check=False, columnar=columnar, settings=settings)
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
        try:
            self._run(sql)
        except EventStoreError as exc:
            cause = exc.__cause__
            if not (
                self.cluster
                and isinstance(cause, ch_errors.ServerException)
                and cause.code == INCONSISTENT_CLUSTER_DEFINITION
            ):
                raise
            self._execute_on_each_node(sql)

    def _execute_on_each_node(self, sql: str) -> None:
        """Run `sql` without its `ON CLUSTER` on every node of the cluster, one after the other.

        ClickHouse 18.16 refuses `ALTER … ON CLUSTER` of a table that is not replicated (the `Distributed`
        `events`) when the cluster's shards replicate internally, as they must with `Replicated` tables;
        later versions run such an ALTER on every host, which is what this does by hand. Each node applies
        it as a migration statement (`_apply`), so a node that already has the change is skipped.
        """
        local_sql = re.sub(rf" ON CLUSTER {re.escape(str(self.cluster))}\b", "", sql)
        nodes = self.query(
            "SELECT DISTINCT host_address, port FROM system.clusters WHERE cluster = %(cluster)s",
            {"cluster": self.cluster},
        )
        parts = urlsplit(self._url)
        credentials = parts.netloc.rpartition("@")[0]
        for host, port in nodes:
            address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            netloc = f"{credentials}@{address}" if credentials else address
            url = urlunsplit((parts.scheme, netloc, f"/{self.database}", parts.query, parts.fragment))
            with ClickHouseStore(ClickHouseConfig(url=url)) as node:
                node._apply(local_sql)
            logger.info("ran on %s:%s: %s", host, port, local_sql.splitlines()[0])

    def _select(self, sql: str) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self._run(sql)]

    def _insert(self, table: str, names: Sequence[str], columns: Sequence[Sequence[Any]]) -> None:
        """On a cluster the insert returns once every shard holds its rows (`insert_distributed_sync`), so the
        consumer commits offsets only for events stored where they belong. By default a Distributed table
        queues other shards' rows on the receiving node and sends them later; 18.16 moves a queued file it
        was sending when that shard died to `broken/`, and those events were lost (the cluster test)."""
        sql = f"INSERT INTO {self.database}.{table} ({', '.join(names)}) VALUES"
        self._run(sql, columns, columnar=True, settings={"insert_distributed_sync": 1} if self.cluster else None)

    def close(self) -> None:
        with self._lock:
            self._client.disconnect()
