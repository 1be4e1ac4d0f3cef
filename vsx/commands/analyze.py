"""`vsx analyze` (experiment → results.json + report.html) and `vsx export-pairs` (clicks → training pairs).

The shell's part: read the experiment YAML into an `AnalysisPlan`, open the right store, look up the
offline metrics of each variant's artifacts, and hand the results to `dashboards`. Everything
statistical happens in `analysis`.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from analysis import (
    AnalysisPlan,
    BayesianOptions,
    EventStoreSource,
    GuardrailSpec,
    MetricCatalog,
    PerUserFile,
    QuantileMetric,
    Results,
    analyze,
    click_pairs,
    write_pairs,
)
from analysis.errors import AnalysisPlanError, PerUserFileError
from analysis.holdout import HoldoutSource, holdout_plan
from analysis.interleaving import interleaving_stats
from analysis.pairs import DEFAULT_MIN_DWELL_MS, DEFAULT_PROPENSITY_CLIP, check_pairs_path
from analysis.results import About, OfflineMetrics
from dashboards import render_html, render_report
from dashboards.layout import write_text_atomic
from event_logging.factory import open_store
from event_logging.store import EventStore
from experiments import Experiment, ExperimentSet, load_experiments
from search_core.artifacts import ArtifactStore
from search_core.errors import SearchCoreError
from vsx.pipelines.definitions import known_names, metric_catalog
from vsx.settings import Settings, get_settings

logger = logging.getLogger(__name__)

SOURCES = ("clickhouse", "embedded")
RECOMMENDATIONS = ("ship", "no_ship", "inconclusive", "invalid")
DEFAULT_MIN_USERS_PER_ARM = 100
"""A per-user file's default minimum users per arm before a recommendation (the experiment YAML's default)."""

SourceOption = typer.Option(
    None, "--source", help="clickhouse | embedded (chdb under data_dir). Default: embedded when settings.embedded."
)


def plan_from_experiment(
    experiment: Experiment, settings: Settings, catalog: MetricCatalog, segments: Sequence[str] = ()
) -> AnalysisPlan:
    """The experiment YAML as the plain values `analysis` takes (guardrail margins default from settings);
    `segments` from the command line come after the YAML's."""
    options = experiment.analysis
    default_margin = settings.analysis.guardrail_margin
    bayes = options.bayesian
    return AnalysisPlan(
        experiment=experiment.name,
        control=experiment.control,
        primary_metric=experiment.primary_metric,
        secondary_metrics=tuple(experiment.secondary_metrics),
        guardrails=tuple(GuardrailSpec(g.metric, g.margin or default_margin) for g in experiment.guardrails),
        weights={v.name: v.weight for v in experiment.variants},
        alpha=options.alpha,
        correction=options.correction,
        sequential=options.sequential,
        start=experiment.start,
        end=experiment.end,
        pre_period_days=options.pre_period_days,
        status=experiment.status,
        experiment_type=experiment.type,
        mde=options.mde,
        power=options.power,
        planned_users=options.planned_users,
        min_users_per_arm=options.min_users_per_arm,
        segments=tuple(dict.fromkeys((*experiment.segments, *segments))),
        engine=options.engine,
        bayesian=BayesianOptions(
            proper=bayes.prior == "proper",
            prior_mean=bayes.prior_mean,
            prior_stddev=bayes.prior_stddev,
            chance_to_win=bayes.chance_to_win,
            max_risk=bayes.max_risk,
        ),
        catalog=catalog,
    )


def parse_guardrail(text: str, default_margin: float) -> GuardrailSpec:
    """`error_rate` or `error_rate:0.05` → a guardrail with that relative margin (default from settings)."""
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


def open_event_store(settings: Settings, source: str | None) -> tuple[EventStore, str]:
    """The store `--source` names (default from settings) and its label for results."""
    label = source or ("embedded" if settings.embedded else "clickhouse")
    if label not in SOURCES:
        raise typer.BadParameter(f"{label!r} is not one of {', '.join(SOURCES)}", param_hint="--source")
    if label == "embedded":
        return open_store(chdb_path=settings.data_dir / "chdb"), label
    return open_store(clickhouse=settings.clickhouse), label


