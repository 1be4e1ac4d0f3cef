"""An experiment's analysis: its YAML → plan → events in the store → results.json and report.html.

Shared by `vsx analyze`, the demo and `vsx serve`'s scheduled refresh, so they write the same files.
Everything statistical happens in `analysis`; the report comes from `dashboards`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from analysis import AnalysisPlan, BayesianOptions, EventStoreSource, GuardrailSpec, MetricCatalog, Results, analyze
from analysis.errors import AnalysisPlanError
from analysis.holdout import HoldoutSource, holdout_plan
from analysis.results import About, OfflineMetrics
from analysis.sources.interleaving import interleaving_stats
from config_files.atomic import write_atomic
from dashboards import render_html, render_report
from event_logging.factory import open_store
from event_logging.store import EventStore
from experiments import Experiment, ExperimentSet, load_experiments
from search_core.artifacts import ArtifactKind, ArtifactStore
from search_core.errors import SearchCoreError
from vsx.errors import AnalysisInputError
from vsx.pipelines.definitions import known_names, metric_catalog
from vsx.settings import Settings

logger = logging.getLogger(__name__)

SOURCES = ("clickhouse", "embedded")


def plan_from_experiment(
    experiment: Experiment, settings: Settings, catalog: MetricCatalog, segments: Sequence[str] = ()
) -> AnalysisPlan:
    """The experiment YAML as the plain values `analysis` takes (guardrail margins default from settings);
    `segments` from the command line come after the YAML's."""
    options = experiment.analysis
    bayes = options.bayesian
    default_margin = settings.analysis.guardrail_margin
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


def open_event_store(settings: Settings, source: str | None) -> tuple[EventStore, str]:
    """The store `--source` names (default from settings) and its label for results."""
    label = source or ("embedded" if settings.embedded else "clickhouse")
    if label not in SOURCES:
        raise AnalysisInputError(f"--source: {label!r} is not one of {', '.join(SOURCES)}")
    if label == "embedded":
        return open_store(chdb_path=settings.chdb_path), label
    return open_store(clickhouse=settings.clickhouse), label


def variant_offline_metrics(
    experiment: Experiment, experiments: ExperimentSet, artifacts_dir: Path
) -> list[OfflineMetrics]:
    """Each variant's encoder and index metrics from their manifests (platform default for unset fields)."""
    store = ArtifactStore(artifacts_dir)
    default = experiments.platform.default
    rows = []
    for variant in experiment.variants:
        encoder, index = variant.encoder or default.encoder, variant.index or default.index
        metrics: dict[str, float] = {}
        kinds: tuple[tuple[ArtifactKind, str], ...] = (("encoder", encoder), ("index", index))
        for kind, ref in kinds:
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
        write_atomic(report, render_html(results))


def analyze_experiment(settings: Settings, name: str, source: str | None, segments: Sequence[str] = ()) -> Results:
    """The experiment's YAML → plan → events in the store → results, with its variants' offline metrics;
    `segments`: user attributes to break results down by, beside the YAML's."""
    catalog = metric_catalog(settings)
    experiments = load_experiments(settings.experiments_dir, known=known_names(settings, catalog))
    definition = experiments.get(name)
    unknown = [s for s in segments if s not in settings.analysis.attributes]
    if unknown:
        declared = ", ".join(settings.analysis.attributes)
        raise AnalysisInputError(f"--segment: unknown user attribute(s) {', '.join(unknown)} (declared: {declared})")
    plan = plan_from_experiment(definition, settings, catalog, segments)
    store, label = open_event_store(settings, source)
    with store:
        data = EventStoreSource(store, label).load(plan)
        preference = interleaving_stats(store, plan) if plan.experiment_type == "interleaving" else None
        results = analyze(data, plan, preference)
    offline = variant_offline_metrics(definition, experiments, settings.artifacts_dir)
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
    start = _utc(since) if since else min((e.start for e in experiments.experiments), default=None)
    if start is None:
        raise AnalysisPlanError("no experiments to date the holdout from: give --since")
    plan = holdout_plan(start, _utc(until) if until else None)
    store, label = open_event_store(settings, source)
    with store:
        return analyze(HoldoutSource(store, label).load(plan), plan)


def _utc(moment: datetime) -> datetime:
    """A command-line date as UTC (a date without a zone is taken as UTC, like the experiment YAML)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
