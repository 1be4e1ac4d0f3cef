"""`vsx serve`: the search API and web page under uvicorn, configured from the settings.

Workers are separate processes started by uvicorn, so the app is built by an import-string factory
(`vsx.commands.serve:app_factory`) in each of them; the parent hands the ServingConfig over as JSON in an
environment variable. With several workers, prometheus runs in multiprocess mode (a fresh folder under
`<data_dir>/serve/<port>/metrics`) and an admin reload reaches every worker through the reload stamp in
`<data_dir>/serve/<port>`. Embedded mode keeps events in a chdb store that only one process may open, so it
serves with one worker; use the Kafka mode (`VSX_EMBEDDED=false`) for more.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from pydantic import TypeAdapter

from vsx.errors import VsxError
from vsx.settings import Settings, get_settings

if TYPE_CHECKING:  # serving pulls in FastAPI, torch and Faiss: imported only when `vsx serve` runs
    from fastapi import FastAPI

    from serving.config import ServingConfig

CONFIG_ENV = "VSX_SERVE_CONFIG"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


class ServeError(VsxError, ValueError):
    """The settings cannot be served as asked (e.g. several workers on the embedded store)."""


def chdb_path(settings: Settings) -> Path:
    """Where embedded mode keeps its events (the same store `vsx analyze` reads in embedded mode)."""
    return settings.data_dir / "chdb"


def serving_config(
    settings: Settings, *, run_dir: Path | None = None, multiproc_dir: Path | None = None
) -> ServingConfig:
    """The ServingConfig of these settings."""
    from serving.config import ServingConfig
    from vsx.pipelines.definitions import known_names

    return ServingConfig(
        artifacts_dir=settings.artifacts_dir,
        experiments_dir=settings.experiments_dir,
        embedded=settings.embedded,
        kafka=settings.kafka,
        chdb_path=chdb_path(settings),
        spool_dir=settings.data_dir / "spool",
        admin_token=settings.admin_token.get_secret_value(),
        trust_client_time=settings.trust_client_time,
        run_dir=run_dir,
        metrics_multiproc_dir=multiproc_dir,
        known_names=known_names(settings),
    )


def app_factory() -> FastAPI:
    """Called by uvicorn in every worker: the app for the config the parent process put in the environment."""
    from serving.app import create_app
    from serving.config import ServingConfig

    return create_app(TypeAdapter(ServingConfig).validate_json(os.environ[CONFIG_ENV]))


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve_cmd(
        host: str = typer.Option("127.0.0.1", help="Address to bind (loopback by default)."),
        port: int = typer.Option(8000, help="TCP port."),
        workers: int = typer.Option(1, min=1, help="uvicorn worker processes (Kafka mode only for more than 1)."),
        access_log: bool = typer.Option(True, help="Log every request (uvicorn access log); /metrics counts anyway."),
    ) -> None:
        """Serve /v1/search, /v1/events, experiments, admin, /metrics and the web page at /."""
        settings = get_settings()
        if settings.embedded and workers > 1:
            raise ServeError(
                "embedded mode stores events in chdb, which one process owns: serve with --workers 1, "
                "or set VSX_EMBEDDED=false to log through Kafka"
            )
        import uvicorn

        from serving.config import ServingConfig
        from serving.registry import check_config

        run_dir = settings.data_dir / "serve" / str(port)
        multiproc_dir = None
        if workers > 1:
            multiproc_dir = run_dir / "metrics"
            shutil.rmtree(multiproc_dir, ignore_errors=True)  # stale samples of a previous run would be summed
            multiproc_dir.mkdir(parents=True)
            os.environ[MULTIPROC_ENV] = str(multiproc_dir)
        config = serving_config(settings, run_dir=run_dir, multiproc_dir=multiproc_dir)
        check_config(config)  # a bad config is one line and exit 2 here, not a traceback in every worker
        os.environ[CONFIG_ENV] = TypeAdapter(ServingConfig).dump_json(config).decode()
        uvicorn.run(
            "vsx.commands.serve:app_factory",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="info",
            access_log=access_log,
        )
