"""`vsx analyze` (experiment → results.json + report.html + decisions) and `vsx export-pairs` (clicks → pairs).

The shell's part: read the experiment YAML (or flags, for a per-user file) into an `AnalysisPlan`, open the
right store, hand the results to `dashboards`, print the decisions. Everything statistical happens in
`analysis`; the steps shared with the demo and the server live in `vsx/pipelines/analysis.py`.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from vsx.commands.help_values import MIN_DWELL_MS, PROPENSITY_CLIP
from vsx.commands.output import SourceOption, console
from vsx.settings import get_settings
from vsx.store_owner import check_embedded_store

if TYPE_CHECKING:  # the stats stack (scipy, pandas, matplotlib): imported when a command runs, not for --help
    from analysis import AnalysisPlan, GuardrailSpec, MetricCatalog, PerUserFile, Results

logger = logging.getLogger(__name__)

RECOMMENDATIONS = ("ship", "no_ship", "inconclusive", "invalid")
DEFAULT_MIN_USERS_PER_ARM = 100
"""A per-user file's default minimum users per arm before a recommendation (the experiment YAML's default)."""


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


def parse_guardrail(text: str, default_margin: float) -> GuardrailSpec:
    """`error_rate` or `error_rate:0.05` → a guardrail with that relative margin (default from settings)."""
    from analysis import GuardrailSpec

    name, sep, margin = text.partition(":")
    if not sep:
        return GuardrailSpec(name.strip(), default_margin)
    try:
        value = float(margin)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise typer.BadParameter(f"{text!r}: margin must be > 0", param_hint="--guardrail")
    return GuardrailSpec(name.strip(), value)


def _parse_fail_on(text: str | None) -> frozenset[str]:
    """`no_ship,invalid` → those recommendations; an unknown word is a usage error."""
    if not text:
        return frozenset()
    words = {w.strip() for w in text.split(",") if w.strip()}
    unknown = sorted(words - set(RECOMMENDATIONS))
    if unknown:
        raise typer.BadParameter(f"not a recommendation: {', '.join(unknown)}", param_hint="--fail-on")
    return frozenset(words)


def _print_summary(results: Results) -> None:
    from rich.table import Table

    from dashboards.formatting import fixed

    err = console(stderr=True)
    for decision in results.decisions:
        err.print(f"[bold]{decision.variant}: {decision.recommendation}[/bold]")
        for reason in decision.reasons:
            err.print(f"  - {reason}", highlight=False)
    table = Table("metric", "variant", "method", "lift", "95% CI", "p adj", "sig")
    for r in results.results:
        low, high = r.ci_low_adjusted or r.ci_low, r.ci_high_adjusted or r.ci_high
        ci = f"[{fixed(low, '+.1%')}, {fixed(high, '+.1%')}]"
        sig = "yes" if r.significant else ""
        table.add_row(
            r.metric, r.variant, r.method, fixed(r.rel_lift, "+.2%"), ci, fixed(r.p_value_adjusted, ".3g"), sig
        )
    err.print(table)
    srm = results.srm
    if srm.checked:
        err.print(f"SRM {'ok' if srm.ok else 'FAILED'} (p = {fixed(srm.p_value, '.3g')}, users {srm.observed})")
    else:
        err.print(f"users {srm.observed} (no traffic split to check)")
    for note in results.notes:
        err.print(f"note: {note}", highlight=False)


def _check_embedded_store(source: str | None) -> None:
    """Refuse at once, before loading the stats stack, when another process holds the embedded store."""
    settings = get_settings()
    if (source or ("embedded" if settings.embedded else "clickhouse")) == "embedded":
        check_embedded_store(settings)


class CorrectionChoice(StrEnum):
    """Typer shows these as the allowed values of --correction."""

    holm = "holm"
    bh = "bh"


class EngineChoice(StrEnum):
    """Typer shows these as the allowed values of --engine."""

    frequentist = "frequentist"
    bayesian = "bayesian"


def per_user_metrics(columns: Sequence[str], catalog: MetricCatalog) -> list[str]:
    """The catalogue's metrics a per-user file can answer: means, proportions and ratios whose columns it has."""
    from analysis import QuantileMetric

    return [
        name
        for name, metric in catalog.metrics.items()
        if not isinstance(metric, QuantileMetric) and all(c in columns for c in metric.raw_columns)
    ]


