"""Reuse-or-build steps for encoder and index artifacts, shared by `vsx demo` and `vsx retrain`.

"Reuse what is valid": an artifact is reused when a version of that name (the newest such) was built from
the same inputs (same parent, same pairs file hash, same config) and its hashes verify; otherwise the next
version is built. Offline metrics are measured once, on a fixed seeded query subset, and stored
in both the index manifest and its encoder's manifest (the encoder's offline quality *is* its index's).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from search_core.artifacts import ArtifactRef, ArtifactStore, Manifest, sha256_file
from search_core.catalog import Catalog
from search_core.encoders import load_encoder
from search_core.evaluation import evaluate
from search_core.index import load_index
from search_core.index_artifact import build_index_artifact, sample_queries
from search_core.training import (
    FineTuneConfig,
    TrainConfig,
    build_pixels_encoder,
    fine_tune_encoder,
    train_encoder,
)
from search_core.validation import PREFIX as VALIDATION_PREFIX

logger = logging.getLogger(__name__)

OFFLINE_KEYS = ("precision@10", "mrr@10", "ndcg@10", "ann_recall@10")


def _latest(store: ArtifactStore, kind: str, name: str) -> Manifest | None:
    versions = [m for m in store.list(kind) if m.name == name]  # type: ignore[arg-type]
    return max(versions, key=lambda m: m.version) if versions else None


def _reusable(store: ArtifactStore, manifest: Manifest | None, **expected: Any) -> Manifest | None:
    """The manifest if its files verify and every expected training field matches, else None."""
    if manifest is None:
        return None
    try:
        verified = store.manifest(manifest.kind, manifest.ref, verify=True)
    except ValueError as exc:
        logger.warning("not reusing %s %s: %s", manifest.kind, manifest.ref, exc)
        return None
    for key, value in expected.items():
        if verified.training.get(key) != value:
            return None
    return verified


def ensure_pixels(
    store: ArtifactStore, catalog: Catalog, name: str = "pixels", pca_dim: int | None = None
) -> ArtifactRef:
    """The raw-pixel baseline encoder, optionally PCA-reduced (no training: a valid version with the same
    `pca_dim` is the same thing)."""
    found = _reusable(store, _latest(store, "encoder", name), pca_dim=pca_dim)
    if found:
        return found.ref
    return build_pixels_encoder(store, name=name, catalog=catalog, pca_dim=pca_dim).ref


def ensure_trained(
    store: ArtifactStore, catalog: Catalog, *, name: str, config: TrainConfig, parent: ArtifactRef | None = None
) -> ArtifactRef:
    """Train `name` self-supervised (from `parent`) unless a version was trained the same way."""
    found = _matching(store, name, config=config.to_dict(), parent=str(parent) if parent else None, pairs=None)
    if found is not None:
        return found
    return train_encoder(store, name=name, catalog=catalog, config=config, parent=parent).ref


def ensure_fine_tuned(
    store: ArtifactStore,
    catalog: Catalog,
    *,
    name: str,
    config: FineTuneConfig,
    parent: ArtifactRef,
    pairs_path: Path,
) -> ArtifactRef:
    """Fine-tune `parent` on the click groups of `pairs_path` unless a version of `name` was made the same way."""
    found = _matching(store, name, config=config.to_dict(), parent=str(parent), pairs=sha256_file(pairs_path))
    if found is not None:
        return found
    return fine_tune_encoder(store, name=name, catalog=catalog, config=config, parent=parent, pairs_path=pairs_path).ref


def _matching(store: ArtifactStore, name: str, *, pairs: str | None, **training: Any) -> ArtifactRef | None:
    """The newest valid version of encoder `name` with these training fields and pairs file hash."""
    versions = sorted((m for m in store.list("encoder") if m.name == name), key=lambda m: -m.version)
    for manifest in versions:
        if (manifest.pairs.sha256 if manifest.pairs else None) != pairs:
            continue
        if _reusable(store, manifest, **training) is not None:
            logger.info("reusing encoder %s", manifest.ref)
            return manifest.ref
    return None


def ensure_index(
    store: ArtifactStore, catalog: Catalog, encoder: ArtifactRef, *, factory: str, queries: int
) -> ArtifactRef:
    """An index of `encoder`'s gallery embeddings, evaluated offline (metrics in both manifests)."""
    name = f"{encoder.name}-v{encoder.version}-{factory.lower().replace(',', '-')}"
    found = _latest(store, "index", name)
    if found is None or _reusable(store, found) is None:
        found = build_index_artifact(store, encoder_ref=encoder, catalog=catalog, factory=factory, name=name)
    if "precision@10" not in found.metrics:
        query_ids = sample_queries(catalog, queries or None, seed=0)
        metrics = evaluate(load_encoder(store, encoder), load_index(store, found.ref), catalog, query_ids)
        metrics["eval_queries"] = float(len(query_ids))
        found = store.update_metrics("index", found.ref, metrics)
        store.update_metrics("encoder", encoder, {k: v for k, v in metrics.items() if k != "ann_recall@10"})
    return found.ref


def validation_metrics_of(store: ArtifactStore, encoder: ArtifactRef) -> dict[str, float]:
    """The validation-split metrics recorded at training time (none for an untrained encoder such as pixels)."""
    metrics = store.manifest("encoder", encoder, verify=False).metrics
    return {k: v for k, v in metrics.items() if k.startswith(VALIDATION_PREFIX)}


def offline_metrics(store: ArtifactStore, index: ArtifactRef) -> dict[str, float]:
    """The headline offline metrics of an index (as recorded in its manifest)."""
    metrics = store.manifest("index", index, verify=False).metrics
    return {k: metrics[k] for k in OFFLINE_KEYS if k in metrics}
