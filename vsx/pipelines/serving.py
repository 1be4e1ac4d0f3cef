"""The serving app's configuration from the settings: where events go, the server's config, a simulation's.

`vsx serve` serves `serving_config(settings)`; the demo and `vsx simulate` drive the same app in-process with
`simulation_config`, which differs only where a simulation must: its own catalog and experiments folder, a
backend the command chose, the simulator's clock trusted and no reports refreshed behind its back.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

from event_logging.config import ClickHouseConfig, KafkaConfig
from search_core.catalog import Catalog
from serving.config import ServingConfig
from vsx.pipelines.definitions import known_names
from vsx.settings import Settings


@dataclass(frozen=True)
class Backend:
    """Where events go: the embedded chdb store, or a Kafka topic (ingested into ClickHouse afterwards)."""

    embedded: bool
    chdb_path: Path | None
    kafka: KafkaConfig
    clickhouse: ClickHouseConfig
    spool_dir: Path

    @classmethod
    def from_settings(cls, settings: Settings, *, embedded: bool | None = None) -> Backend:
        """The settings' backend; `embedded` overrides `settings.embedded` (`vsx demo --services`)."""
        return cls(
            embedded=settings.embedded if embedded is None else embedded,
            chdb_path=settings.chdb_path,
            kafka=settings.kafka,
            clickhouse=settings.clickhouse,
            spool_dir=settings.spool_dir,
        )


def serving_config(
    settings: Settings,
    *,
    backend: Backend | None = None,
    run_dir: Path | None = None,
    multiproc_dir: Path | None = None,
) -> ServingConfig:
    """The ServingConfig of these settings (events to `backend`, by default the settings' own)."""
    backend = backend or Backend.from_settings(settings)
    return ServingConfig(
        artifacts_dir=settings.artifacts_dir,
        experiments_dir=settings.experiments_dir,
        embedded=backend.embedded,
        kafka=backend.kafka,
        chdb_path=backend.chdb_path,
        spool_dir=backend.spool_dir,
        catalog_additions_dir=settings.catalog_additions_dir,
        milvus_uri=settings.milvus_uri,
        milvus_token=settings.milvus.token.get_secret_value(),
        milvus_collection_prefix=settings.milvus.collection_prefix,
        admin_token=settings.admin_token.get_secret_value(),
        trust_client_time=settings.trust_client_time,
        client_time_window=(
            timedelta(days=settings.client_time_window_days) if settings.client_time_window_days else None
        ),
        run_dir=run_dir,
        metrics_multiproc_dir=multiproc_dir,
        reports_dir=settings.reports_dir,
        report_refresh_s=settings.report_refresh_minutes * 60 if backend.embedded else 0.0,
        known_names=known_names(settings),
    )


def simulation_config(settings: Settings, backend: Backend, catalog: Catalog, experiments_dir: Path) -> ServingConfig:
    """The app configuration for simulated traffic: the simulator's clock is trusted (`X-Vsx-Time`) in any calendar,
    and the app serves no reports (the simulation analyses when its traffic is done)."""
    return replace(
        serving_config(settings, backend=backend),
        experiments_dir=experiments_dir,
        catalog=catalog.name,
        trust_client_time=True,
        client_time_window=None,
        reports_dir=None,
        report_refresh_s=0.0,
    )
