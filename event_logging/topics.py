"""Create the events topic explicitly, with the partitions and replication the settings ask for.

Auto-creation would pick the broker's defaults (often 1 partition, which caps the consumer group at one
useful member), and Tansu's memory storage forgets topics on restart, so the producer calls this on every
(re)connect and `vsx ingest` at start.
"""

from __future__ import annotations

import logging

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from event_logging.config import KafkaConfig
from event_logging.errors import EventBusUnavailable

logger = logging.getLogger(__name__)


def ensure_topic(config: KafkaConfig, timeout_ms: int | None = None) -> bool:
    """Create `config.topic` unless it exists; True when it was created. Raises EventBusUnavailable."""
    timeout_ms = timeout_ms or config.request_timeout_ms
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=config.bootstrap_servers,
            request_timeout_ms=timeout_ms,
            bootstrap_timeout_ms=timeout_ms,
            client_id="vsx-admin",
        )
    except (KafkaError, OSError) as exc:
        raise EventBusUnavailable(f"Kafka at {config.bootstrap_servers} unreachable: {exc}") from exc
    try:
        if config.topic in admin.list_topics():
            return False
        topic = NewTopic(config.topic, num_partitions=config.partitions, replication_factor=config.replication_factor)
        admin.create_topics([topic], timeout_ms=timeout_ms)
        logger.info(
            "created topic %s (%d partitions, replication %d)",
            config.topic,
            config.partitions,
            config.replication_factor,
        )
        return True
    except TopicAlreadyExistsError:
        return False
    except (KafkaError, OSError) as exc:
        raise EventBusUnavailable(f"could not create topic {config.topic}: {exc}") from exc
    finally:
        admin.close()
