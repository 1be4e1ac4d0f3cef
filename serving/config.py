"""What a serving process needs to know, passed to `create_app` (built from settings by `vsx serve`, by tests directly).

Library code never reads the environment: `vsx/commands/serve.py` is the only place that turns `vsx.settings`
into a `ServingConfig`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from event_logging.config import KafkaConfig
from experiments.validate import KnownNames


@dataclass(frozen=True)
class ServingLimits:
    """Bounds on what one request may make the server do; exceeding one is a 413, never a slow 500.

    `max_pixels` guards against decompression bombs: a 50 kB PNG may declare 100k x 100k pixels.
    `max_body_bytes` bounds every non-upload body (event batches, JSON searches).
    """

    max_upload_bytes: int = 8 * 1024 * 1024
    max_pixels: int = 16_000_000
    max_batch: int = 100
    max_body_bytes: int = 1024 * 1024
    request_cache_size: int = 100_000


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
    `trust_client_time` lets a traffic simulator set "now" with the `X-Vsx-Time` header (event timestamps and
    experiment windows follow simulated time) and a search's request id with `X-Vsx-Request-Id` (interleaving's
    coin flips are seeded by it, so a seeded simulation serves the same lists every run); never on for real users.
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
    admin_token: str = ""
    limits: ServingLimits = field(default_factory=ServingLimits)
    run_dir: Path | None = None
    metrics_multiproc_dir: Path | None = None
    reload_poll_s: float = 1.0
    trust_client_time: bool = False
    known_names: KnownNames | None = None
    ui_sample_size: int = 24
