"""`vsx simulate` (simulated users against the serving app) and `vsx retrain` (next encoder from click groups)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from search_core.artifacts import ArtifactRef, ArtifactStore
from search_core.catalog import load_catalog
from vsx.commands.output import CatalogOption, SourceOption, console
from vsx.errors import CommandInputError
from vsx.settings import get_settings
from vsx.store_owner import check_embedded_store

if TYPE_CHECKING:  # the pipelines pull in torch, Faiss and FastAPI: imported when a command runs, not for --help
    from vsx.pipelines.simulate import SimulationSummary


def _print_events(summary: SimulationSummary) -> None:
    table = Table(title=f"simulated events: {summary.events} from {summary.users} users")
    for column in ("variant", "searches", "impressions", "clicks", "CTR"):
        table.add_column(column, justify="left" if column == "variant" else "right")
    for variant, row in sorted(summary.by_variant.items()):
        ctr = row["clicks"] / row["impressions"] if row["impressions"] else 0.0
        table.add_row(variant, str(row["searches"]), str(row["impressions"]), str(row["clicks"]), f"{ctr:.4f}")
    out = console()
    out.print(table)
    out.print(
        f"search {summary.searches}, impression {summary.impressions}, click {summary.clicks}, dwell {summary.dwells};"
        f" failed requests {summary.failed_requests}"
    )


def register(app: typer.Typer) -> None:
    @app.command("simulate")
    def simulate_cmd(
        users: int = typer.Option(500, min=1, help="Simulated users."),
        days: int = typer.Option(7, min=1, help="Days of experiment traffic."),
        pre_days: int = typer.Option(3, min=0, help="Days of traffic before START (CUPED's pre-period)."),
        start: datetime = typer.Option(
            datetime(2026, 1, 8), formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"], help="Experiment start (UTC)."
        ),
        seed: int = typer.Option(0, help="Seed: the same seed and server give the same traffic."),
        url: str | None = typer.Option(
            None, help="Drive a running `vsx serve` (started with VSX_TRUST_CLIENT_TIME) instead of in-process."
        ),
        user_prefix: str = typer.Option(
            "sim-user", help="User ids are PREFIX-000000, …: simulators running side by side need different ones."
        ),
        unseen_by: list[str] = typer.Option(
            [],
            "--unseen-by",
            metavar="ENCODER@V",
            help="Leave out query images this encoder (or an ancestor) was fine-tuned on (repeatable).",
        ),  # fmt: skip
        catalog_spec: str = CatalogOption,
    ) -> None:
        """Simulated users search, click and dwell (position-biased click model) against the serving app.

        Queries come from the training images of --catalog (the catalog the served encoders were trained on)
        only, never from the test or validation split, and with --unseen-by only from those the named
        encoders were never taught with by clicks. In-process (default) the app is served from the settings'
        experiments and artifacts; events go to the embedded store, or with VSX_EMBEDDED=false to Kafka and on
        into ClickHouse.
        """
        settings = get_settings()
        if not url and settings.embedded:  # in-process serving logs into the embedded store: fail before loading
            check_embedded_store(settings)
        from vsx.pipelines.click_model import TrafficPlan
        from vsx.pipelines.online import unseen_traffic
        from vsx.pipelines.simulate import simulate_server

        catalog = load_catalog(catalog_spec)
        begin = start.replace(tzinfo=UTC)
        plan = TrafficPlan(users=users, days=days, pre_days=pre_days, seed=seed)
        first = begin - timedelta(days=pre_days)
        traffic = unseen_traffic(ArtifactStore(settings.artifacts_dir), catalog, unseen_by)
        if url:
            summary = simulate_server(url, traffic_ids=traffic, label_of=catalog.label, plan=plan, start=first,
                                      user_prefix=user_prefix)  # fmt: skip
        else:
            from vsx.pipelines.online import ingest, run_traffic
            from vsx.pipelines.serving import Backend, simulation_config

            config = simulation_config(settings, Backend.from_settings(settings), catalog, settings.experiments_dir)
            summary = run_traffic(config, catalog, plan=plan, start=first, user_prefix=user_prefix, traffic_ids=traffic)
            if not settings.embedded:
                ingest(settings.kafka, settings.clickhouse, summary.events)
        _print_events(summary)

    @app.command("retrain")
    def retrain_cmd(
        parent: str = typer.Option(..., "--from", metavar="ENCODER@V", help="Encoder to continue from."),
        pairs: Path | None = typer.Option(
            None, "--pairs", exists=True, dir_okay=False, help="Click pairs (.jsonl/.parquet) to fine-tune on."
        ),
        experiments: list[str] = typer.Option(
            [],
            "--experiment",
            metavar="NAME",
            help="Pool the satisfied clicks of this experiment (repeatable) instead of --pairs; pairs touching "
            "test or validation images are dropped and counted.",
        ),  # fmt: skip
        source: str | None = SourceOption,
        epochs: int | None = typer.Option(None, min=1, help="Fine-tuning epochs (default: FineTuneConfig's)."),
        seed: int = typer.Option(0, help="Seed of the fine-tune."),
        factory: str = typer.Option("HNSW32", help="Faiss factory string of the new index."),
        eval_queries: int = typer.Option(2000, min=0, help="Seeded test queries for the offline eval (0 = all)."),
    ) -> None:
        """Fine-tune ENCODER@V on click groups into ENCODER@V+1, index it, evaluate it beside its parent."""
        if (pairs is None) == (not experiments):
            raise CommandInputError("vsx retrain: give either --pairs FILE or one or more --experiment NAME")
        settings = get_settings()
        source = source or ("embedded" if settings.embedded else "clickhouse")
        if pairs is None and source == "embedded":
            check_embedded_store(settings)
        from dashboards.formatting import fixed
        from search_core.training import FineTuneConfig
        from vsx.pipelines.artifacts import (
            OFFLINE_KEYS,
            ensure_fine_tuned,
            ensure_index,
            offline_metrics,
            validation_metrics_of,
        )
        from vsx.pipelines.reporting import export_pooled_pairs

        store = ArtifactStore(settings.artifacts_dir)
        parent_ref = ArtifactRef.parse(parent)
        catalog = load_catalog(store.manifest("encoder", parent_ref).catalog)
        if pairs is None:
            pairs, pooled = export_pooled_pairs(
                settings, experiments, held_out_images=set(catalog.query_ids) | set(catalog.validation_ids),
                source=source, out_name=f"retrain-{parent_ref.name}{parent_ref.version}-{len(experiments)}-experiments",
            )  # fmt: skip
            console().print(f"{len(pooled.pairs)} click pairs pooled, {sum(pooled.held_out.values())} held out "
                            f"(test or validation images) → {pairs}")  # fmt: skip
        defaults = FineTuneConfig()
        config = replace(defaults, epochs=epochs or defaults.epochs, seed=seed)
        child = ensure_fine_tuned(store, catalog, name=parent_ref.name, config=config, parent=parent_ref,
                                  pairs_path=pairs)  # fmt: skip
        rows = {}
        for ref in (parent_ref, child):
            index = ensure_index(store, catalog, ref, factory=factory, queries=eval_queries)
            rows[str(ref)] = {**offline_metrics(store, index), **validation_metrics_of(store, ref)}
        keys = (*OFFLINE_KEYS, "validation_precision@10")
        table = Table(title=f"{child}: fine-tuned from {parent_ref} on the click groups of {pairs}")
        table.add_column("encoder")
        for key in keys:
            table.add_column(key, justify="right")
        for shown, metrics in rows.items():
            table.add_row(shown, *(fixed(metrics.get(k), ".4f") for k in keys))
        console().print(table)
