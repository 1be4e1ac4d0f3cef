"""`vsx config`: print the effective settings."""

from __future__ import annotations

import json

import typer

from vsx.settings import get_settings


def register(app: typer.Typer) -> None:
    @app.command("config")
    def config_cmd() -> None:
        """Print the effective settings (environment over vsx.toml over defaults) as JSON, secrets masked."""
        typer.echo(json.dumps(get_settings().public_dict(), indent=2))
