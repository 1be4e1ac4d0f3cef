"""One contract, two backends: every test here runs against ClickHouse 18.16 and against chdb."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from event_logging.columns import EVENT_COLUMNS, to_columns
from event_logging.errors import EventStoreError, MigrationError
from event_logging.migrator import bootstrap_statements
from event_logging.store import DeadLetter, EventStore, deduped_events_sql
from tests.event_logging.event_helpers import searches, stored_counts

pytestmark = pytest.mark.integration


SHIPPED = [
    "0001_events", "0002_dead_letters", "0003_impression_team", "0004_feedback_attribution", "0005_user_attributes",
]  # fmt: skip
"""Every migration file, in order (a new one is added here on purpose: the contract changes)."""


def test_migrate_applies_once_and_records(store: EventStore) -> None:
    assert store.migrate() == SHIPPED
    assert store.migrate() == []
    rows = store.query(f"SELECT version, name FROM {store.database}.schema_migrations ORDER BY version")
    assert rows == [
        (1, "events"), (2, "dead_letters"), (3, "impression_team"), (4, "feedback_attribution"),
        (5, "user_attributes"),
    ]  # fmt: skip
    columns = store.query(f"DESCRIBE TABLE {store.database}.events")
    assert tuple(c[0] for c in columns) == (*EVENT_COLUMNS, "inserted_at")


def test_migrations_repeat_safely_when_their_records_are_missing(store: EventStore) -> None:
    """Tables migrated by another process (a cluster node keeps its own record) or a run killed before its
    record: applying every migration again succeeds, 0003's ADD COLUMN included, and leaves the same table."""
    store.migrate()
    store.query(f"DROP TABLE {store.database}.schema_migrations")
    assert store.migrate() == SHIPPED
    columns = store.query(f"DESCRIBE TABLE {store.database}.events")
    assert tuple(c[0] for c in columns) == (*EVENT_COLUMNS, "inserted_at")


def test_changed_migration_is_refused(store: EventStore) -> None:
    """A recorded checksum that differs from the shipped file is refused (no async DELETE mutation: 18.16
    applies those in the background, so a test relying on one is racy)."""
    for statement in bootstrap_statements(store.database, None):
        store.query(statement)
    store._insert("schema_migrations", ("version", "name", "checksum"), [[1], ["events"], ["0" * 16]])
    with pytest.raises(MigrationError, match="0001_events changed"):
        store.migrate()


def test_events_round_trip_with_identical_python_types(store: EventStore) -> None:
    store.migrate()
    events = searches(3)
    store.insert_events(events)
    rows = store.query(
        f"SELECT {', '.join(EVENT_COLUMNS)} FROM {store.database}.events ORDER BY ts_ms, event_type, position"
    )
    expected = sorted(
        (
            (r[0], datetime.fromtimestamp(r[1], UTC).replace(tzinfo=None), *r[2:])
            for r in zip(*to_columns(events), strict=True)
        ),
        key=lambda r: (r[2], r[4], r[12]),
    )
    assert rows == expected
    assert isinstance(rows[0][0], date) and isinstance(rows[0][1], datetime) and rows[0][1].tzinfo is None


def test_duplicates_are_removed_in_the_read_path(store: EventStore) -> None:
    store.migrate()
    events = searches(10)
    store.insert_events(events)
    store.insert_events(events[:7])  # redelivery of part of the stream
    assert stored_counts(store) == (len(events) + 7, len(events))
    per_variant = store.query(
        f"SELECT variant, countIf(event_type = 'click') FROM {deduped_events_sql(store.database)} "
        "GROUP BY variant ORDER BY variant"
    )
    assert per_variant == [("control", 2), ("treatment", 2)]


def test_dead_letters_keep_raw_payload_and_reason(store: EventStore) -> None:
    store.migrate()
    store.insert_dead_letters([DeadLetter("t", 3, 42, "not JSON: x", b"\xffnot json'\n")])
    rows = store.query(f"SELECT topic, partition, offset, reason, raw FROM {store.database}.dead_letters")
    assert rows == [("t", 3, 42, "not JSON: x", "\\xffnot json'\n")]


def test_query_parameters_are_escaped_identically(store: EventStore) -> None:
    rows = store.query(
        "SELECT %(s)s, %(n)s, toDate(%(d)s), %(items)s",
        {"s": "a'b\\c", "n": 7, "d": date(2024, 2, 3), "items": ["x", "y"]},
    )
    assert rows == [("a'b\\c", 7, date(2024, 2, 3), ["x", "y"])]


def test_bad_sql_raises_store_error(store: EventStore) -> None:
    with pytest.raises(EventStoreError):
        store.query("SELECT * FROM no_such_database.no_such_table")


@pytest.mark.integration
def test_opening_a_second_chdb_path_closes_the_first_without_deadlock(tmp_path) -> None:
    """Regression: `ChdbStore.open` held its registry lock while closing the previous session, whose
    `close` took the same (non-reentrant) lock, so opening a second path hung forever."""
    from event_logging.chdb_store import ChdbStore

    first = ChdbStore.open(tmp_path / "one")
    second = ChdbStore.open(tmp_path / "two")
    assert second is not first
    second.close()