def offline_metrics(experiment: Experiment, experiments: ExperimentSet, artifacts_dir: Path) -> list[OfflineMetrics]:
    """Each variant's encoder and index metrics from their manifests (platform default for unset fields)."""
    store = ArtifactStore(artifacts_dir)
    default = experiments.platform.default
    rows = []
    for variant in experiment.variants:
        encoder, index = variant.encoder or default.encoder, variant.index or default.index
        metrics: dict[str, float] = {}
        for kind, ref in (("encoder", encoder), ("index", index)):
            try:
                metrics.update(store.manifest(kind, ref, verify=False).metrics)
            except SearchCoreError as exc:
                logger.warning("no offline metrics for %s %s: %s", kind, ref, exc)
        rows.append(OfflineMetrics(variant=variant.name, encoder=encoder, index=index, metrics=metrics))
    return rows


def write_outputs(results: Results, out: Path, reports_dir: Path) -> None:
    """`out/results.json`, then `out/report.html`; inside `reports_dir` the index is refreshed too.

    The index lists `reports_dir/*/results.json`, so results go first; a report written elsewhere
    (`--out /tmp/x`) gets no index, which would otherwise land in its parent folder.
    """
    results.write(out / "results.json")
    report = out / "report.html"
    if out.resolve().parent == reports_dir.resolve():
        render_report(results, report)
    else:
        write_text_atomic(report, render_html(results))
    _print_summary(results)


def _parse_fail_on(text: str | None) -> frozenset[str]:
    """`no_ship,invalid` → those recommendations; an unknown word is a usage error."""
    if not text:
        return frozenset()
    words = {w.strip() for w in text.split(",") if w.strip()}
    unknown = sorted(words - set(RECOMMENDATIONS))
    if unknown:
        raise typer.BadParameter(f"not a recommendation: {', '.join(unknown)}", param_hint="--fail-on")
    return frozenset(words)


