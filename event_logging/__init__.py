"""Event pipeline: versioned event schema, Kafka producer with disk spool, consumer into ClickHouse."""

from event_logging.config import ClickHouseConfig, KafkaConfig

__all__ = ["ClickHouseConfig", "KafkaConfig"]
