"""`vsx history`: offline Δ against online lift across every analysed experiment, with rank correlations."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from vsx.commands.output import JsonOption, console, print_json
from vsx.errors import VsxError
from vsx.settings import get_settings

if TYPE_CHECKING:  # dashboards pulls in matplotlib and scipy: imported when the command runs, not for --help
    from dashboards.history import HistoryScan


def _agreements(scan: HistoryScan) -> list[dict[str, Any]]:
    """Per series with points and per offline metric: n, Spearman and Kendall with their p (or why not)."""
    from dashboards.history import SERIES_METHODS, agreement_for, offline_metric_names

    rows = []
    for series in SERIES_METHODS:
        if any(p.series == series for p in scan.points):
            for name in offline_metric_names(scan.points):
                a = agreement_for(scan.points, name, series)
                rows.append({"series": series, "offline_metric": name, **asdict(a)})
    return rows


def _print_agreements(scan: HistoryScan, agreements: list[dict[str, Any]]) -> None:
    """The page's ranking tables on stderr, so a terminal user gets the answer without opening a browser."""
    from rich.table import Table

    from dashboards.formatting import coefficient, metric_label, pval

    out = console(stderr=True)
    for series in dict.fromkeys(a["series"] for a in agreements):
        n = sum(p.series == series for p in scan.points)
        table = Table("offline metric", "n", "Spearman ρ", "p", "Kendall τ", "p", title=f"{series}: {n} points")
        for a in (a for a in agreements if a["series"] == series):
            if a["spearman"] is not None:
                row = [
                    coefficient(a["spearman"]),
                    pval(a["spearman_p"]),
                    coefficient(a["kendall"]),
                    pval(a["kendall_p"]),
                ]
            else:
                row = [a["note"] or "", "", "", ""]
            table.add_row(metric_label(a["offline_metric"]), str(a["n"]), *row)
        out.print(table)
    out.print(f"{len(scan.points)} points, {len(scan.left_out)} left out")


def register(app: typer.Typer) -> None:
    @app.command("history")
    def history_cmd(
        reports_dir: Path | None = typer.Option(
            None,
            "--reports-dir",
            metavar="DIR",
            help="Folder of <experiment>/results.json (default: settings.reports_dir).",
        ),
        metric: str | None = typer.Option(
            None, "--metric", help="Online metric for every experiment, e.g. ctr (default: each one's primary metric)."
        ),
        include_all: bool = typer.Option(
            False, "--all", help="Include running and draft experiments too (faded), not only finished ones."
        ),
        out: Path | None = typer.Option(None, "--out", help="Page to write (default: REPORTS_DIR/history.html)."),
        as_json: bool = JsonOption,
    ) -> None:
        """Plot offline Δ against online lift across experiments, with Spearman and Kendall rank correlations."""
        from dashboards import render_history, scan_history

        settings = get_settings()
        folder = reports_dir or settings.reports_dir
        if not folder.is_dir():
            moved = "" if reports_dir else f"; {settings.moved_by('reports_dir')}"
            raise VsxError(f"no reports folder {folder} (`vsx analyze NAME` writes one){moved}")
        path = render_history(folder, out, metric=metric, include_unfinished=include_all)
        scan = scan_history(folder, metric=metric, include_unfinished=include_all)
        agreements = _agreements(scan)
        if as_json:
            print_json(
                {
                    "page": str(path),
                    "points": [asdict(p) for p in scan.points],
                    "left_out": [asdict(x) for x in scan.left_out],
                    "agreements": agreements,
                }
            )
            return
        _print_agreements(scan, agreements)
        typer.echo(path)
