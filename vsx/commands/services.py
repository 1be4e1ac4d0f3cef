"""`vsx services up|down|status`: a local Tansu broker + ClickHouse server on loopback."""

from __future__ import annotations

import json

import typer

from vsx.services import stack
from vsx.settings import get_settings


def register(app: typer.Typer) -> None:
    services = typer.Typer(help="Start, stop or inspect a local Kafka-protocol broker and ClickHouse server.")
    app.add_typer(services, name="services")

    @services.command("up")
    def up_cmd() -> None:
        """Start Tansu and ClickHouse on free loopback ports; print the VSX_* variables to export."""
        state = stack.up(get_settings().data_dir)
        for key, value in state["env"].items():
            typer.echo(f"export {key}='{value}'")

    @services.command("down")
    def down_cmd() -> None:
        """Stop the services started by `up` (by PID) and delete their scratch data."""
        stopped = stack.down(get_settings().data_dir)
        typer.echo(f"stopped: {', '.join(stopped) or 'nothing was running'}")

    @services.command("status")
    def status_cmd() -> None:
        """Show PIDs, liveness and open ports of the local services."""
        typer.echo(json.dumps(stack.status(get_settings().data_dir), indent=2) or "{}")
