"""What a serving process needs to know, passed to `create_app` (built from settings by `vsx serve`, by tests directly).

Library code never reads the environment: `vsx/commands/serve.py` is the only place that turns `vsx.settings`
into a `ServingConfig`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from event_logging.config import KafkaConfig
from experiments.validate import KnownNames


@dataclass(frozen=True)
class ServingLimits:
    """Bounds on what one request may make the server do; exceeding one is a 413, never a slow 500.

    `max_pixels` guards against decompression bombs: a 50 kB PNG may declare 100k x 100k pixels.
    `max_body_bytes` bounds every non-upload body (event batches, JSON searches).
    `max_discard_bytes`: how much of a body the server reads and throws away so that a client sending it whole
    (no `Expect: 100-continue`) still reads an early answer such as the 413 (`serving.body_limit`).
    `max_catalog_images` bounds the images of one catalog update (each within `max_upload_bytes`).
    """

    max_upload_bytes: int = 8 * 1024 * 1024
    max_pixels: int = 16_000_000
    max_batch: int = 100
    max_body_bytes: int = 1024 * 1024
    request_cache_size: int = 100_000
    max_discard_bytes: int = 32 * 1024 * 1024
    max_catalog_images: int = 64


@dataclass(frozen=True)
class ServingConfig:
    """Where artifacts, experiments and events live, and the request limits.

    `catalog` is a `load_catalog` spec; None ⇒ the catalog the default variant's index was built on (its manifest).
    `embedded=True` logs events straight into a chdb store at `chdb_path` (one process owns it, so one worker);
    otherwise events go to Kafka (`kafka`) with a disk spool in `spool_dir` for broker outages (the ingestor, not
    serving, writes them to ClickHouse).
    `admin_token` empty disables the admin endpoints (403) rather than leaving them open.
    `run_dir` is shared by the workers of one server: the reload stamp lives there (a reload in one worker
    makes the others reload too); `None` for a single in-process app (tests).
    `metrics_multiproc_dir` set ⇒ /metrics aggregates every worker's samples (prometheus multiprocess mode; the
    same path must be in `PROMETHEUS_MULTIPROC_DIR` before `prometheus_client` is imported).
    `reports_dir` set ⇒ the folder is served read-only under `/reports/` (and linked from the web page); with a
    refresher passed to `create_app`, reports of running experiments are re-analysed every `report_refresh_s`
    seconds (0: only on `POST /v1/admin/analyze/{name}`), see `serving/reports.py`.
    `catalog_additions_dir` holds the images added to catalogs after their build (`POST /v1/admin/catalog`,
    `vsx index update`), one folder per catalog (`search_core.catalog_additions`).
    `milvus_*` say where variants with `index_backend: milvus` are served (a cluster URI or a milvus-lite file;
    connected on first use).
    `trust_client_time` lets a traffic simulator set "now" with the `X-Vsx-Time` header (event timestamps and
    experiment windows follow simulated time) and a search's request id with `X-Vsx-Request-Id` (interleaving's
    coin flips are seeded by it, so a seeded simulation serves the same lists every run); never on for real users.
    `client_time_window` bounds how far that simulated time may be from the server's clock (None: any time the
    event store holds, 1970 to 2106, because simulations replay calendars of their own).
    `known_names`: the metrics and user attributes the analysis defines (vsx passes its catalogue), so a reload
    refuses an experiment naming a metric no analysis can compute; None checks metric names for shape only.
    """

    artifacts_dir: Path
    experiments_dir: Path
    catalog: str | None = None
    embedded: bool = True
    kafka: KafkaConfig = field(default_factory=KafkaConfig)
    chdb_path: Path | None = None
    spool_dir: Path = Path("var/data/spool")
    catalog_additions_dir: Path = Path("var/data/catalog")
    milvus_uri: str = "var/data/milvus/milvus.db"
    milvus_token: str = ""
    milvus_collection_prefix: str = "vsx"
    admin_token: str = ""
    limits: ServingLimits = field(default_factory=ServingLimits)
    run_dir: Path | None = None
    metrics_multiproc_dir: Path | None = None
    reload_poll_s: float = 1.0
    trust_client_time: bool = False
    client_time_window: timedelta | None = None
    known_names: KnownNames | None = None
    ui_sample_size: int = 24
    reports_dir: Path | None = None
    report_refresh_s: float = 0.0
