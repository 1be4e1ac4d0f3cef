"""Configuration owned by the event pipeline: where Kafka and ClickHouse are.

Plain pydantic models: `vsx.settings.Settings` nests them so that
`VSX_KAFKA__BOOTSTRAP_SERVERS='["127.0.0.1:9092"]'` or `VSX_CLICKHOUSE__URL=clickhouse://127.0.0.1:9000/vsx`
fill them; library code receives them as arguments and never reads the environment.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class KafkaConfig(BaseModel):
    """Kafka producer/consumer settings. `bootstrap_servers` is a list: a cluster has several brokers."""

    bootstrap_servers: list[str] = Field(default_factory=lambda: ["127.0.0.1:9092"])
    topic: str = "vsx-events"
    partitions: int = Field(default=6, ge=1)
    replication_factor: int = Field(default=1, ge=1)
    consumer_group: str = "vsx-ingest"


class ClickHouseConfig(BaseModel):
    """ClickHouse server location. `cluster` set ⇒ migrations run `ON CLUSTER` and add a Distributed table."""

    url: str = "clickhouse://127.0.0.1:9000/vsx"
    cluster: str | None = None
