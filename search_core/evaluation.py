"""Offline evaluation of an (encoder, index) pair: held-out queries, relevance = same class as the query.

Fashion-MNIST: the gallery is the 60k train split (what the index holds), the queries the 10k test split
or a seeded subset. With 6000 relevant images per class, recall@10 and MAP are tiny by construction
(recall@10 <= 10/6000), so precision@10, MRR@10 and nDCG@10 lead. Each hit list is put in trec_eval order
(score descending, ties by id descending) before it is judged, so the metrics computed here equal what
`vsx eval-trec` computes from the `run.txt` / `qrels.txt.gz` written next to them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from search_core.catalog import Catalog
from search_core.encoders import Encoder
from search_core.hits import Hit
from search_core.index import SearchIndex
from search_core.index_artifact import embed_catalog, sample_queries
from search_core.metrics import Judgements, ann_recall, mean_metrics
from search_core.trec import write_qrels, write_run

logger = logging.getLogger(__name__)

EVAL_METRICS: tuple[str, ...] = ("precision@10", "mrr@10", "ndcg@10", "recall@10", "hit@10", "map@100")
RUN_FILE, QRELS_FILE = "run.txt", "qrels.txt.gz"


@dataclass(frozen=True)
class Retrieval:
    """What an evaluation retrieved: per query its hits in trec_eval order, and the ANN recall@10 measured."""

    query_ids: tuple[str, ...]
    hits: tuple[list[Hit], ...]
    ann_recall: float


def retrieve(
    encoder: Encoder,
    index: SearchIndex,
    catalog: Catalog,
    query_ids: Sequence[str],
    k: int = 100,
    params: Mapping[str, Any] | None = None,
) -> Retrieval:
    """Embed the query images, search the index (ANN and exact), drop each query from its own results."""
    xq = embed_catalog(encoder, catalog, query_ids)
    extra = int(any(q in index for q in query_ids))  # a query that is also in the gallery finds itself
    found = _cleaned(index.search(xq, k + extra, params), query_ids, k)
    exact = _cleaned(index.exact_search(xq, 10 + extra), query_ids, 10)
    return Retrieval(tuple(query_ids), tuple(found), ann_recall(found, exact, 10))


def judgements(retrieval: Retrieval, index: SearchIndex, catalog: Catalog) -> Judgements:
    """Relevant = same (known) label as the query; the relevant count ranges over the index's items."""
    query_labels = catalog.labels_for(retrieval.query_ids)
    gallery = index.ids
    gallery_labels = catalog.labels_for(gallery)
    per_label = np.bincount(gallery_labels[gallery_labels >= 0], minlength=max(query_labels.max(initial=0) + 1, 1))
    in_gallery = np.array([q in index for q in retrieval.query_ids], dtype=bool)
    n_relevant = np.where(query_labels >= 0, per_label[np.maximum(query_labels, 0)] - in_gallery, 0)
    depth = max((len(h) for h in retrieval.hits), default=0)
    hit_labels = np.full((len(retrieval.hits), depth), -2, dtype=np.int64)  # -2: no hit at this rank
    for row, hits in enumerate(retrieval.hits):
        hit_labels[row, : len(hits)] = catalog.labels_for([h.image_id for h in hits])
    relevant = (hit_labels == query_labels[:, None]) & (query_labels[:, None] >= 0)
    return Judgements.binary(retrieval.query_ids, relevant, n_relevant)


def metrics_of(retrieval: Retrieval, index: SearchIndex, catalog: Catalog) -> dict[str, float]:
    return {**mean_metrics(judgements(retrieval, index, catalog), EVAL_METRICS), "ann_recall@10": retrieval.ann_recall}


def evaluate(
    encoder: Encoder,
    index: SearchIndex,
    catalog: Catalog,
    query_ids: Sequence[str] | None = None,
    k: int = 100,
    params: Mapping[str, Any] | None = None,
) -> dict[str, float]:
    """Mean `EVAL_METRICS` and `ann_recall@10` over `query_ids` (default: every labelled query of the catalog)."""
    queries = list(query_ids) if query_ids is not None else sample_queries(catalog, None)
    return metrics_of(retrieve(encoder, index, catalog, queries, k, params), index, catalog)


def write_trec_files(retrieval: Retrieval, index: SearchIndex, catalog: Catalog, folder: Path) -> tuple[Path, Path]:
    """`run.txt` and gzipped `qrels.txt.gz` (every same-class gallery item: 6000 lines per Fashion-MNIST query)."""
    folder.mkdir(parents=True, exist_ok=True)
    run_path, qrels_path = folder / RUN_FILE, folder / QRELS_FILE
    write_run(
        run_path,
        {q: [(h.image_id, h.score) for h in hits] for q, hits in zip(retrieval.query_ids, retrieval.hits, strict=True)},
    )
    gallery = index.ids
    by_label: dict[int, list[str]] = {}
    for image_id, label in zip(gallery, catalog.labels_for(gallery).tolist(), strict=True):
        if label >= 0:
            by_label.setdefault(label, []).append(image_id)
    query_labels = catalog.labels_for(retrieval.query_ids).tolist()
    write_qrels(
        qrels_path,
        (
            _qrels_group(q, by_label.get(label, []), q in index)
            for q, label in zip(retrieval.query_ids, query_labels, strict=True)
        ),
    )
    logger.info("wrote %s and %s", run_path, qrels_path)
    return run_path, qrels_path


def _cleaned(results: Sequence[Sequence[Hit]], query_ids: Sequence[str], k: int) -> list[list[Hit]]:
    """Without the query itself, in trec_eval order (score desc, id desc), cut to k."""
    return [
        sorted((h for h in hits if h.image_id != query), key=lambda h: (h.score, h.image_id), reverse=True)[:k]
        for hits, query in zip(results, query_ids, strict=True)
    ]


def _qrels_group(query: str, same_class: list[str], in_gallery: bool) -> tuple[str, list[str], int]:
    """The query's relevant documents; one with none gets a single grade-0 line (itself), so that
    `trec_eval -c` still counts it, with 0, as `evaluate` does."""
    relevant = [d for d in same_class if d != query] if in_gallery else same_class
    return (query, relevant, 1) if relevant else (query, [query], 0)
