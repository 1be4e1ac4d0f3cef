"""`vsx history`: offline Δ against online lift across every analysed experiment, with rank correlations."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from dashboards import render_history, scan_history
from dashboards.formatting import coefficient, metric_label, pval
from dashboards.history import SERIES_METHODS, agreement_for, offline_metric_names
from vsx.settings import get_settings


def _print_agreements(reports_dir: Path, metric: str | None, include_unfinished: bool) -> None:
    """The page's ranking tables on stderr, so a terminal user gets the answer without opening a browser."""
    scan = scan_history(reports_dir, metric=metric, include_unfinished=include_unfinished)
    console = Console(stderr=True)
    names = offline_metric_names(scan.points)
    for series in SERIES_METHODS:
        n = sum(p.series == series for p in scan.points)
        if not n:
            continue
        table = Table("offline metric", "n", "Spearman ρ", "p", "Kendall τ", "p", title=f"{series}: {n} points")
        for name in names:
            a = agreement_for(scan.points, name, series)
            if a.available:
                row = [coefficient(a.spearman), pval(a.spearman_p), coefficient(a.kendall), pval(a.kendall_p)]
            else:
                row = [a.note or "", "", "", ""]
            table.add_row(metric_label(name), str(a.n), *row)
        console.print(table)
    console.print(f"{len(scan.points)} points, {len(scan.left_out)} left out")


def register(app: typer.Typer) -> None:
    @app.command("history")
    def history_cmd(
        reports_dir: Path | None = typer.Option(
            None, "--reports-dir", help="Folder of <experiment>/results.json (default: settings.reports_dir)."
        ),
        metric: str | None = typer.Option(
            None, "--metric", help="Online metric for every experiment, e.g. ctr (default: each one's primary metric)."
        ),
        include_all: bool = typer.Option(
            False, "--all", help="Include running and draft experiments too (faded), not only finished ones."
        ),
        out: Path | None = typer.Option(None, "--out", help="Page to write (default: REPORTS_DIR/history.html)."),
    ) -> None:
        """Plot offline Δ against online lift across experiments, with Spearman and Kendall rank correlations."""
        reports_dir = reports_dir or get_settings().reports_dir
        if not reports_dir.is_dir():
            raise typer.BadParameter(f"{reports_dir} is not a folder", param_hint="--reports-dir")
        path = render_history(reports_dir, out, metric=metric, include_unfinished=include_all)
        _print_agreements(reports_dir, metric, include_all)
        typer.echo(path)
