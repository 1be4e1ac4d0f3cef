"""`vsx services up|down|status`: a local Tansu broker + ClickHouse (one server, or a cluster) on loopback."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from vsx.commands.output import JsonOption, console, print_json
from vsx.services import stack
from vsx.settings import get_settings


def _print_status(status: dict[str, dict[str, Any]]) -> None:
    """One row per service: PID, its state (running, gone, or reused by another process), each port and whether it
    answers, the log file."""
    table = Table("service", "pid", "process", "ports", "log")
    for name, svc in status.items():
        ports = ", ".join(f"{kind} {p['port']} {'open' if p['open'] else 'closed'}" for kind, p in svc["ports"].items())
        table.add_row(name, str(svc["pid"]), svc["state"], ports, svc["log"])
    console().print(table)


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
    def status_cmd(as_json: bool = JsonOption) -> None:
        """Show PIDs, state (running / gone / reused PID) and open ports of the local services started by `up`."""
        data_dir = get_settings().data_dir
        status = stack.status(data_dir)
        if as_json:
            print_json(status)
        elif not status:
            state = stack.state_file(data_dir)
            typer.echo(f"no local services started (`vsx services up` starts them; state in {state})")
        else:
            _print_status(status)
