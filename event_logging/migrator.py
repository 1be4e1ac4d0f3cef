"""Versioned DDL: `migrations/NNNN_name.sql`, applied once each, recorded in `schema_migrations`.

The files are templates so that one text serves a single server, chdb and a cluster:
`{database}`; `{local}` (`""`, or `"_local"` on a cluster, where the real data lives in `<table>_local`
on every shard and `<table>` is a `Distributed` table over them); `{on_cluster}` (`""` or
`ON CLUSTER name`); `{replicated}` and `{replica_args:<table>}` (empty, or the `Replicated…MergeTree`
prefix and its ZooKeeper path with the `{shard}`/`{replica}` server macros); `{cluster}`. A statement
under a `-- vsx:cluster-only` line runs only with a cluster. Statements end with `;` at the end of a line.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources

from event_logging.errors import MigrationError

CLUSTER_ONLY = "-- vsx:cluster-only"
PLACEHOLDER = re.compile(r"\{(\w+)(?::(\w+))?\}")
FILE_NAME = re.compile(r"^(\d{4})_(\w+)\.sql$")

SCHEMA_MIGRATIONS_DDL = """CREATE TABLE IF NOT EXISTS {database}.schema_migrations {on_cluster} (
    version UInt32,
    name String,
    checksum String,
    applied_at DateTime DEFAULT now()
) ENGINE = MergeTree ORDER BY version"""


@dataclass(frozen=True)
class Migration:
    """One migration file: its version, name, rendered statements and a checksum of its template."""

    version: int
    name: str
    statements: tuple[str, ...]
    checksum: str


def _substitute(template: str, database: str, cluster: str | None) -> str:
    def replace(match: re.Match[str]) -> str:
        name, arg = match.group(1), match.group(2)
        if name == "database":
            return database
        if name == "local":
            return "_local" if cluster else ""
        if name == "on_cluster":
            return f"ON CLUSTER {cluster}" if cluster else ""
        if name == "replicated":
            return "Replicated" if cluster else ""
        if name == "replica_args" and arg:
            return f"('/clickhouse/tables/{{shard}}/{database}/{arg}_local', '{{replica}}')" if cluster else ""
        if name == "cluster" and cluster:
            return cluster
        raise MigrationError(f"unknown or unusable placeholder {match.group(0)!r} in a migration")

    return PLACEHOLDER.sub(replace, template)


def render_statements(template: str, database: str, cluster: str | None) -> tuple[str, ...]:
    """The statements of one migration file for this database and (optional) cluster, in order."""
    statements = []
    for chunk in re.split(r";[ \t]*\n|;\s*\Z", template):
        lines = [line for line in chunk.splitlines() if line.strip()]
        if not lines:
            continue
        cluster_only = any(line.strip() == CLUSTER_ONLY for line in lines)
        code = [line for line in lines if not line.lstrip().startswith("--")]
        if not code or (cluster_only and not cluster):
            continue
        text = "\n".join(code)
        rendered = re.sub(r"(?<=\S)  +", " ", _substitute(text, database, cluster))
        statements.append(re.sub(r"[ \t]+\n", "\n", rendered))
    return tuple(statements)


def load_migrations(database: str, cluster: str | None = None) -> list[Migration]:
    """All migration files shipped in `event_logging/migrations`, in version order, rendered."""
    migrations = []
    for entry in resources.files("event_logging.migrations").iterdir():
        match = FILE_NAME.match(entry.name)
        if not match:
            continue
        template = entry.read_text(encoding="utf-8")
        migrations.append(
            Migration(
                version=int(match.group(1)),
                name=match.group(2),
                statements=render_statements(template, database, cluster),
                checksum=hashlib.sha256(template.encode()).hexdigest()[:16],
            )
        )
    migrations.sort(key=lambda m: m.version)
    versions = [m.version for m in migrations]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"two migration files share a version: {versions}")
    return migrations


def bootstrap_statements(database: str, cluster: str | None = None) -> tuple[str, ...]:
    """The database and the `schema_migrations` table, which must exist before anything is recorded."""
    on_cluster = f" ON CLUSTER {cluster}" if cluster else ""
    return (
        f"CREATE DATABASE IF NOT EXISTS {database}{on_cluster}",
        render_statements(SCHEMA_MIGRATIONS_DDL, database, cluster)[0],
    )
