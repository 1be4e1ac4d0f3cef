"""Run an experiment online: serve the experiments folder, drive it with simulated users, flush the events.

In embedded mode (the demo's default) the app runs in-process behind httpx's ASGI transport (no socket, no
thread) and logs into the chdb store; with `--services` it logs to Kafka and `vsx ingest` logic moves
the events into the ClickHouse server before analysis. Either way the simulator talks HTTP semantics to
the real app: assignment, search, event validation and logging are the production code paths.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from datetime import datetime

from event_logging.config import ClickHouseConfig, KafkaConfig
from event_logging.consumer import Ingestor
from event_logging.factory import open_store
from event_logging.topics import ensure_topic
from search_core.artifacts import ArtifactRef, ArtifactStore
from search_core.catalog import Catalog
from search_core.training import trained_images
from serving.app import create_app
from serving.config import ServingConfig
from vsx.pipelines.click_model import ClickModel, TrafficPlan
from vsx.pipelines.simulate import SimulationSummary, simulate_app

logger = logging.getLogger(__name__)


def unseen_traffic(store: ArtifactStore, catalog: Catalog, encoders: Iterable[ArtifactRef | str]) -> list[str]:
    """The catalog's training images that none of `encoders` (nor an ancestor) was fine-tuned on by clicks: the
    query pool of an experiment that should measure how encoders generalise, not pairs they memorised."""
    taught = set().union(*(trained_images(store, ref) for ref in encoders))
    return [i for i in catalog.train_ids if i not in taught]


def run_traffic(
    config: ServingConfig,
    catalog: Catalog,
    *,
    plan: TrafficPlan,
    start: datetime,
    model: ClickModel | None = None,
    user_prefix: str = "sim-user",
    traffic_ids: Sequence[str] | None = None,
) -> SimulationSummary:
    """Serve `config` in-process and simulate `plan` with queries from `traffic_ids` (default: the catalog's
    training images, never its test or validation split); the app's sink is flushed and closed on exit."""
    if not config.embedded:
        ensure_topic(config.kafka)
    return simulate_app(
        create_app(config),
        traffic_ids=catalog.train_ids if traffic_ids is None else traffic_ids, label_of=catalog.label, plan=plan,
        start=start, model=model, user_prefix=user_prefix,
    )  # fmt: skip


def ingest(kafka: KafkaConfig, clickhouse: ClickHouseConfig, events: int, timeout_s: float = 600.0) -> int:
    """Move `events` events from Kafka into ClickHouse (what `vsx ingest` does, bounded by count and time).

    The simulator knows exactly how many events it caused, so the loop waits for that many; on timeout
    the analysis runs on what arrived and the shortfall is logged.
    """
    store = open_store(clickhouse=clickhouse)
    store.migrate()
    stop = threading.Event()
    timer = threading.Timer(timeout_s, stop.set)
    timer.start()
    try:
        stats = Ingestor(kafka, store).run(stop, max_events=events)
    finally:
        timer.cancel()
        store.close()
    if stats.inserted < events:
        logger.warning("ingested %d of %d events before the %.0f s timeout", stats.inserted, events, timeout_s)
    return stats.inserted
