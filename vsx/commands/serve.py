"""`vsx serve`: the search API and web page under uvicorn, configured from the settings.

Workers are separate processes started by uvicorn, so the app is built by an import-string factory
(`vsx.commands.serve:app_factory`) in each of them; the parent hands the ServingConfig over as JSON in an
environment variable. With several workers, prometheus runs in multiprocess mode (a fresh folder under
`<data_dir>/serve/<port>/metrics`) and an admin reload reaches every worker through the reload stamp in
`<data_dir>/serve/<port>`. Embedded mode keeps events in a chdb store that only one process may open, so it
serves with one worker; use the Kafka mode (`VSX_EMBEDDED=false`) for more.

Reports: `settings.reports_dir` is served under `/reports/`, and every worker gets the analysis pipeline to
refresh them (`POST /v1/admin/analyze/{name}`). On the embedded store the server is the only process that can
read the events, so it also re-analyses its running experiments every `report_refresh_minutes`, and records
its URL (`vsx/store_owner.py`) so that commands refused the store can say where to ask instead. With
ClickHouse any process may analyse at any time (`vsx analyze`, a cron job), so nothing is scheduled.
"""

from __future__ import annotations

import os
import shutil
from contextlib import nullcontext
from typing import TYPE_CHECKING

import typer
from pydantic import TypeAdapter

from vsx.errors import VsxError
from vsx.settings import get_settings
from vsx.store_owner import check_embedded_store, server_record

if TYPE_CHECKING:  # serving pulls in FastAPI, torch and Faiss: imported only when `vsx serve` runs
    from fastapi import FastAPI


CONFIG_ENV = "VSX_SERVE_CONFIG"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


class ServeError(VsxError, ValueError):
    """The settings cannot be served as asked (e.g. several workers on the embedded store)."""


def app_factory() -> FastAPI:
    """Called by uvicorn in every worker: the app for the config the parent process put in the environment."""
    from serving.app import create_app
    from serving.config import ServingConfig
    from vsx.pipelines.report_refresh import report_refresher

    config = TypeAdapter(ServingConfig).validate_json(os.environ[CONFIG_ENV])
    return create_app(config, refresh_report=report_refresher(get_settings()))


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve_cmd(
        host: str = typer.Option("127.0.0.1", help="Address to bind (loopback by default)."),
        port: int = typer.Option(8000, help="TCP port."),
        workers: int = typer.Option(1, min=1, help="uvicorn worker processes (Kafka mode only for more than 1)."),
        access_log: bool = typer.Option(True, help="Log every request (uvicorn access log); /metrics counts anyway."),
    ) -> None:
        """Serve the search API, the web page at /, /metrics, /docs and the reports under /reports/."""
        settings = get_settings()
        if settings.embedded and workers > 1:
            raise ServeError(
                "embedded mode stores events in chdb, which one process owns: serve with --workers 1, "
                "or set VSX_EMBEDDED=false to log through Kafka"
            )
        if settings.embedded:  # before loading anything: the store is what a second server would lack
            check_embedded_store(settings)
        if not settings.experiments_dir.is_dir():  # its own error, so the line names the setting that moves it
            from experiments.errors import MissingExperimentsFolderError

            raise MissingExperimentsFolderError(str(settings.experiments_dir))
        import uvicorn

        from serving.config import ServingConfig
        from serving.registry import check_config
        from vsx.pipelines.serving import serving_config

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
        local = "127.0.0.1" if host in ("0.0.0.0", "") else f"[{host}]" if ":" in host else host
        record = server_record(settings, f"http://{local}:{port}") if settings.embedded else nullcontext()
        with record:
            uvicorn.run(
                "vsx.commands.serve:app_factory",
                factory=True,
                host=host,
                port=port,
                workers=workers,
                log_level="info",
                access_log=access_log,
            )
