"""`vsx ingest`: consume the events topic into ClickHouse (one consumer-group member per process)."""

from __future__ import annotations

import signal
import threading
from typing import TYPE_CHECKING

import typer

from vsx.settings import get_settings

if TYPE_CHECKING:  # kafka-python and clickhouse-driver: imported when the command runs, not for --help
    from event_logging.consumer import IngestStats


def register(app: typer.Typer) -> None:
    @app.command("ingest")
    def ingest_cmd(
        batch_size: int = typer.Option(20_000, help="Insert when this many events are pending."),
        batch_timeout: float = typer.Option(1.0, help="…or this many seconds after the batch's first message."),
        max_events: int | None = typer.Option(None, help="Stop after this many events (default: run until Ctrl-C)."),
    ) -> None:
        """Kafka → ClickHouse: migrate, join the consumer group, insert in batches, commit after each insert."""
        from tqdm import tqdm

        from event_logging.clickhouse_store import ClickHouseStore
        from event_logging.consumer import Ingestor
        from event_logging.topics import ensure_topic

        settings = get_settings()
        store = ClickHouseStore(settings.clickhouse)
        applied = store.migrate()
        if applied:
            typer.echo(f"migrations applied: {', '.join(applied)}", err=True)
        ensure_topic(settings.kafka)
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        bar = tqdm(total=max_events, unit="ev", unit_scale=True, mininterval=1.0, desc="ingest", dynamic_ncols=True)
        shown = 0

        def progress(stats: IngestStats) -> None:
            nonlocal shown
            bar.update(stats.inserted - shown)
            shown = stats.inserted
            bar.set_postfix(rate=f"{stats.rate:,.0f}/s", dead=stats.dead_letters, retries=stats.retries, refresh=False)

        ingestor = Ingestor(
            settings.kafka, store, batch_size=batch_size, batch_timeout_s=batch_timeout, on_progress=progress
        )
        try:
            stats = ingestor.run(stop, max_events=max_events)
        finally:
            bar.close()
            store.close()
        typer.echo(
            f"ingested {stats.inserted} events ({stats.rate:,.0f}/s), {stats.dead_letters} dead letters, "
            f"{stats.batches} batches, {stats.retries} store retries",
            err=True,
        )
