"""Configuration owned by the event pipeline: where Kafka and ClickHouse are.

Plain pydantic models: `vsx.settings.Settings` nests them so that
`VSX_KAFKA__BOOTSTRAP_SERVERS='["127.0.0.1:9092"]'` or `VSX_CLICKHOUSE__URL=clickhouse://127.0.0.1:9000/vsx`
fill them; library code receives them as arguments and never reads the environment.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, field_validator

from event_logging.errors import InvalidIdentifierError

SQL_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
"""Database and cluster names: they are written into SQL text (DDL cannot take them as parameters), so only
plain identifiers, which need no quoting and cannot end a statement."""


def sql_identifier(name: str, what: str) -> str:
    """`name` when it is a plain SQL identifier, else `InvalidIdentifierError` (a ValueError) naming `what`."""
    if not isinstance(name, str) or not SQL_IDENTIFIER.fullmatch(name):
        shown = repr(name)[:80]
        raise InvalidIdentifierError(f"{what} {shown} must be a plain SQL identifier: [A-Za-z_][A-Za-z0-9_]*, ≤ 64")
    return name


def url_database(url: str) -> str:
    """The database a `clickhouse://host:port/<database>` url names (`vsx` when it names none)."""
    return urlsplit(url).path.strip("/") or "vsx"


class KafkaConfig(BaseModel):
    """Kafka producer/consumer settings. `bootstrap_servers` is a list: a cluster has several brokers."""

    bootstrap_servers: list[str] = Field(default_factory=lambda: ["127.0.0.1:9092"])
    topic: str = "vsx-events"
    partitions: int = Field(default=6, ge=1)
    replication_factor: int = Field(default=1, ge=1)
    consumer_group: str = "vsx-ingest"
    # Producer tuning (measured in benchmarks/events.py): events of one user shard (`user_shards` of them,
    # see `wire`) travel packed together, up to `max_events_per_message` per Kafka message (newline-separated
    # JSON), which amortises the per-message cost of kafka-python; `linger_ms` lets the batch of a partition
    # fill; lz4 is cheaper on CPU than gzip. More shards spread users more evenly over partitions (and so over
    # ingest processes) but make smaller messages; keep it a few times the partition count.
    linger_ms: int = Field(default=20, ge=0)
    batch_bytes: int = Field(default=1_048_576, ge=16_384)
    compression: Literal["none", "gzip", "lz4"] = "lz4"
    max_events_per_message: int = Field(default=500, ge=1)
    user_shards: int | None = Field(default=64, ge=1)  # None: the key is the user id (one user per message)
    acks: Literal["all", "1"] = "all"
    request_timeout_ms: int = Field(default=5_000, ge=100)
    # How long the sender waits for acknowledgements before treating the broker as down and spooling.
    send_timeout_s: float = Field(default=10.0, gt=0)
    queue_max_events: int = Field(default=500_000, ge=1)
    # Serving's sink builds, packs and sends events in a child process (`event_logging.process_sink`), so that
    # Python work does not hold the GIL the request threads need (the serving p99); False keeps it in-process.
    sink_process: bool = True
    # Consumer: Tansu (and small clusters) join faster with a short session; Kafka accepts these too.
    session_timeout_ms: int = Field(default=6_000, ge=1_000)
    heartbeat_interval_ms: int = Field(default=2_000, ge=100)


class SpoolConfig(BaseModel):
    """On-disk spool of the producer: where, how big, and when data reaches the disk.

    `fsync="batch"` syncs once per batch the sender writes (one linger interval of events at risk on power
    loss, none on a process crash); `"never"` leaves it to the OS page cache.
    """

    directory: Path = Path("var/data/spool")
    max_bytes: int = Field(default=1 << 30, ge=1024)
    segment_bytes: int = Field(default=16 << 20, ge=1024)
    fsync: Literal["batch", "never"] = "batch"


class ClickHouseConfig(BaseModel):
    """ClickHouse server location. `cluster` set ⇒ migrations run `ON CLUSTER` and add a Distributed table."""

    url: str = "clickhouse://127.0.0.1:9000/vsx"
    cluster: str | None = None

    @field_validator("url")
    @classmethod
    def _database_is_an_identifier(cls, url: str) -> str:
        sql_identifier(url_database(url), "the database in clickhouse.url")
        return url

    @field_validator("cluster")
    @classmethod
    def _cluster_is_an_identifier(cls, cluster: str | None) -> str | None:
        return None if cluster is None else sql_identifier(cluster, "clickhouse.cluster")