def per_user_plan(
    name: str,
    source: PerUserFile,
    catalog: MetricCatalog,
    *,
    control: str,
    weights: str | None,
    primary: str,
    secondary: list[str],
    guardrails: list[str],
    correction: CorrectionChoice,
    alpha: float,
    sequential: bool,
    mde: float | None,
    min_users: int,
    default_margin: float,
    segments: Sequence[str] = (),
    engine: EngineChoice = EngineChoice.frequentist,
) -> AnalysisPlan:
    """A per-user file has no YAML: the plan comes from flags, over the metrics the file's columns support."""
    from analysis import AnalysisPlan
    from analysis.errors import PerUserFileError

    header = source.header()
    supported = per_user_metrics(header, catalog)
    if not supported:
        columns = sorted({c for m in catalog.metrics.values() for c in m.raw_columns})
        raise PerUserFileError(
            f"{source.label}: no metric columns in the header (has: {', '.join(header)}; "
            f"expected some of: {', '.join(columns)})"
        )
    if engine == EngineChoice.bayesian and sequential:
        raise typer.BadParameter("sequential testing is frequentist: drop --sequential", param_hint="--engine")
    specs = tuple(parse_guardrail(g, default_margin) for g in guardrails)
    for option, names in (
        ("--primary", [primary]),
        ("--secondary", secondary),
        ("--guardrail", [g.metric for g in specs]),
    ):
        for metric in names:
            if metric not in supported:
                raise typer.BadParameter(
                    f"{metric!r} is not computable from {source.label} (it supports: {', '.join(supported)})",
                    param_hint=option,
                )
    for segment in segments:
        if segment not in header:
            raise typer.BadParameter(f"no column {segment!r} in {source.label}", param_hint="--segment")
    return AnalysisPlan(
        experiment=name,
        control=control,
        primary_metric=primary,
        secondary_metrics=tuple(secondary) if secondary else tuple(m for m in supported if m != primary),
        guardrails=specs,
        weights=parse_weights(weights),
        alpha=alpha,
        correction=correction.value,
        sequential=sequential,
        mde=mde,
        min_users_per_arm=min_users,
        segments=tuple(segments),
        engine=engine.value,
        catalog=catalog,
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
        holdout: bool = typer.Option(
            False, "--holdout", help="Compare the global holdout with every exposed user (report: global-holdout)."
        ),
        since: datetime | None = typer.Option(
            None, "--since", help="With --holdout: start of the window (default: the earliest experiment start)."
        ),
        until: datetime | None = typer.Option(None, "--until", help="With --holdout: end of the window."),
        control: str = typer.Option("control", "--control", help="Control variant of a per-user file."),
        weights: str | None = typer.Option(
            None,
            "--weights",
            help="Designed shares of a per-user file, e.g. control=0.5,treatment=0.5 (default equal).",
        ),
        primary: str = typer.Option(
            "ctr", "--primary", help="Primary metric of a per-user file (its direction decides)."
        ),
        secondary: list[str] = typer.Option(
            [], "--secondary", help="Secondary metric of a per-user file (repeatable; default: all the file supports)."
        ),
        guardrail: list[str] = typer.Option(
            [],
            "--guardrail",
            help="Guardrail of a per-user file: METRIC or METRIC:MARGIN (relative, e.g. error_rate:0.1); repeatable.",
        ),
        correction: CorrectionChoice = typer.Option(
            CorrectionChoice.holm, "--correction", help="Correction among secondary metrics, for a per-user file."
        ),
        alpha: float = typer.Option(0.05, "--alpha", help="Significance level, for a per-user file."),
        segment: list[str] = typer.Option(
            [],
            "--segment",
            help="Results per value of this user attribute (repeatable): added to the YAML's segments; for a "
            "per-user file, a text column.",
        ),
        engine: EngineChoice = typer.Option(
            EngineChoice.frequentist, "--engine", help="frequentist or bayesian (chance to win, risk), per-user file."
        ),
        sequential: bool = typer.Option(False, "--sequential", help="Add always-valid rows, for a per-user file."),
        mde: float | None = typer.Option(
            None, "--mde", help="Planned relative MDE of the primary, for a per-user file (how many more users)."
        ),
        min_users: int = typer.Option(
            DEFAULT_MIN_USERS_PER_ARM, "--min-users", min=0, help="Users per arm below which no recommendation is made."
        ),
        fail_on: str | None = typer.Option(
            None,
            "--fail-on",
            help="Exit 1 when a variant's recommendation is among these (ship, no_ship, inconclusive, invalid), "
            "e.g. no_ship,invalid: for CI pipelines.",
        ),
        as_json: bool = typer.Option(False, "--json", help="Print the decisions and output paths as JSON on stdout."),
        out: Path | None = typer.Option(None, "--out", help="Output folder (default: settings.reports_dir/NAME)."),
        url: str | None = typer.Option(
            None,
            "--url",
            help="Ask the `vsx serve` at this URL to analyse (it owns the embedded store while it runs); "
            "needs its VSX_ADMIN_TOKEN. Prints the report's URL.",
        ),
    ) -> None:
        """Compare variants with control: writes OUT/results.json and OUT/report.html, prints the decisions."""
        settings = get_settings()
        failing = _parse_fail_on(fail_on)
        if url is not None:
            if experiment is None or per_user is not None or out is not None or source is not None or holdout:
                raise typer.BadParameter(
                    "takes an EXPERIMENT only: the server writes its own report", param_hint="--url"
                )
            from vsx.pipelines.remote import analyze_on_server

            typer.echo(analyze_on_server(url, experiment, settings.admin_token.get_secret_value())["report"])
            return
        if per_user is None:
            _check_embedded_store(source)
        from analysis import PerUserFile, analyze
        from vsx.pipelines.analysis import analyze_experiment, analyze_holdout, write_outputs

        if holdout:
            if per_user is not None or experiment is not None:
                raise typer.BadParameter(
                    "analyses the holdout alone: drop EXPERIMENT / --per-user", param_hint="--holdout"
                )
            results = analyze_holdout(settings, source, since, until)
        elif per_user is not None:
            if source is not None:
                raise typer.BadParameter("reads an event store: drop it with --per-user", param_hint="--source")
            from search_core.artifacts import path_safe_name

            name = path_safe_name(experiment or per_user.name.removesuffix(".gz").removesuffix(".csv"), "name")
            from vsx.pipelines.definitions import metric_catalog

            source_file = PerUserFile(per_user)
            plan = per_user_plan(
                name, source_file, metric_catalog(settings), control=control, weights=weights, primary=primary,
                secondary=secondary, guardrails=guardrail, correction=correction, alpha=alpha, sequential=sequential,
                mde=mde, min_users=min_users, default_margin=settings.analysis.guardrail_margin, segments=segment,
                engine=engine,
            )  # fmt: skip
            results = analyze(source_file.load(plan), plan)
        elif experiment is None:
            raise typer.BadParameter("name an EXPERIMENT or give --per-user FILE", param_hint="EXPERIMENT")
        else:
            results = analyze_experiment(settings, experiment, source, segment)
        folder = out or settings.reports_dir / results.experiment
        write_outputs(results, folder, settings.reports_dir)
        _print_summary(results)
        if as_json:
            shown = {
                "experiment": results.experiment,
                "results": str(folder / "results.json"),
                "report": str(folder / "report.html"),
                "decisions": [d.model_dump() for d in results.decisions],
            }
            typer.echo(json.dumps(shown, indent=2))
        else:
            typer.echo(folder / "report.html")
        hits = [d for d in results.decisions if d.recommendation in failing]
        if hits:
            names = ", ".join(f"{d.variant} {d.recommendation}" for d in hits)
            typer.echo(f"decision: {names} (--fail-on {','.join(sorted(failing))})", err=True)
            raise typer.Exit(1)

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
