"""Validation metrics: how well an embedding ranks the catalog's validation split, for choosing recipes.

Queries are the validation images (held out of training and traffic, see `search_core.catalog`), the
gallery is `train_ids`, search is exact cosine, relevant = same class: the test protocol on images no
encoder trained on and no user clicked. Recipe choices (epochs, rates, grouping, projection) are made
on these numbers, so the test queries are looked at only to report a chosen recipe.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import faiss
import numpy as np
import torch

from search_core.catalog import Catalog
from search_core.encoders.encoder import embed_batch
from search_core.encoders.module import EncoderModule
from search_core.encoders.preprocess import resize_batch
from search_core.errors import EvaluationError
from search_core.metrics import Judgements, mean_metrics

VALIDATION_METRICS = ("precision@10", "mrr@10", "ndcg@10")
PREFIX = "validation_"


def validation_metrics(catalog: Catalog, embed: Callable[[Sequence[str]], np.ndarray]) -> dict[str, float]:
    """`validation_precision@10`, `validation_mrr@10`, `validation_ndcg@10` of `embed` (ids → unit rows); none for
    a catalog built without a validation split (an in-memory one: every loaded catalog holds one out), which
    can still be trained on, only not chosen a recipe for."""
    if not catalog.validation_ids or not catalog.train_ids:
        return {}
    metrics = exact_metrics(catalog, embed, catalog.validation_ids, catalog.train_ids)
    return {PREFIX + name: value for name, value in metrics.items()}


def exact_metrics(
    catalog: Catalog, embed: Callable[[Sequence[str]], np.ndarray], queries: Sequence[str], gallery: Sequence[str]
) -> dict[str, float]:
    """P@10, MRR@10, nDCG@10 of the labelled `queries` against `gallery` (disjoint), exact cosine search."""
    queries = [i for i, label in zip(queries, catalog.labels_for(queries), strict=True) if label >= 0]
    if not queries or not gallery:
        raise EvaluationError(f"catalog {catalog.name!r}: no labelled queries or no gallery to evaluate")
    vectors = np.ascontiguousarray(embed(gallery), dtype=np.float32)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    _, found = index.search(np.ascontiguousarray(embed(queries), dtype=np.float32), 10)
    gallery_labels = catalog.labels_for(gallery)
    query_labels = catalog.labels_for(queries)
    relevant = gallery_labels[found] == query_labels[:, None]
    per_label = np.bincount(gallery_labels[gallery_labels >= 0], minlength=query_labels.max() + 1)
    return mean_metrics(Judgements.binary(queries, relevant, per_label[query_labels]), VALIDATION_METRICS)


def embed_ids(module: EncoderModule, catalog: Catalog, ids: Sequence[str], batch_size: int = 4096) -> np.ndarray:
    """Unit-length embeddings of catalog images by an encoder module (eval mode, on the CPU)."""
    out = []
    with torch.inference_mode():
        for start in range(0, len(ids), batch_size):
            batch = resize_batch(catalog.images(ids[start : start + batch_size]), module.input_size, module.channels)
            out.append(embed_batch(module, batch).numpy())
    return np.concatenate(out) if out else np.empty((0, module.dim), dtype=np.float32)
