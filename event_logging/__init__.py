"""Event pipeline: versioned event schema, Kafka producer with disk spool, consumer into ClickHouse.

Import the parts from their modules (`event_logging.schema`, `.factory`, `.sink`, `.store`, `.consumer`):
this package root stays light because every package imports the schema.
"""

from event_logging.config import ClickHouseConfig, KafkaConfig, SpoolConfig

__all__ = ["ClickHouseConfig", "KafkaConfig", "SpoolConfig"]
