"""Migration SQL text: single node vs ON CLUSTER + Distributed (no cluster here, so the text is the test)."""

from __future__ import annotations

import pytest

from event_logging.errors import MigrationError
from event_logging.migrator import bootstrap_statements, load_migrations, render_statements


def test_single_node_statements_have_no_cluster_parts() -> None:
    statements = [s for m in load_migrations("vsx") for s in m.statements]
    assert [s.split("(")[0].strip() for s in statements] == [
        "CREATE TABLE IF NOT EXISTS vsx.events",
        "CREATE TABLE IF NOT EXISTS vsx.dead_letters",
        "ALTER TABLE vsx.events ADD COLUMN team String DEFAULT '' AFTER hash_version",
        "ALTER TABLE vsx.events ADD COLUMN attribution String DEFAULT '' AFTER team",
        "ALTER TABLE vsx.events ADD COLUMN attr_names Array",
    ]
    events = statements[0]
    assert "ENGINE = ReplacingMergeTree\nPARTITION BY toYYYYMMDD(event_date)" in events
    assert "ORDER BY (experiment, variant, user_id, event_id)" in events
    assert not any("CLUSTER" in s or "Distributed" in s or "Replicated" in s for s in statements)


def test_cluster_statements_create_local_replicated_tables_and_distributed_ones() -> None:
    statements = [s for m in load_migrations("analytics", cluster="prod") for s in m.statements]
    heads = [s.split("\n")[0] for s in statements]
    assert heads == [
        "CREATE TABLE IF NOT EXISTS analytics.events_local ON CLUSTER prod (",
        "CREATE TABLE IF NOT EXISTS analytics.events ON CLUSTER prod AS analytics.events_local",
        "CREATE TABLE IF NOT EXISTS analytics.dead_letters_local ON CLUSTER prod (",
        "CREATE TABLE IF NOT EXISTS analytics.dead_letters ON CLUSTER prod AS analytics.dead_letters_local",
        "ALTER TABLE analytics.events_local ON CLUSTER prod ADD COLUMN team String DEFAULT '' AFTER hash_version",
        "ALTER TABLE analytics.events ON CLUSTER prod ADD COLUMN team String DEFAULT '' AFTER hash_version",
        "ALTER TABLE analytics.events_local ON CLUSTER prod ADD COLUMN attribution String DEFAULT '' AFTER team",
        "ALTER TABLE analytics.events ON CLUSTER prod ADD COLUMN attribution String DEFAULT '' AFTER team",
        "ALTER TABLE analytics.events_local ON CLUSTER prod ADD COLUMN attr_names Array(String) AFTER attribution, "
        "ADD COLUMN attr_values Array(String) AFTER attr_names",
        "ALTER TABLE analytics.events ON CLUSTER prod ADD COLUMN attr_names Array(String) AFTER attribution, "
        "ADD COLUMN attr_values Array(String) AFTER attr_names",
    ]
    assert (
        "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/analytics/events_local', '{replica}')"
        in statements[0]
    )
    assert statements[1].endswith("ENGINE = Distributed(prod, analytics, events_local, cityHash64(user_id))")
    assert statements[3].endswith("ENGINE = Distributed(prod, analytics, dead_letters_local, rand())")
    assert bootstrap_statements("analytics", "prod")[0] == "CREATE DATABASE IF NOT EXISTS analytics ON CLUSTER prod"
    assert "schema_migrations ON CLUSTER prod (" in bootstrap_statements("analytics", "prod")[1]


def test_versions_are_ordered_and_checksums_stable() -> None:
    first, again = load_migrations("vsx"), load_migrations("other", cluster="c")
    assert [m.version for m in first] == sorted(m.version for m in first) == [1, 2, 3, 4, 5]
    assert [m.checksum for m in first] == [m.checksum for m in again]


def test_unknown_placeholder_is_an_error() -> None:
    with pytest.raises(MigrationError):
        render_statements("CREATE TABLE {database}.t{oops} (x UInt8) ENGINE = Memory;", "vsx", None)
