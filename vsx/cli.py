"""The `vsx` command line.

Each module in `vsx/commands/` defines `register(app)` and adds its commands; this file only wires
them, configures logging, and turns expected errors into one line on stderr and exit code 2
(no traceback: a traceback means a bug, and then we do want it).

A command's module is imported only when that command runs (or when `--help` lists it): importing every
command pulls in torch, Faiss, pandas and matplotlib (~10 s), which `vsx serve --workers 2` refusing the
embedded store in one line, or `vsx config`, should not wait for.
"""

from __future__ import annotations

import functools
import importlib
import logging
import sys

import typer
from rich.console import Console
from rich.logging import RichHandler
from typer.core import TyperCommand, TyperGroup

# Command → the module of `vsx.commands` that registers it (tests/vsx/test_cli_commands.py checks the map).
COMMANDS = {
    "analyze": "analyze",
    "export-pairs": "analyze",
    "artifacts": "artifacts",
    "catalog": "catalog",
    "config": "config",
    "demo": "demo",
    "eval": "eval",
    "eval-trec": "eval",
    "experiments": "experiments",
    "history": "history",
    "index": "index",
    "ingest": "ingest",
    "metrics": "metrics",
    "simulate": "loop",
    "retrain": "loop",
    "power": "power",
    "serve": "serve",
    "services": "services",
    "train": "train",
}

# Module → base class of the expected errors it defines. An error of a package can only have been raised if
# that package was imported, so only loaded modules are looked at (importing them all costs seconds).
EXPECTED_ERRORS = {
    "search_core.errors": "SearchCoreError",
    "experiments.errors": "ExperimentsError",
    "event_logging.errors": "EventLoggingError",
    "analysis.errors": "AnalysisError",
    "dashboards.errors": "DashboardsError",
    "serving.errors": "ServingError",
    "vsx.errors": "VsxError",
}


@functools.cache
def commands_of(module: str) -> dict[str, TyperCommand | TyperGroup]:
    """The commands that `vsx.commands.<module>` registers, by name."""
    app = typer.Typer()
    app.callback()(lambda: None)  # a callback makes typer build a group even for a module with one command
    importlib.import_module(f"vsx.commands.{module}").register(app)
    return dict(typer.main.get_group(app).commands)


class LazyCommands(TyperGroup):
    """The `vsx` group: lists COMMANDS and imports a command's module only when it is asked for."""

    def list_commands(self, ctx: typer.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: typer.Context, cmd_name: str) -> TyperCommand | TyperGroup | None:
        module = COMMANDS.get(cmd_name)
        return None if module is None else commands_of(module).get(cmd_name)


app = typer.Typer(
    name="vsx",
    cls=LazyCommands,
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


def is_expected(exc: BaseException) -> bool:
    """True for an error the project raises on purpose (bad input, bad config, a service down): one line, exit 2."""
    return any(
        isinstance(exc, getattr(sys.modules[module], name))
        for module, name in EXPECTED_ERRORS.items()
        if module in sys.modules
    )


def main() -> None:
    """Entry point of the `vsx` script."""
    try:
        app(standalone_mode=True)
    except Exception as exc:
        if not is_expected(exc):
            raise
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
