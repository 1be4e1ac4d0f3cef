"""The `vsx` command line.

Each module in `vsx/commands/` defines `register(app)` and adds its commands; this file only wires
them, configures logging, and turns every error into one line on stderr: exit 2 for an expected error
(bad input, bad config, a service down, the embedded store held by another process), exit 1 for a bug
(its traceback with `-v`).

A command's module is imported only when that command runs or shows its own help, and the list in `vsx --help`
comes from COMMANDS without importing any: importing every command pulls in torch, Faiss, pandas and matplotlib
(seconds), which listing commands, `vsx config` or `vsx experiments list` should not wait for. Command modules
import their heavy dependencies inside the command, so `vsx demo --help` stays light too
(tests/vsx/test_cli_speed.py checks both).
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
import sys
from typing import Any

import click
import typer
from typer.core import TyperCommand, TyperGroup

from vsx.errors import is_a, is_expected

# Command → the module of `vsx.commands` that registers it, and the line `vsx --help` shows for it
# (tests/vsx/test_cli_commands.py checks both against the modules).
COMMANDS: dict[str, tuple[str, str]] = {
    "analyze": (
        "analyze",
        "Compare variants with control: writes OUT/results.json and OUT/report.html, prints the decisions.",
    ),
    "export-pairs": ("analyze", "Clicked (query image, result image) pairs with weights, for contrastive retraining."),
    "artifacts": ("artifacts", "Encoder and index artifacts (name@version)."),
    "catalog": ("catalog", "Image catalogs: Fashion-MNIST or a folder of images."),
    "config": (
        "config",
        "Print the effective settings (environment over vsx.toml over defaults) as JSON, secrets masked.",
    ),
    "demo": ("demo", "Run the loop end to end on Fashion-MNIST; re-running reuses what is still valid."),
    "eval": ("eval", "Held-out queries, relevance = same class; metrics go into the index manifest and TREC files."),
    "eval-trec": (
        "eval",
        "Mean metrics as JSON with trec_eval -c conventions (every qrels query counts; missing ones score 0).",
    ),
    "experiments": ("experiments", "Validate experiment YAML, list and show experiments, assign a user."),
    "history": (
        "history",
        "Plot offline Δ against online lift across experiments, with Spearman and Kendall rank correlations.",
    ),
    "index": ("index", "Faiss index artifacts."),
    "ingest": (
        "ingest",
        "Kafka → ClickHouse: migrate, join the consumer group, insert in batches, commit after each insert.",
    ),
    "simulate": (
        "loop",
        "Simulated users search, click and dwell (position-biased click model) against the serving app.",
    ),
    "retrain": (
        "loop",
        "Fine-tune ENCODER@V on click groups into ENCODER@V+1, index it, evaluate it beside its parent.",
    ),
    "metrics": ("metrics", "Check metric definitions (YAML) and show the catalogue analyses read."),
    "power": (
        "power",
        "Users per arm and days needed to detect a relative CTR lift, or the MDE for a given number of users. "
        "Planned as the analysis tests the primary metric: Holm across the treatment arms (alpha / (arms - 1) each), "
        "and with CUPED's expected variance reduction (--cuped-reduction, e.g. a past experiment's "
        "variance_reduction).",
    ),
    "serve": ("serve", "Serve the search API, the web page at /, /metrics, /docs and the reports under /reports/."),
    "services": ("services", "Start, stop or inspect a local Kafka-protocol broker and ClickHouse."),
    "train": ("train", "Train the next version of an encoder artifact and print its ref and training summary."),
}

# Errors meaning "not in the folder a setting points at": their line also says which setting moves it.
FOLDER_ERRORS = {
    ("experiments.errors", "UnknownExperimentError"): "experiments_dir",
    ("experiments.errors", "MissingExperimentsFolderError"): "experiments_dir",
    ("search_core.artifacts", "UnknownArtifactError"): "artifacts_dir",
}

PROGRESS_LOGGER = "vsx.progress"
"""Step lines of long runs (the demo's "[3/10] …"): shown at INFO even when other logs are held to WARNING."""

_verbosity = 0


def _choices(param: click.Parameter) -> list[str] | None:
    described = getattr(param, "type_descriptor", None)  # typer's parameters describe their type here
    if described is not None:
        return [str(getattr(c, "value", c)) for c in described.choices or ()] if described.is_choice else None
    return [str(c) for c in getattr(getattr(param, "type", None), "choices", ())] or None


def with_placeholders(command: click.Command) -> click.Command:
    """Show every value in help as one kind of placeholder: capitals, the metavar a command gave (`NAME@V`) or
    else the parameter's name (`--out OUT`, `USER_ID`), choices as `holm|bh`; a flag shows none (typer's
    default mixes `<str>`, `<list[str]>`, `{user_id}` and `<bool>` on flags)."""
    command.rich_markup_mode = None  # click's plain layout: typer's panels add a `<type>` column beside these
    for param in command.params:
        if getattr(param, "is_flag", False) or getattr(param, "count", False):
            param.metavar = ""
        elif param.metavar is None:
            choices = _choices(param)
            name = "|".join(choices) if choices else (param.name or "value").upper()
            param.metavar = name + ("..." if param.nargs == -1 else "")
        if getattr(param, "param_type_name", "") == "argument":
            param.display_type_rich = lambda ctx: None  # typer adds `<str>` after an argument's placeholder
    for sub in getattr(command, "commands", {}).values():
        with_placeholders(sub)
    return command


@functools.cache
def commands_of(module: str) -> dict[str, TyperCommand | TyperGroup]:
    """The commands that `vsx.commands.<module>` registers, by name."""
    app = typer.Typer()
    app.callback()(lambda: None)  # a callback makes typer build a group even for a module with one command
    importlib.import_module(f"vsx.commands.{module}").register(app)
    return {name: with_placeholders(cmd) for name, cmd in typer.main.get_group(app).commands.items()}


class LazyCommands(TyperGroup):
    """The `vsx` group: lists COMMANDS and imports a command's module only when it is asked for."""

    _LISTING = "vsx.listing"

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, short_help = COMMANDS[cmd_name]
        if ctx.meta.get(self._LISTING):  # `vsx --help` only needs the name and the line
            return click.Command(cmd_name, help=short_help, short_help=short_help)
        return commands_of(module).get(cmd_name)

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        params = super().get_params(ctx)
        for param in params:  # the root's own options, completion's included
            with_placeholders(click.Command(None, params=[param]))
        return params

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        ctx.meta[self._LISTING] = True
        try:
            super().format_help(ctx, formatter)
        finally:
            ctx.meta[self._LISTING] = False


app = typer.Typer(
    name="vsx",
    cls=LazyCommands,
    help="Visual-search experimentation: train encoders, build indexes, run experiments, analyse them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"vsx {version('vsx')}")
        raise typer.Exit()


@app.callback()
def _root(
    verbose: int = typer.Option(
        0,
        "--verbose",
        "-v",
        count=True,
        show_default=False,
        help="Log more: -v shows INFO, -vv DEBUG (default: warnings only).",
    ),
    _version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    from rich.console import Console
    from rich.logging import RichHandler

    global _verbosity
    _verbosity = verbose
    logging.basicConfig(
        level=(logging.WARNING, logging.INFO)[verbose] if verbose < 2 else logging.DEBUG,
        format="%(message)s",
        handlers=[RichHandler(show_path=False, rich_tracebacks=False, console=Console(stderr=True))],
        force=True,
    )
    logging.getLogger(PROGRESS_LOGGER).setLevel(logging.DEBUG if verbose >= 2 else logging.INFO)
    # Third-party clients log their own retries, some with a traceback (clickhouse-driver's "Failed to connect");
    # our code turns those failures into one line, so theirs are shown only when asked for.
    for noisy in ("kafka", "clickhouse_driver", "urllib3", "httpx", "matplotlib", "PIL", "numba"):
        logging.getLogger(noisy).setLevel(logging.WARNING if verbose else logging.ERROR)


def hint(exc: BaseException, settings: Any) -> str:
    """What to do about an expected error, when the error itself cannot know (the settings behind a folder,
    the server that holds the embedded store): appended to its line, or ''."""
    if is_a(exc, "event_logging.errors", "EventStoreLockedError"):
        from vsx.store_owner import server_url

        url = server_url(settings, getattr(exc, "pid", None)) or "http://HOST:PORT"
        return f": stop it, or let it analyse: vsx analyze NAME --url {url}"
    for (module, name), field in FOLDER_ERRORS.items():
        if is_a(exc, module, name):
            folder = getattr(settings, field)
            where = "" if str(folder) in str(exc) else f" in {folder}"
            return f"{where}; {settings.moved_by(field)}"
    return ""


def error_line(exc: BaseException) -> str:
    """The one line an expected error prints: its message, then what to do about it."""
    from vsx.settings import get_settings

    try:
        settings = get_settings()
    except Exception:  # invalid settings are what the error may be about: no hint then
        settings = None
    return f"error: {exc}{hint(exc, settings) if settings is not None else ''}"


def main() -> None:
    """Entry point of the `vsx` script."""
    for argument in sys.argv[1:]:
        try:
            argument.encode("utf-8")
        except UnicodeEncodeError:  # bytes that were not UTF-8, kept by Python as lone surrogates
            typer.echo(f"error: arguments must be UTF-8 text; {os.fsencode(argument)!r} is not", err=True)
            sys.exit(2)
    try:
        app(standalone_mode=True)
    except Exception as exc:
        if is_expected(exc):
            typer.echo(error_line(exc), err=True)
            sys.exit(2)
        if _verbosity:
            raise
        where = exc.__traceback__
        while where is not None and where.tb_next is not None:
            where = where.tb_next
        at = f" at {where.tb_frame.f_code.co_filename}:{where.tb_lineno}" if where is not None else ""
        typer.echo(f"error: unexpected {type(exc).__name__}: {exc}{at} (a bug; -v shows the traceback)", err=True)
        sys.exit(1)
