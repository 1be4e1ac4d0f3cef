"""`vsx eval ENCODER@V --index INDEX@V` (offline IR metrics, TREC files, manifest metrics) and `vsx eval-trec`."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import typer
from rich.table import Table

from search_core.artifacts import ArtifactRef, ArtifactStore
from search_core.catalog import load_catalog
from search_core.trec import TREC_METRICS, evaluate_files
from vsx.commands.index import PARAM_HELP, parse_params
from vsx.commands.output import console
from vsx.settings import get_settings

logger = logging.getLogger(__name__)

LEADING = ("precision@10", "mrr@10", "ndcg@10")
"""Shown first: recall@10 and MAP are tiny by construction when each query has 6000 relevant images."""


def register(app: typer.Typer) -> None:
    @app.command("eval")
    def eval_cmd(
        encoder: str = typer.Argument(..., metavar="ENCODER@V", help="Encoder that embeds the queries."),
        index: str = typer.Option(..., metavar="INDEX@V", help="Index artifact to search."),
        queries: int = typer.Option(1000, min=0, help="Seeded subset of the catalog's query split; 0 = all."),
        out: Path | None = typer.Option(None, help="Folder for run.txt and qrels.txt.gz (default: reports)."),
        param: list[str] = typer.Option([], "--param", help=PARAM_HELP),
        k: int = typer.Option(100, min=10, help="Ranks retrieved per query (map@100 needs 100)."),
        seed: int = typer.Option(0, help="Seed of the query subset."),
    ) -> None:
        """Held-out queries, relevance = same class; metrics go into the index manifest and TREC files."""
        from search_core.encoders import load_encoder
        from search_core.evaluation import metrics_of, retrieve, write_trec_files
        from search_core.index import load_index
        from search_core.index_artifact import sample_queries

        store = ArtifactStore(get_settings().artifacts_dir)
        index_ref = ArtifactRef.parse(index)
        manifest = store.manifest("index", index_ref)
        if manifest.encoder and manifest.encoder != str(ArtifactRef.parse(encoder)):
            logger.warning("index %s was built with encoder %s, evaluating with %s", index, manifest.encoder, encoder)
        search_index = load_index(store, index_ref)
        catalog = load_catalog(manifest.catalog)
        params = parse_params(param)
        query_ids = sample_queries(catalog, queries or None, seed)
        retrieval = retrieve(load_encoder(store, encoder), search_index, catalog, query_ids, k, params or None)
        metrics = metrics_of(retrieval, search_index, catalog)
        folder = out or get_settings().reports_dir / "eval" / f"{index_ref.name}-{index_ref.version}"
        run_path, qrels_path = write_trec_files(retrieval, search_index, catalog, folder)
        suffix = "[" + ",".join(f"{key}={value}" for key, value in sorted(params.items())) + "]" if params else ""
        recorded = {**metrics, "eval_queries": float(len(query_ids))}
        store.update_metrics("index", index_ref, {f"{name}{suffix}": value for name, value in recorded.items()})
        typer.echo(f"{index} with {encoder}: {len(query_ids)} queries, relevance = same class {suffix}".rstrip())
        table = Table()
        table.add_column("metric")
        table.add_column("value", justify="right")
        for name in sorted(metrics, key=lambda n: (n not in LEADING, LEADING.index(n) if n in LEADING else 0)):
            table.add_row(name, f"{metrics[name]:.4f}")
        console().print(table)
        typer.echo(f"run: {run_path}\nqrels: {qrels_path}")

    @app.command("eval-trec")
    def eval_trec_cmd(
        qrels: Path = typer.Argument(..., help="TREC qrels (query iter doc grade); .gz read transparently."),
        run: Path = typer.Argument(..., help="TREC run (query Q0 doc rank score tag)."),
        metric: list[str] = typer.Option([], "--metric", help="name@k (precision, recall, mrr, map, ndcg, hit)."),
    ) -> None:
        """Mean metrics as JSON with trec_eval -c conventions (every qrels query counts; missing ones score 0)."""
        typer.echo(json.dumps(evaluate_files(qrels, run, metric or TREC_METRICS), indent=2))
