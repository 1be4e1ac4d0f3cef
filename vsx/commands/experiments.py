"""`vsx experiments validate|list|show|assign`: check experiment YAML and see who gets what."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from pathlib import Path

import typer
import yaml
from rich.table import Table

from experiments.assign import assign, in_holdout, resolve
from experiments.errors import ExperimentConfigError
from experiments.experiment_set import ExperimentSet
from experiments.loader import load_experiments, load_files
from experiments.schema import Experiment
from experiments.slices import slice_range
from search_core.artifacts import KINDS, ArtifactRef, ArtifactStore
from vsx.commands.output import JsonOption, console, print_json
from vsx.settings import get_settings

DirOption = typer.Option(None, "--dir", metavar="DIR", help="Experiments folder (default: settings.experiments_dir).")


def _load(folder: Path | None) -> ExperimentSet:
    """The folder for listing, showing and assigning: metric names are checked for shape only, since the metric
    catalogue needs the stats stack (seconds to import); `validate` checks them against it."""
    return load_experiments(folder or get_settings().experiments_dir)


def _summary(e: Experiment, file: str) -> dict[str, object]:
    """One experiment as `experiments list --json` shows it."""
    lo, hi = slice_range(e.traffic, e.offset)
    return {
        "name": e.name,
        "status": e.status,
        "type": e.type,
        "layer": e.layer,
        "buckets": [lo, hi],
        "control": e.control,
        "variants": [{"name": v.name, "weight": v.weight} for v in e.variants],
        "start": e.start.isoformat(),
        "end": e.end.isoformat() if e.end else None,
        "file": file,
    }


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
        from vsx.pipelines.definitions import known_names

        settings = get_settings()
        store = ArtifactStore(settings.artifacts_dir)

        def artifact_exists(kind: str, ref: str) -> bool:
            return kind in KINDS and store.exists(kind, ArtifactRef.parse(ref))

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
    def list_cmd(folder: Path | None = DirOption, as_json: bool = JsonOption) -> None:
        """One row per experiment: status, layer, slice of the layer, variants and dates."""
        exp_set = _load(folder)
        rows = sorted(exp_set.experiments, key=lambda e: (e.layer, e.offset, e.name))
        holdout = exp_set.platform.holdout
        if as_json:
            print_json(
                {
                    "experiments": [_summary(e, exp_set.files[e.name]) for e in rows],
                    "holdout": {"share": holdout.share, "salt": holdout.salt},
                }
            )
            return
        table = Table("name", "status", "type", "layer", "buckets", "variants (* control)", "window (UTC)")
        for e in rows:
            lo, hi = slice_range(e.traffic, e.offset)
            variants = ", ".join(f"{v.name}{'*' if v.name == e.control else ''} {v.weight:g}" for v in e.variants)
            window = f"{e.start:%Y-%m-%d %H:%M} → {f'{e.end:%Y-%m-%d %H:%M}' if e.end else 'open'}"
            table.add_row(e.name, e.status, e.type, e.layer, f"[{lo}, {hi})", variants, window)
        console().print(table)
        typer.echo(f"global holdout: {holdout.share:g} of users (salt {holdout.salt!r})")

    @experiments.command("show")
    def show_cmd(name: str, folder: Path | None = DirOption, as_json: bool = JsonOption) -> None:
        """The experiment as validated, as YAML: defaults filled in, unset optional fields left out."""
        exp_set = _load(folder)
        experiment = exp_set.get(name)
        fields = experiment.model_dump(mode="json", exclude_none=True)
        if as_json:
            print_json({"file": exp_set.files[name], "experiment": fields})
            return
        typer.echo(f"# {exp_set.files[name]}")
        typer.echo(yaml.safe_dump(fields, sort_keys=False).rstrip())

    @experiments.command("assign")
    def assign_cmd(
        user_id: str,
        attr: list[str] = typer.Option([], "--attr", help="Request attribute key=value (repeatable), for targeting."),
        now: datetime | None = typer.Option(
            None, "--now", help="Assign as of this UTC time, e.g. 2026-12-01T00:00:00 (default: now)."
        ),
        folder: Path | None = DirOption,
        as_json: bool = JsonOption,
    ) -> None:
        """Which experiments and variants USER_ID gets, and the resulting served configuration."""
        exp_set = _load(folder)
        assignments = assign(exp_set, user_id, _parse_attrs(attr), now)
        holdout = in_holdout(exp_set, user_id)
        served = resolve(exp_set, assignments)
        if as_json:
            print_json(
                {
                    "user_id": user_id,
                    "holdout": holdout,
                    "assignments": [asdict(a) for a in assignments],
                    "served": asdict(served),
                }
            )
            return
        if holdout:
            typer.echo(f"{user_id}: in the global holdout (no experiment)")
        elif not assignments:
            typer.echo(f"{user_id}: in no running experiment")
        for a in assignments:
            typer.echo(f"{user_id}: {a.experiment} → {a.variant} (layer {a.layer})")
        steps = ", ".join(str(step.get("name", step)) for step in served.rerank) or "none"
        typer.echo(f"served: encoder {served.encoder}, index {served.index}, k {served.k}, re-ranking {steps}")
