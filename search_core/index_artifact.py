"""Index artifacts: embed a catalog's gallery with an encoder artifact, build a `SearchIndex`, publish it.

The manifest records the encoder `name@version` the vectors came from, the factory string, the
dimension, the build parameters and the ANN recall@10 against exact search; the store adds the sha256
of every file. Loading verifies those hashes and that the encoder still embeds the index's dimension.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from tqdm import tqdm

from search_core.artifacts import ArtifactRef, ArtifactStore, Manifest
from search_core.catalog import Catalog
from search_core.encoders import Encoder, load_encoder
from search_core.index import SearchIndex
from search_core.metrics import ann_recall

logger = logging.getLogger(__name__)

RECALL_QUERIES = 1000
"""Queries (a seeded sample of the catalog's query split) for the ANN recall recorded at build time."""


def default_index_name(encoder_name: str, factory: str) -> str:
    """`cnn` + `IVF1024,PQ16` → `cnn-ivf1024-pq16`: readable and a valid artifact name."""
    return f"{encoder_name}-{re.sub(r'[^a-z0-9]+', '-', factory.lower()).strip('-')}"


def embed_catalog(encoder: Encoder, catalog: Catalog, ids: Sequence[str], batch_size: int = 4096) -> np.ndarray:
    """Embeddings of catalog images, read in batches so a folder catalog is never decoded all at once."""
    out = np.empty((len(ids), encoder.dim), dtype=np.float32)
    starts = range(0, len(ids), batch_size)
    for start in tqdm(starts, desc="embedding", unit="batch", mininterval=1.0, disable=len(starts) < 4):
        out[start : start + batch_size] = encoder.embed(catalog.images(ids[start : start + batch_size]))
    return out


def sample_queries(catalog: Catalog, n: int | None, seed: int = 0) -> list[str]:
    """A seeded subset of the catalog's labelled query split (all of it for n=None), in catalog order.

    Unlabelled queries are left out: with relevance = same class they could only score 0.
    """
    labelled = [
        i for i, label in zip(catalog.query_ids, catalog.labels_for(catalog.query_ids), strict=True) if label >= 0
    ]
    if n is None or n >= len(labelled):
        return labelled
    chosen = np.sort(np.random.default_rng(seed).choice(len(labelled), size=n, replace=False))
    return [labelled[i] for i in chosen]


def build_index_artifact(
    store: ArtifactStore,
    *,
    encoder_ref: ArtifactRef | str,
    catalog: Catalog,
    factory: str = "HNSW32",
    name: str | None = None,
    params: Mapping[str, Any] | None = None,
    train_sample: int = 100_000,
    seed: int = 0,
) -> Manifest:
    """Embed `catalog.gallery_ids`, build the index, measure ANN recall@10, publish the next version of `name`.

    `params` are the default query parameters stored with the index (e.g. `{"nprobe": 16}`); the name
    defaults to `<encoder>-<factory>`.
    """
    encoder = load_encoder(store, encoder_ref)
    name = name or default_index_name(encoder.ref.name, factory)
    ids = catalog.gallery_ids
    vectors = embed_catalog(encoder, catalog, ids)
    started = time.perf_counter()
    index = SearchIndex.build(
        vectors,
        ids,
        factory,
        labels=catalog.labels_for(ids),
        class_names=catalog.class_names,
        params=params,
        train_sample=train_sample,
        seed=seed,
    )
    build_seconds = time.perf_counter() - started
    query_ids = sample_queries(catalog, RECALL_QUERIES, seed) or ids[:RECALL_QUERIES]
    xq = embed_catalog(encoder, catalog, query_ids)
    recall = ann_recall(index.search(xq, 10), index.exact_search(xq, 10), 10)
    ref = ArtifactRef(name, store.next_version("index", name))
    staging = store.staging_dir("index", ref)
    index.save(staging)
    manifest = Manifest(
        kind="index",
        name=ref.name,
        version=ref.version,
        catalog=catalog.name,
        dim=index.dim,
        encoder=str(encoder.ref),
        factory=factory,
        training={
            "params": dict(params or {}),
            "train_sample": train_sample,
            "seed": seed,
            "vectors": len(ids),
            "build_seconds": round(build_seconds, 3),
        },
        metrics={"ann_recall@10": recall},
    )
    store.write(manifest, staging)
    logger.info("index %s: %s over %d vectors, ANN recall@10 %.4f", ref, factory, len(ids), recall)
    return store.manifest("index", ref)