def _fmt(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def _print_summary(results: Results) -> None:
    console = Console(stderr=True)
    for decision in results.decisions:
        console.print(f"[bold]{decision.variant}: {decision.recommendation}[/bold]")
        for reason in decision.reasons:
            console.print(f"  - {reason}", highlight=False)
    table = Table("metric", "variant", "method", "lift", "95% CI", "p adj", "sig")
    for r in results.results:
        low, high = r.ci_low_adjusted or r.ci_low, r.ci_high_adjusted or r.ci_high
        ci = f"[{_fmt(low, '+.1%')}, {_fmt(high, '+.1%')}]"
        sig = "yes" if r.significant else ""
        table.add_row(r.metric, r.variant, r.method, _fmt(r.rel_lift, "+.2%"), ci, _fmt(r.p_value_adjusted, ".3g"), sig)
    console.print(table)
    srm = results.srm
    if srm.checked:
        console.print(f"SRM {'ok' if srm.ok else 'FAILED'} (p = {_fmt(srm.p_value, '.3g')}, users {srm.observed})")
    else:
        console.print(f"users {srm.observed} (no traffic split to check)")
    for note in results.notes:
        console.print(f"note: {note}", highlight=False)


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
    for option, names in (("--primary", [primary]), ("--secondary", secondary)):
        for metric in names:
            if metric not in supported:
                raise typer.BadParameter(
                    f"{metric!r} is not computable from {source.label} (it supports: {', '.join(supported)})",
                    param_hint=option,
                )
    specs = tuple(parse_guardrail(g, default_margin) for g in guardrails)
    for spec in specs:
        if spec.metric not in supported:
            raise typer.BadParameter(
                f"{spec.metric!r} is not computable from {source.label} (it supports: {', '.join(supported)})",
                param_hint="--guardrail",
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


def analyze_experiment(settings: Settings, name: str, source: str | None, segments: Sequence[str] = ()) -> Results:
    """The experiment's YAML → plan → events in the store → results, with its variants' offline metrics."""
    catalog = metric_catalog(settings)
    experiments = load_experiments(settings.experiments_dir, known=known_names(settings, catalog))
    definition = experiments.get(name)
    unknown = [s for s in segments if s not in settings.analysis.attributes]
    if unknown:
        declared = ", ".join(settings.analysis.attributes)
        raise typer.BadParameter(
            f"unknown user attribute(s) {', '.join(unknown)} (declared: {declared})", param_hint="--segment"
        )
    plan = plan_from_experiment(definition, settings, catalog, segments)
    store, label = open_event_store(settings, source)
    with store:
        data = EventStoreSource(store, label).load(plan)
        preference = interleaving_stats(store, plan) if plan.experiment_type == "interleaving" else None
        results = analyze(data, plan, preference)
    offline = offline_metrics(definition, experiments, settings.artifacts_dir)
    about = About(description=definition.description, owner=definition.owner, hypothesis=definition.hypothesis)
    return results.model_copy(update={"offline": offline, "about": about})


def analyze_holdout(settings: Settings, source: str | None, since: datetime | None, until: datetime | None) -> Results:
    """Users the global holdout kept out of every experiment against users exposed to any, since `since` (default:
    the earliest experiment start in the experiments folder)."""
    experiments = load_experiments(settings.experiments_dir, known=known_names(settings))
    if experiments.platform.holdout.share == 0:
        raise AnalysisPlanError(
            f"the global holdout is empty: holdout.share is 0 in {settings.experiments_dir}/platform.yaml"
        )
    starts = [e.start for e in experiments.experiments]
    start = _utc(since) if since else min(starts, default=None)
    if start is None:
        raise AnalysisPlanError("no experiments to date the holdout from: give --since")
    plan = holdout_plan(start, _utc(until) if until else None)
    store, label = open_event_store(settings, source)
    with store:
        return analyze(HoldoutSource(store, label).load(plan), plan)


def _utc(moment: datetime) -> datetime:
    """A command-line date as UTC (a date without a zone is taken as UTC, like the experiment YAML)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


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
    ) -> None:
        """Compare variants with control: writes OUT/results.json and OUT/report.html, prints the decisions."""
        settings = get_settings()
        failing = _parse_fail_on(fail_on)
        if holdout:
            if per_user is not None or experiment is not None:
                raise typer.BadParameter(
                    "analyses the holdout alone: drop EXPERIMENT / --per-user", param_hint="--holdout"
                )
            results = analyze_holdout(settings, source, since, until)
        elif per_user is not None:
            if source is not None:
                raise typer.BadParameter("reads an event store: drop it with --per-user", param_hint="--source")
            name = experiment or per_user.name.removesuffix(".gz").removesuffix(".csv")
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
        out = out or settings.reports_dir / results.experiment
        write_outputs(results, out, settings.reports_dir)
        if as_json:
            typer.echo(
                json.dumps(
                    {
                        "experiment": results.experiment,
                        "results": str(out / "results.json"),
                        "report": str(out / "report.html"),
                        "decisions": [d.model_dump() for d in results.decisions],
                    },
                    indent=2,
                )
            )
        else:
            typer.echo(out / "report.html")
        hits = [d for d in results.decisions if d.recommendation in failing]
        if hits:
            names = ", ".join(f"{d.variant} {d.recommendation}" for d in hits)
            typer.echo(f"decision: {names} (--fail-on {','.join(sorted(failing))})", err=True)
            raise typer.Exit(1)

    @app.command("export-pairs")
    def export_pairs_cmd(
        experiment: str = typer.Argument(..., help="Experiment whose clicks to export."),
        out: Path = typer.Option(..., "--out", help="pairs.jsonl or pairs.parquet"),
        min_dwell_ms: float = typer.Option(DEFAULT_MIN_DWELL_MS, "--min-dwell-ms", help="Satisfied-click threshold."),
        ipw: bool = typer.Option(False, "--ipw", help="Weight clicks by inverse position propensity."),
        clip: float = typer.Option(
            DEFAULT_PROPENSITY_CLIP, "--clip", help="Lowest propensity (highest weight 1/clip)."
        ),
        source: str | None = SourceOption,
    ) -> None:
        """Clicked (query image, result image) pairs with weights, for contrastive retraining."""
        check_pairs_path(out)
        store, _ = open_event_store(get_settings(), source)
        with store:
            pairs = click_pairs(store, experiment, min_dwell_ms=min_dwell_ms, ipw=ipw, clip=clip)
        write_pairs(pairs, out)
        typer.echo(f"{len(pairs)} pairs ({sum(p.clicks for p in pairs)} clicks) → {out}")
