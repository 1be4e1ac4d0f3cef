"""`create_app(config)`: the FastAPI application, everything loaded before the first request.

Creating the app loads the experiments and every artifact they serve, so an invalid configuration fails here,
loudly, instead of at the first request. Events go to the sink the caller passes, or else to the configured one:
embedded mode writes them into the chdb store at `config.chdb_path`, otherwise to Kafka with a disk spool.
`vsx serve` runs this app under uvicorn (`--workers N` through an import-string factory, see
`vsx/commands/serve.py`).

While the app runs, numpy's BLAS is held to one thread (`threadpoolctl`; Faiss's own BLAS, used only for
batches of 20+ queries, follows OpenMP's per-thread setting and is left alone): a request's matrix products are
small, and a BLAS call fanning out to worker threads right after the encoder competes for the cores with torch's
still-spinning OpenMP workers (BENCHMARKS.md, "Search path of a catalog image"). Whole-batch work (training, PCA,
analysis) runs outside the app and keeps every thread.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from threadpoolctl import threadpool_limits

from event_logging.factory import make_sink, open_store
from event_logging.sink import EventSink
from serving.body_limit import ContentLengthGuard
from serving.catalog_updates import CatalogUpdater
from serving.config import ServingConfig
from serving.errors import InvalidServingConfigError, install_error_handlers
from serving.metrics import Metrics
from serving.registry import VariantRegistry
from serving.reload_stamp import ReloadStamp
from serving.reports import ReportFiles, ReportRefresher, Reports
from serving.routes import ROUTERS, catalog, search
from serving.service import SearchService
from serving.spool_slot import SpoolSlot, claim_spool_slot

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
MULTIPART_OVERHEAD = 64 * 1024
"""Bytes a multipart upload may carry beyond the image itself (boundaries, part headers, the `k` field)."""


def open_sink(config: ServingConfig) -> tuple[EventSink, SpoolSlot | None]:
    """The embedded sink writes to the chdb store (creating its tables); otherwise Kafka, spooling to this
    process's own slot of the spool folder (released after the sink closed)."""
    if not config.embedded:
        slot = claim_spool_slot(config.spool_dir)
        return make_sink(embedded=False, kafka=config.kafka, spool_dir=slot.path), slot
    if config.chdb_path is None:
        raise InvalidServingConfigError(["embedded mode needs chdb_path (where the embedded event store lives)"])
    store = open_store(chdb_path=config.chdb_path)
    store.migrate()
    return make_sink(embedded=True, kafka=config.kafka, spool_dir=config.spool_dir, store=store), None


def create_app(
    config: ServingConfig, *, sink: EventSink | None = None, refresh_report: ReportRefresher | None = None
) -> FastAPI:
    """Build the app; raises InvalidServingConfigError (with every problem) if the configuration cannot be served.

    `sink` is where events go (any `event_logging.sink.EventSink`; `event_logging.memory_sink.MemoryEventSink`
    embeds the app without an event store); without it, `open_sink(config)` opens the configured one. The app
    closes its sink when it shuts down, whoever made it.

    `refresh_report` analyses one experiment into `config.reports_dir` (see `serving/reports.py`); without it
    (or without a reports folder) the admin analyze endpoint answers 503 and nothing is refreshed here.
    """
    registry = VariantRegistry(config)
    spool_slot = None
    if sink is None:
        sink, spool_slot = open_sink(config)
    metrics = Metrics(config.metrics_multiproc_dir)
    service = SearchService(registry, sink, metrics, config.limits)
    stamp = ReloadStamp(registry, config.run_dir, config.reload_poll_s) if config.run_dir is not None else None
    reports = None
    if config.reports_dir is not None and refresh_report is not None:

        def running() -> list[str]:
            return [e.name for e in registry.current.experiments.running()]

        reports = Reports(config.reports_dir, refresh_report, running, config.report_refresh_s)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if stamp is not None:
            stamp.start()
        if reports is not None:
            reports.start()
        with threadpool_limits(limits=1, user_api="blas"):  # why: the module docstring
            yield
        if reports is not None:
            reports.stop()
        if stamp is not None:
            stamp.stop()
        sink.close()
        metrics.close()
        registry.close()
        if spool_slot is not None:
            spool_slot.release()

    app = FastAPIOffline(  # /docs and /redoc from assets in the package, not a CDN: they work offline
        title="vsx",
        summary="Visual search with A/B experiments: search, events, experiments, admin, reports.",
        version="1",
        lifespan=lifespan,
        static_url="/docs-assets",
        favicon_url="/favicon.ico",
    )
    app.state.config = config
    app.state.service = service
    app.state.metrics = metrics
    app.state.reload_stamp = stamp
    app.state.reports = reports
    app.state.catalog_updater = CatalogUpdater(registry, config.limits, stamp.publish if stamp is not None else None)
    install_error_handlers(app)
    upload_limit = config.limits.max_upload_bytes + MULTIPART_OVERHEAD
    catalog_limit = config.limits.max_catalog_images * upload_limit
    app.add_middleware(
        ContentLengthGuard,
        default_limit=config.limits.max_body_bytes,
        path_limits={search.router.prefix: upload_limit, catalog.router.prefix: catalog_limit},
        max_discard_bytes=config.limits.max_discard_bytes,
    )
    app.include_router(search.router, max_body_size=upload_limit)
    app.include_router(catalog.router, max_body_size=catalog_limit)
    for router in ROUTERS:
        app.include_router(router, max_body_size=config.limits.max_body_bytes)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    if config.reports_dir is not None:
        app.mount("/reports", ReportFiles(config.reports_dir, config.report_refresh_s), name="reports")
    logger.info(
        "serving %d configurations (%s) from %s",
        registry.current.variants,
        ", ".join(registry.current.running()) or "default only",
        config.artifacts_dir,
    )
    return app
