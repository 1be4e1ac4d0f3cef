"""The event store interface: migrations, inserts and SQL reads, the same for ClickHouse server and chdb.

Subclasses provide three primitives (`_execute` DDL, `_select` rows, `_insert` columns into a table); the
rest — migrations, parameter rendering, rows from events — lives here once, so both backends behave
identically and one contract test suite covers both.
"""

from __future__ import annotations

import abc
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from event_logging.columns import EVENT_COLUMNS, to_columns
from event_logging.config import sql_identifier
from event_logging.errors import EventStoreError, MigrationError
from event_logging.migrator import bootstrap_statements, load_migrations
from event_logging.schema import BaseEvent, serialize
from event_logging.sql_text import render

logger = logging.getLogger(__name__)

DEAD_LETTER_COLUMNS = ("received_at", "topic", "partition", "offset", "reason", "raw")
ADD_COLUMN = re.compile(r"ALTER TABLE (\w+)\.(\w+) (?:ON CLUSTER \w+ )?ADD COLUMN (\w+) ")


@dataclass(frozen=True)
class DeadLetter:
    """A message the consumer refused: where it came from, why, and its raw bytes."""

    topic: str
    partition: int
    offset: int
    reason: str
    raw: bytes

    def to_row(self, received_at: datetime) -> tuple[Any, ...]:
        raw = self.raw.decode("utf-8", errors="backslashreplace")
        return (received_at, self.topic, self.partition, self.offset, self.reason, raw)


MAX_REASON_CHARS = 1_000


def refused_letter(event: BaseEvent, reason: str, topic: str, partition: int = 0, offset: int = 0) -> DeadLetter:
    """The dead letter of an event the store refused on its own: the event as JSON and the store's reason."""
    return DeadLetter(topic, partition, offset, f"refused by the store: {reason}"[:MAX_REASON_CHARS], serialize(event))


def deduped_events_sql(database: str) -> str:
    """A subquery reading each event once: `(SELECT <EVENT_COLUMNS> FROM db.events LIMIT 1 BY event_id)`.

    Copies of an event are identical rows (the same serialised event delivered twice), so keeping any
    one is exact. `LIMIT 1 BY` is cheaper than `argMax` over 21 columns and works on 18.16, chdb and
    Distributed tables (copies share the user, hence the shard). Use it as a table:
    `SELECT variant, count() FROM {deduped_events_sql(db)} GROUP BY variant`.
    """
    return f"(SELECT {', '.join(EVENT_COLUMNS)} FROM {database}.events LIMIT 1 BY event_id)"


