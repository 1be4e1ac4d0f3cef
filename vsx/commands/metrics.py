"""`vsx metrics validate|list|show`: the metric catalogue, defined as YAML and reviewed in git."""

from __future__ import annotations

from pathlib import Path

import typer
import yaml
from rich.console import Console
from rich.table import Table

from analysis.errors import MetricDefinitionError
from analysis.metric_files import load_metric_files, metric_files
from vsx.pipelines.definitions import metric_catalog
from vsx.settings import get_settings


def register(app: typer.Typer) -> None:
    metrics = typer.Typer(help="Check metric definitions (YAML) and show the catalogue analyses read.")
    app.add_typer(metrics, name="metrics")

    @metrics.command("validate")
    def validate_cmd(
        files: list[Path] = typer.Argument(
            None, help="Metric files (or folders) checked together with the built-ins (default: settings.metrics_dir)."
        ),
    ) -> None:
        """Print every problem as `file:line field: message` and exit 2 if any; else how many metrics there are."""
        settings = get_settings()
        paths = [p for f in files or [settings.metrics_dir] for p in (metric_files(f) if f.is_dir() else [f])]
        try:
            catalog = load_metric_files(paths, settings.analysis.attributes)
        except MetricDefinitionError as exc:
            for issue in exc.issues:
                typer.echo(str(issue))
            typer.echo(f"{len(exc.issues)} error(s)", err=True)
            raise typer.Exit(2) from None
        typer.echo(f"ok: {len(catalog)} metric(s) ({len(catalog) - len(catalog.builtin)} from {len(paths)} file(s))")

    @metrics.command("list")
    def list_cmd() -> None:
        """One row per metric: type, direction, unit, capping, where it is defined."""
        catalog = metric_catalog(get_settings())
        table = Table("name", "type", "direction", "unit", "capping", "defined in")
        for name, metric in catalog.metrics.items():
            capping = metric.capping.describe() if metric.capping else ""
            table.add_row(name, metric.kind, metric.direction, metric.about.unit, capping, catalog.files[name])
        Console().print(table)

    @metrics.command("show")
    def show_cmd(name: str) -> None:
        """The metric's definition as YAML, with its defaults filled in."""
        catalog = metric_catalog(get_settings())
        catalog.get(name)
        typer.echo(f"# {catalog.files[name]}")
        spec = catalog.specs[name].model_dump(mode="json", exclude_none=True)
        typer.echo(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True).rstrip())
