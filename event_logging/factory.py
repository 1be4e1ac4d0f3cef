"""Choosing the store and the sink from settings-shaped arguments (what `vsx` and serving call)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from event_logging.clickhouse_store import ClickHouseStore
from event_logging.config import ClickHouseConfig, KafkaConfig, SpoolConfig
from event_logging.embedded_sink import EmbeddedEventSink
from event_logging.errors import EventLoggingError
from event_logging.kafka_sink import KafkaEventSink
from event_logging.process_sink import ProcessSink
from event_logging.sink import EventSink
from event_logging.store import EventStore


def open_store(clickhouse: ClickHouseConfig | None = None, chdb_path: Path | None = None) -> EventStore:
    """The ClickHouse server store when `clickhouse` is given, else the (process-wide) chdb store at `chdb_path`."""
    if clickhouse is not None:
        return ClickHouseStore(clickhouse)
    if chdb_path is not None:
        # Imported here: loading the embedded engine takes seconds, which server-mode processes never need.
        from event_logging.chdb_store import ChdbStore

        return ChdbStore.open(chdb_path)
    raise EventLoggingError("open_store needs a ClickHouse config or a chdb path")


def make_sink(
    *,
    embedded: bool,
    kafka: KafkaConfig,
    spool_dir: Path,
    store: EventStore | None = None,
    spool: SpoolConfig | None = None,
) -> EventSink:
    """Embedded: events go straight into `store` (required). Otherwise: Kafka, spooling under `spool_dir`, from a
    child process unless `kafka.sink_process` is off."""
    if embedded:
        if store is None:
            raise EventLoggingError("the embedded event sink needs a store")
        return EmbeddedEventSink(store)
    spool_config = spool.model_copy(update={"directory": spool_dir}) if spool else SpoolConfig(directory=spool_dir)
    kafka_sink = partial(KafkaEventSink, kafka, spool_config)
    return ProcessSink(kafka_sink, max_queue=kafka.queue_max_events) if kafka.sink_process else kafka_sink()