class EventStore(abc.ABC):
    """Tables `events`, `dead_letters`, `schema_migrations` in `self.database`."""

    def __init__(self, database: str, cluster: str | None = None) -> None:
        # Both go into SQL text (DDL, table names), so they are checked once, here, for every backend.
        self.database = sql_identifier(database, "database")
        self.cluster = None if cluster is None else sql_identifier(cluster, "cluster")

    # -- primitives ---------------------------------------------------------------------------------
    @abc.abstractmethod
    def _execute(self, sql: str) -> None: ...

    @abc.abstractmethod
    def _select(self, sql: str) -> list[tuple[Any, ...]]: ...

    @abc.abstractmethod
    def _insert(self, table: str, names: Sequence[str], columns: Sequence[Sequence[Any]]) -> None:
        """Insert rows given column-major: `columns[i]` holds every row's value of `names[i]`."""

    @abc.abstractmethod
    def close(self) -> None: ...

    # -- shared behaviour ---------------------------------------------------------------------------
    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """Rows of a SELECT; `%(name)s` placeholders are rendered client-side (see `sql_text`)."""
        return self._select(render(sql, params))

    def insert_events(self, events: Sequence[BaseEvent]) -> None:
        if events:
            self._insert("events", EVENT_COLUMNS, to_columns(events))

    def insert_events_isolating(self, events: Sequence[BaseEvent]) -> list[tuple[int, str]]:
        """Insert `events`; if the store refuses the batch, insert its halves, and theirs, until every refused row
        stands alone: one bad row never takes the others with it. Returns `(index, reason)` of each row refused
        on its own (the caller dead-letters them).

        A refused batch of several rows in which every row is refused alone was refused for another reason (a
        missing table, a lost permission): that raises the first `EventStoreError`, as `insert_events` would. An
        `EventStoreUnavailable` midway propagates; halves inserted before it are inserted again on retry
        (duplicates, which analysis removes by `event_id`).
        """
        try:
            self.insert_events(events)
            return []
        except EventStoreError as exc:
            first = exc
        if len(events) == 1:
            return [(0, str(first))]
        refused: list[tuple[int, str]] = []
        middle = len(events) // 2
        pending = [(middle, len(events)), (0, middle)]
        while pending:
            start, stop = pending.pop()
            try:
                self.insert_events(events[start:stop])
            except EventStoreError as exc:
                if stop - start == 1:
                    refused.append((start, str(exc)))
                else:
                    middle = (start + stop) // 2
                    pending += [(middle, stop), (start, middle)]
        if len(refused) == len(events):
            raise first
        logger.error("the store refused %d of %d events; the first: %s", len(refused), len(events), refused[0][1])
        return refused

    def insert_dead_letters(self, letters: Sequence[DeadLetter]) -> None:
        if letters:
            now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
            self._insert("dead_letters", DEAD_LETTER_COLUMNS, list(zip(*(d.to_row(now) for d in letters), strict=True)))

    def migrate(self) -> list[str]:
        """Apply pending migrations in version order; return the names applied (empty when up to date).

        A recorded migration whose file changed since is an error: applied DDL is history, a change is a
        new migration. CREATE statements are `IF NOT EXISTS`, so a run interrupted between a statement and
        its record is safe to repeat (0003's ALTER cannot be: 18.16 lacks ADD COLUMN IF NOT EXISTS).
        """
        for statement in bootstrap_statements(self.database, self.cluster):
            self._execute(statement)
        applied = {
            version: checksum
            for version, checksum in self._select(f"SELECT version, checksum FROM {self.database}.schema_migrations")
        }
        done = []
        for migration in load_migrations(self.database, self.cluster):
            recorded = applied.get(migration.version)
            if recorded is not None:
                if recorded != migration.checksum:
                    raise MigrationError(
                        f"migration {migration.version:04d}_{migration.name} changed after it was applied "
                        f"(checksum {recorded} → {migration.checksum}); add a new migration instead"
                    )
                continue
            for statement in migration.statements:
                self._apply(statement)
            self._insert(
                "schema_migrations",
                ("version", "name", "checksum"),
                [[migration.version], [migration.name], [migration.checksum]],
            )
            logger.info("applied migration %04d_%s to %s", migration.version, migration.name, self.database)
            done.append(f"{migration.version:04d}_{migration.name}")
        return done

    def _apply(self, statement: str) -> None:
        """Run one migration statement, `ADD COLUMN` as if it said `IF NOT EXISTS` (which 18.16 lacks).

        A failed `ADD COLUMN` is forgiven when the column exists afterwards: another process added it first
        (two `ALTER … ON CLUSTER` are queued in order, and the later one fails on every node).
        """
        added = ADD_COLUMN.match(statement)
        if added and self._has_column(*added.groups()):
            return
        try:
            self._execute(statement)
        except EventStoreError:
            if added is None or not self._has_column(*added.groups()):
                raise
            logger.info("column %s.%s.%s was added by another process", *added.groups())

    def _has_column(self, database: str, table: str, column: str) -> bool:
        """Whether this node's `database.table` has `column`."""
        found = self.query(
            "SELECT count() FROM system.columns WHERE database = %(database)s AND table = %(table)s "
            "AND name = %(column)s",
            {"database": database, "table": table, "column": column},
        )
        return bool(found[0][0])

    def __enter__(self) -> EventStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
