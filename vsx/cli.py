"""The `vsx` command line.

Each module in `vsx/commands/` defines `register(app)` and adds its commands; this file only wires
them, configures logging, and turns expected errors into one line on stderr and exit code 2
(no traceback: a traceback means a bug, and then we do want it).
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import sys

import typer
from rich.console import Console
from rich.logging import RichHandler

import vsx.commands
from analysis.errors import AnalysisError
from dashboards.errors import DashboardsError
from event_logging.errors import EventLoggingError
from experiments.errors import ExperimentsError
from search_core.errors import SearchCoreError
from serving.errors import ServingError
from vsx.errors import VsxError

EXPECTED_ERRORS = (
    SearchCoreError,
    ExperimentsError,
    EventLoggingError,
    AnalysisError,
    DashboardsError,
    ServingError,
    VsxError,
)

app = typer.Typer(
    name="vsx",
    help="Visual-search experimentation: train encoders, build indexes, run experiments, analyse them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root(verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging.")) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(show_path=False, rich_tracebacks=False, console=Console(stderr=True))],
        force=True,
    )
    for noisy in ("kafka", "urllib3", "httpx", "matplotlib", "PIL", "numba"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _register_commands() -> None:
    for info in sorted(pkgutil.iter_modules(vsx.commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"vsx.commands.{info.name}")
        module.register(app)


_register_commands()


def main() -> None:
    """Entry point of the `vsx` script."""
    try:
        app(standalone_mode=True)
    except EXPECTED_ERRORS as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
