"""How commands print: tables that never cut a cell when piped, and `--json` in one stable shape; the options
several commands share.

A pipe or a file gets tables at their natural width (rich would otherwise fold every cell to 80
columns); a terminal keeps its own width. JSON goes to stdout, indented, keys in a fixed order, so
scripts can read it (`vsx experiments list --json | jq ...`); every other line goes to stderr or is
part of the human table.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import typer

from search_core.catalog import FASHION_MNIST

if TYPE_CHECKING:
    from rich.console import Console

PIPE_WIDTH = 100_000
"""Wide enough for any table we print; rich renders a table at its natural width up to this."""

JsonOption = typer.Option(False, "--json", help="Print JSON (a stable shape, for scripts) instead of a table.")
CatalogOption = typer.Option(
    FASHION_MNIST, "--catalog", metavar="SPEC", help="'fashion-mnist' or a folder of images (root/<class>/<file>)."
)
SourceOption = typer.Option(
    None, "--source", help="clickhouse | embedded (chdb under data_dir). Default: embedded when settings.embedded."
)


def console(*, stderr: bool = False) -> Console:
    """A rich console for tables: the terminal's width, or no folding at all when piped."""
    from rich.console import Console

    out = Console(stderr=stderr)
    if not out.is_terminal:
        out.width = PIPE_WIDTH
    return out


def print_json(data: Any) -> None:
    """`data` as indented JSON on stdout (dates and paths as strings)."""
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
