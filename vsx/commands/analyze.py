"""`vsx analyze` (experiment → results.json + report.html) and `vsx export-pairs` (clicks → training pairs).

The shell's part: read the experiment YAML into an `AnalysisPlan`, open the right store, look up the
offline metrics of each variant's artifacts, and hand the results to `dashboards`. Everything
statistical happens in `analysis`.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from vsx.commands.help_values import MIN_DWELL_MS, PROPENSITY_CLIP
from vsx.commands.output import console
from vsx.settings import get_settings
from vsx.store_owner import check_embedded_store

if TYPE_CHECKING:  # the stats stack (scipy, pandas, matplotlib): imported when a command runs, not for --help
    from analysis import AnalysisPlan, Results

logger = logging.getLogger(__name__)


def per_user_metrics() -> tuple[str, ...]:
    """What a per-user file can answer: every mean and ratio metric (quantiles need events)."""
    from analysis import QuantileMetric, get_metric
    from experiments import METRICS

    return tuple(m for m in METRICS if not isinstance(get_metric(m), QuantileMetric))


SourceOption = typer.Option(
    None, "--source", help="clickhouse | embedded (chdb under data_dir). Default: embedded when settings.embedded."
)


def parse_weights(text: str | None) -> dict[str, float] | None:
    """`control=0.5,treatment=0.5` → {"control": 0.5, "treatment": 0.5}; shares need not sum to 1."""
    if not text:
        return None
    weights = {}
    for item in text.split(","):
        name, sep, value = item.strip().partition("=")
        try:
            share = float(value)
        except ValueError:
            share = -1.0
        if not sep or not name or not share > 0:
            raise typer.BadParameter(f"{item!r} is not variant=share with a share > 0", param_hint="--weights")
        weights[name] = share
    return weights


def _fmt(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def _print_summary(results: Results, out: Path) -> None:
    from rich.table import Table

    err = console(stderr=True)
    table = Table("metric", "variant", "method", "lift", "95% CI", "p adj", "sig")
    for r in results.results:
        ci = f"[{_fmt(r.ci_low, '+.1%')}, {_fmt(r.ci_high, '+.1%')}]"
        sig = "yes" if r.significant else ""
        table.add_row(r.metric, r.variant, r.method, _fmt(r.rel_lift, "+.2%"), ci, _fmt(r.p_value_adjusted, ".3g"), sig)
    err.print(table)
    srm = results.srm
    err.print(f"SRM {'ok' if srm.ok else 'FAILED'} (p = {_fmt(srm.p_value, '.3g')}, users {srm.observed})")
    for note in results.notes:
        err.print(f"note: {note}")
    typer.echo(out / "report.html")


def _check_embedded_store(source: str | None) -> None:
    """Refuse at once, before loading the stats stack, when another process holds the embedded store."""
    settings = get_settings()
    if (source or ("embedded" if settings.embedded else "clickhouse")) == "embedded":
        check_embedded_store(settings)


class CorrectionChoice(StrEnum):
    """Typer shows these as the allowed values of --correction."""

    holm = "holm"
    bh = "bh"


def per_user_plan(
    name: str,
    *,
    control: str,
    weights: str | None,
    primary: str,
    correction: CorrectionChoice,
    alpha: float,
    sequential: bool,
) -> AnalysisPlan:
    """A per-user file has no YAML: the plan comes from flags, over every mean and ratio metric."""
    from analysis import AnalysisPlan

    metrics = per_user_metrics()
    if primary not in metrics:
        raise typer.BadParameter(f"must be one of {', '.join(metrics)}", param_hint="--primary")
    return AnalysisPlan(
        experiment=name,
        control=control,
        primary_metric=primary,
        secondary_metrics=tuple(m for m in metrics if m != primary),
        weights=parse_weights(weights),
        alpha=alpha,
        correction=correction.value,
        sequential=sequential,
    )


def register(app: typer.Typer) -> None:
    @app.command("analyze")
    def analyze_cmd(
        experiment: str | None = typer.Argument(
            None, help="Experiment whose YAML (settings.experiments_dir) defines the analysis; with --per-user, a name."
        ),
        source: str | None = SourceOption,
        per_user: Path | None = typer.Option(
            None, "--per-user", help="Analyse a per-user CSV (optionally .gz) instead of the event store."
        ),
        control: str = typer.Option("control", "--control", help="Control variant of a per-user file."),
        weights: str | None = typer.Option(
            None,
            "--weights",
            help="Designed shares of a per-user file, e.g. control=0.5,treatment=0.5 (default equal).",
        ),
        primary: str = typer.Option("ctr", "--primary", help="Primary metric of a per-user file."),
        correction: CorrectionChoice = typer.Option(
            CorrectionChoice.holm, "--correction", help="Multiple-comparison correction, for a per-user file."
        ),
        alpha: float = typer.Option(0.05, "--alpha", help="Significance level, for a per-user file."),
        sequential: bool = typer.Option(False, "--sequential", help="Add always-valid rows, for a per-user file."),
        out: Path | None = typer.Option(None, "--out", help="Output folder (default: settings.reports_dir/NAME)."),
        url: str | None = typer.Option(
            None,
            "--url",
            help="Ask the `vsx serve` at this URL to analyse (it owns the embedded store while it runs); "
            "needs its VSX_ADMIN_TOKEN. Prints the report's URL.",
        ),
    ) -> None:
        """Compare variants with control: writes OUT/results.json and OUT/report.html."""
        settings = get_settings()
        if url is not None:
            if experiment is None or per_user is not None or out is not None or source is not None:
                raise typer.BadParameter(
                    "takes an EXPERIMENT only: the server writes its own report", param_hint="--url"
                )
            from vsx.pipelines.remote import analyze_on_server

            typer.echo(analyze_on_server(url, experiment, settings.admin_token.get_secret_value())["report"])
            return
        if per_user is None:
            _check_embedded_store(source)
        from analysis import PerUserFile, analyze
        from vsx.pipelines.analysis import analyze_experiment, write_outputs

        if per_user is not None:
            if source is not None:
                raise typer.BadParameter("reads an event store: drop it with --per-user", param_hint="--source")
            name = experiment or per_user.name.removesuffix(".gz").removesuffix(".csv")
            plan = per_user_plan(
                name, control=control, weights=weights, primary=primary, correction=correction, alpha=alpha,
                sequential=sequential,
            )  # fmt: skip
            results = analyze(PerUserFile(per_user).load(plan), plan)
        elif experiment is None:
            raise typer.BadParameter("name an EXPERIMENT or give --per-user FILE", param_hint="EXPERIMENT")
        else:
            results = analyze_experiment(settings, experiment, source)
        folder = out or settings.reports_dir / results.experiment
        write_outputs(results, folder, settings.reports_dir)
        _print_summary(results, folder)

    @app.command("export-pairs")
    def export_pairs_cmd(
        experiment: str = typer.Argument(..., help="Experiment whose clicks to export."),
        out: Path = typer.Option(..., "--out", help="pairs.jsonl or pairs.parquet"),
        min_dwell_ms: float = typer.Option(MIN_DWELL_MS, "--min-dwell-ms", help="Satisfied-click threshold."),
        ipw: bool = typer.Option(False, "--ipw", help="Weight clicks by inverse position propensity."),
        clip: float = typer.Option(PROPENSITY_CLIP, "--clip", help="Lowest propensity (highest weight 1/clip)."),
        source: str | None = SourceOption,
    ) -> None:
        """Clicked (query image, result image) pairs with weights, for contrastive retraining."""
        _check_embedded_store(source)
        from analysis import click_pairs, write_pairs
        from analysis.pairs import check_pairs_path
        from vsx.pipelines.analysis import open_event_store

        check_pairs_path(out)
        store, _ = open_event_store(get_settings(), source)
        with store:
            pairs = click_pairs(store, experiment, min_dwell_ms=min_dwell_ms, ipw=ipw, clip=clip)
        write_pairs(pairs, out)
        typer.echo(f"{len(pairs)} pairs ({sum(p.clicks for p in pairs)} clicks) → {out}")
