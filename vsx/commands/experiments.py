"""`vsx experiments validate|list|show|assign`: check experiment YAML and see who gets what."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

import typer
import yaml
from rich.console import Console
from rich.table import Table

from experiments.assign import assign, in_holdout, resolve
from experiments.errors import ExperimentConfigError
from experiments.experiment_set import ExperimentSet
from experiments.loader import load_experiments, load_files
from experiments.plan import slice_range
from search_core.artifacts import ArtifactRef, ArtifactStore
from vsx.pipelines.definitions import known_names
from vsx.settings import get_settings

DirOption = typer.Option(None, "--dir", help="Experiments folder (default: settings.experiments_dir).")


def _load(folder: Path | None) -> ExperimentSet:
    settings = get_settings()
    return load_experiments(folder or settings.experiments_dir, known=known_names(settings))


def _expand(paths: list[Path]) -> list[Path]:
    """Files as given; a folder stands for its `*.yaml` files."""
    return [p for path in paths for p in (sorted(path.glob("*.yaml")) if path.is_dir() else [path])]


def _parse_attrs(attrs: list[str]) -> dict[str, str]:
    parsed = {}
    for item in attrs:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"{item!r} is not key=value", param_hint="--attr")
        parsed[key] = value
    return parsed


def register(app: typer.Typer) -> None:
    experiments = typer.Typer(help="Validate experiment YAML, list and show experiments, assign a user.")
    app.add_typer(experiments, name="experiments")

    @experiments.command("validate")
    def validate_cmd(
        files: list[Path] = typer.Argument(..., exists=True, help="Experiment files (or folders) checked together."),
        skip_artifacts: bool = typer.Option(False, "--skip-artifacts", help="Do not check that artifacts exist."),
    ) -> None:
        """Check files as one configuration; print every error as `file:line field: message`, exit 2 if any.

        Metric names are checked against the built-in metrics and settings.metrics_dir, segments against the
        declared user attributes (setting analysis.attributes)."""
        settings = get_settings()
        store = ArtifactStore(settings.artifacts_dir)

        def artifact_exists(kind: str, ref: str) -> bool:
            return store.exists(kind, ArtifactRef.parse(ref))

        try:
            exp_set = load_files(_expand(files), None if skip_artifacts else artifact_exists, known_names(settings))
        except ExperimentConfigError as exc:
            for issue in exc.issues:
                typer.echo(str(issue))
            typer.echo(f"{len(exc.issues)} error(s)", err=True)
            raise typer.Exit(2) from None
        running = sum(e.status == "running" for e in exp_set.experiments)
        typer.echo(f"ok: {len(exp_set.experiments)} experiment(s), {running} running")

    @experiments.command("list")
    def list_cmd(folder: Path | None = DirOption) -> None:
        """One row per experiment: status, layer, slice of the layer, variants and dates."""
        exp_set = _load(folder)
        table = Table("name", "status", "type", "layer", "buckets", "variants (* control)", "window (UTC)")
        for e in sorted(exp_set.experiments, key=lambda e: (e.layer, e.offset, e.name)):
            lo, hi = slice_range(e.traffic, e.offset)
            variants = ", ".join(f"{v.name}{'*' if v.name == e.control else ''} {v.weight:g}" for v in e.variants)
            window = f"{e.start:%Y-%m-%d %H:%M} → {f'{e.end:%Y-%m-%d %H:%M}' if e.end else 'open'}"
            table.add_row(e.name, e.status, e.type, e.layer, f"[{lo}, {hi})", variants, window)
        holdout = exp_set.platform.holdout
        Console().print(table)
        typer.echo(f"global holdout: {holdout.share:g} of users (salt {holdout.salt!r})")

    @experiments.command("show")
    def show_cmd(name: str, folder: Path | None = DirOption) -> None:
        """The experiment as validated, as YAML: defaults filled in, unset optional fields left out."""
        exp_set = _load(folder)
        experiment = exp_set.get(name)
        typer.echo(f"# {exp_set.files[name]}")
        typer.echo(yaml.safe_dump(experiment.model_dump(mode="json", exclude_none=True), sort_keys=False).rstrip())

    @experiments.command("assign")
    def assign_cmd(
        user_id: str,
        attr: list[str] = typer.Option([], "--attr", help="Request attribute key=value (repeatable), for targeting."),
        now: datetime | None = typer.Option(
            None, "--now", help="Assign as of this UTC time, e.g. 2026-12-01T00:00:00 (default: now)."
        ),
        folder: Path | None = DirOption,
    ) -> None:
        """Which experiments and variants USER_ID gets, and the resulting served configuration, as JSON."""
        exp_set = _load(folder)
        assignments = assign(exp_set, user_id, _parse_attrs(attr), now)
        result = {
            "user_id": user_id,
            "holdout": in_holdout(exp_set, user_id),
            "assignments": [asdict(a) for a in assignments],
            "served": asdict(resolve(exp_set, assignments)),
        }
        typer.echo(json.dumps(result, indent=2))
