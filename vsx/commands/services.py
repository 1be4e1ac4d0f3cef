"""`vsx services up|down|status`: a local Tansu broker + ClickHouse (one server, or a cluster) on loopback."""

from __future__ import annotations

import json

import typer

from vsx.services import stack
from vsx.settings import get_settings


def register(app: typer.Typer) -> None:
    services = typer.Typer(help="Start, stop or inspect a local Kafka-protocol broker and ClickHouse.")
    app.add_typer(services, name="services")

    @services.command("up")
    def up_cmd(
        cluster: bool = typer.Option(
            False,
            "--cluster",
            help="ZooKeeper and two ClickHouse shards as cluster 'vsx' (the production topology), not one server.",
        ),
    ) -> None:
        """Start Tansu and ClickHouse on free loopback ports; print the VSX_* variables to export."""
        state = stack.up(get_settings().data_dir, cluster=cluster)
        for key, value in state["env"].items():
            typer.echo(f"export {key}='{value}'")
        for url in state.get("nodes", [])[1:]:
            typer.echo(f"# another node: VSX_CLICKHOUSE__URL='{url}' (e.g. for a second `vsx ingest`)")

    @services.command("down")
    def down_cmd() -> None:
        """Stop the services started by `up` (by PID, if still the same process) and delete their scratch data."""
        outcome = stack.down(get_settings().data_dir)
        typer.echo(f"stopped: {', '.join(outcome['stopped']) or 'nothing was running'}")
        if outcome["gone"]:
            typer.echo(f"already exited: {', '.join(outcome['gone'])}")
        if outcome["reused"]:
            typer.echo(f"left alone (their PID now belongs to another process): {', '.join(outcome['reused'])}")

    @services.command("status")
    def status_cmd() -> None:
        """Show PIDs, state (running / gone / reused PID) and open ports of the local services."""
        typer.echo(json.dumps(stack.status(get_settings().data_dir), indent=2))
