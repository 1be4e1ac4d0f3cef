"""Index artifacts: what the manifest records, hash-verified loading, dimension checks, metrics updates."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from search_core.artifacts import (
    ArtifactHashMismatch,
    ArtifactRef,
    ArtifactStore,
    InvalidNameError,
    Manifest,
    ManifestError,
    UnknownArtifactError,
    path_safe_name,
)
from search_core.catalog import Catalog
from search_core.errors import DimensionMismatchError, InvalidFactoryError
from search_core.index import SearchIndex, load_index
from search_core.index_artifact import build_index_artifact, default_index_name, sample_queries


@pytest.fixture
def store(small_store: ArtifactStore, tmp_path) -> ArtifactStore:
    """A private copy of the session artifacts, for tests that tamper with them."""
    shutil.copytree(small_store.root, tmp_path / "artifacts")
    return ArtifactStore(tmp_path / "artifacts")


def test_manifest_records_lineage_build_params_recall_and_hashes(small_store: ArtifactStore, small_catalog: Catalog):
    manifest = small_store.manifest("index", "pixels-hnsw32@1")
    assert (manifest.encoder, manifest.factory, manifest.dim, manifest.catalog) == (
        "pixels@1",
        "HNSW32",
        784,
        small_catalog.name,
    )
    assert manifest.training["params"] == {"efSearch": 64}
    assert manifest.training["vectors"] == len(small_catalog.gallery_ids)
    assert 0.9 <= manifest.metrics["ann_recall@10"] <= 1.0
    assert set(manifest.files) == {
        "index.faiss",
        "vectors.npy",
        "ids.txt",
        "ids.npy",
        "id_hashes.npy",
        "id_rows.npy",
        "labels.npy",
        "deleted.npy",
        "search_index.json",
    }
    flat = small_store.manifest("index", "pixels-flat@1")
    assert flat.metrics["ann_recall@10"] == pytest.approx(1.0)


def test_loaded_index_serves_the_gallery_with_labels(small_store: ArtifactStore, small_catalog: Catalog) -> None:
    index = load_index(small_store, "pixels-flat@1")
    assert index.read_only and len(index) == len(small_catalog.gallery_ids)
    some = small_catalog.gallery_ids[:20]
    np.testing.assert_array_equal(index.labels(some), small_catalog.labels_for(some))
    assert index.default_params == {}
    assert load_index(small_store, "pixels-hnsw32@1").default_params == {"efSearch": 64}


def test_next_build_is_a_new_version(store: ArtifactStore, small_catalog: Catalog) -> None:
    manifest = build_index_artifact(store, name="pixels-flat", encoder_ref="pixels@1", catalog=small_catalog)
    assert manifest.ref == ArtifactRef("pixels-flat", 2) and manifest.factory == "HNSW32"


def test_default_name_is_encoder_and_factory() -> None:
    assert default_index_name("cnn", "IVF1024,PQ16") == "cnn-ivf1024-pq16"
    assert default_index_name("pixels", "Flat") == "pixels-flat"


def test_bad_factory_publishes_nothing(store: ArtifactStore, small_catalog: Catalog) -> None:
    with pytest.raises(InvalidFactoryError, match="'IVF,Nope'"):
        build_index_artifact(store, encoder_ref="pixels@1", catalog=small_catalog, factory="IVF,Nope")
    assert [m.name for m in store.list("index")] == ["pixels-flat", "pixels-hnsw32"]


@pytest.mark.parametrize("name", ["../../../x", "..", ".hidden", "a/b", "a\\b", "x" * 129, "caf\udcc3", "a b"])
def test_a_name_that_is_not_one_safe_path_component_publishes_nothing(
    store: ArtifactStore, small_catalog: Catalog, name: str
) -> None:
    """Regression: `vsx index build --name ../../../x` wrote its artifact outside the artifacts folder."""
    before = sorted(p for p in store.root.parent.rglob("*"))
    with pytest.raises(InvalidNameError, match="artifact name"):
        build_index_artifact(store, encoder_ref="pixels@1", catalog=small_catalog, factory="Flat", name=name)
    assert sorted(p for p in store.root.parent.rglob("*")) == before
    with pytest.raises(InvalidNameError):
        ArtifactRef(name, 1)


def test_path_safe_names() -> None:
    assert path_safe_name("cnn-v2.1_b") == "cnn-v2.1_b"
    with pytest.raises(InvalidNameError):
        ArtifactRef("", 1)
    with pytest.raises(InvalidNameError, match="experiment name '../x' must be 1-128 letters"):
        path_safe_name("../x", "experiment name")


def test_tampered_files_unknown_refs_and_corrupt_manifests_are_refused(store: ArtifactStore) -> None:
    folder = store.path("index", ArtifactRef("pixels-flat", 1))
    with (folder / "ids.txt").open("a") as fh:
        fh.write("extra\n")
    with pytest.raises(ArtifactHashMismatch, match="ids.txt"):
        load_index(store, "pixels-flat@1")
    with pytest.raises(UnknownArtifactError, match="pixels-flat@7"):
        load_index(store, "pixels-flat@7")
    manifest_path = store.path("index", ArtifactRef("pixels-hnsw32", 1)) / "manifest.json"
    manifest_path.write_text(json.dumps({**json.loads(manifest_path.read_text()), "dim": "wide"}))
    with pytest.raises(ManifestError, match="dim"):
        load_index(store, "pixels-hnsw32@1")


def test_index_whose_encoder_embeds_another_dimension_is_refused(store: ArtifactStore) -> None:
    """An index published for pixels@1 but holding 16-d vectors (e.g. built before the encoder was redone)."""
    ref = ArtifactRef("odd", 1)
    staging = store.staging_dir("index", ref)
    SearchIndex.build(np.eye(16, dtype=np.float32), [f"v{i}" for i in range(16)], "Flat").save(staging)
    store.write(Manifest(kind="index", name="odd", version=1, catalog="x", dim=16, encoder="pixels@1"), staging)
    with pytest.raises(DimensionMismatchError, match="odd@1 holds 16-d vectors but encoder pixels@1 embeds 784-d"):
        load_index(store, "odd@1")


def test_metrics_update_keeps_hashes_valid(store: ArtifactStore) -> None:
    updated = store.update_metrics("index", "pixels-flat@1", {"precision@10": 0.5})
    assert updated.metrics["precision@10"] == 0.5 and "ann_recall@10" in updated.metrics
    assert store.manifest("index", "pixels-flat@1", verify=True).metrics == updated.metrics


def test_query_sample_is_seeded_and_labelled(small_catalog: Catalog) -> None:
    first, again = sample_queries(small_catalog, 10, seed=3), sample_queries(small_catalog, 10, seed=3)
    assert first == again and len(set(first)) == 10 and set(first) <= set(small_catalog.query_ids)
    assert sample_queries(small_catalog, None) == small_catalog.query_ids
