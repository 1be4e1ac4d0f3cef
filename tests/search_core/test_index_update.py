"""Catalog updates of index artifacts: the next version holds the new images (embedded once, found by search),
records its lineage, refuses what it cannot take without writing anything, and the catalog learns the images."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from search_core.artifacts import ArtifactRef, ArtifactStore
from search_core.catalog import Catalog, load_catalog
from search_core.catalog_additions import CatalogAdditions, additions_dir, extend_catalog
from search_core.encoders import load_encoder
from search_core.errors import (
    ImageConflictError,
    IndexInputError,
    IndexUpdateError,
    InvalidImageError,
    UnknownClassError,
    UnknownIndexItemError,
)
from search_core.images import encode_png, read_image
from search_core.index import load_index
from search_core.index_update import ADDED_FILE, LOCK_FILE, REMOVED_FILE, latest_update, update_index_artifact


@pytest.fixture
def store(small_store: ArtifactStore, tmp_path: Path) -> ArtifactStore:
    shutil.copytree(small_store.root, tmp_path / "artifacts")
    return ArtifactStore(tmp_path / "artifacts")


def new_images(folder: Path, catalog: Catalog, n: int = 3) -> tuple[Path, list[np.ndarray]]:
    """`n` images the catalog lacks (a catalog image flipped upside down), in a class folder of the catalog."""
    fmnist = load_catalog("fashion-mnist")
    target = folder / catalog.class_names[0]
    target.mkdir(parents=True)
    pixels = [np.ascontiguousarray(fmnist.image(f"fmnist-test-{i:06d}")[::-1]) for i in range(n)]
    for i, image in enumerate(pixels):
        (target / f"new-{i}.png").write_bytes(encode_png(image))
    return folder, pixels


def test_an_update_adds_new_images_only_and_records_lineage(
    store: ArtifactStore, small_catalog: Catalog, tmp_path: Path
) -> None:
    source, pixels = new_images(tmp_path / "new", small_catalog)
    gone = small_catalog.gallery_ids[0]
    manifest = update_index_artifact(store, "pixels-hnsw32@1", tmp_path / "additions", add=source, remove=[gone])
    assert manifest.ref == ArtifactRef("pixels-hnsw32", 2) and manifest.parent_version == 1
    assert manifest.update is not None and (manifest.update.parent, manifest.update.added) == ("pixels-hnsw32@1", 3)
    assert manifest.update.removed == 1 and manifest.metrics == {}
    assert {ADDED_FILE, REMOVED_FILE} <= set(manifest.files)
    folder = store.path("index", manifest.ref)
    assert (folder / REMOVED_FILE).read_text() == f"{gone}\n"
    new_id = f"{small_catalog.class_names[0]}/new-1.png"
    assert f"{new_id}\t" in (folder / ADDED_FILE).read_text()

    index = load_index(store, manifest.ref)
    query = load_encoder(store, "pixels@1").embed([pixels[1]])
    assert index.search(query, 1)[0].ids == [new_id]
    assert index.metadata(new_id)["label"] == 0
    assert gone not in index and len(index) == len(small_catalog.gallery_ids) + 2
    assert latest_update(store, "pixels-hnsw32@1") == manifest.ref
    assert latest_update(store, "pixels-flat@1") == ArtifactRef("pixels-flat", 1)

    additions = CatalogAdditions(additions_dir(tmp_path / "additions", small_catalog.name))
    catalog = extend_catalog(load_catalog(small_catalog.name), additions)
    assert new_id in catalog and new_id in catalog.gallery_ids and catalog.label(new_id) == 0
    np.testing.assert_array_equal(catalog.image(new_id), pixels[1])
    assert len(catalog.query_ids) == len(small_catalog.query_ids)


def test_update_chains_are_linear_and_a_retry_with_the_same_pixels_is_accepted(
    store: ArtifactStore, small_catalog: Catalog, tmp_path: Path
) -> None:
    source, _ = new_images(tmp_path / "new", small_catalog, n=1)
    update_index_artifact(store, "pixels-flat@1", tmp_path / "additions", add=source)
    with pytest.raises(IndexUpdateError, match="already has the update pixels-flat@2"):
        update_index_artifact(store, "pixels-flat@1", tmp_path / "additions", remove=[small_catalog.gallery_ids[0]])
    # the same images again: the catalog accepts them (same pixels), the index refuses ids it holds
    with pytest.raises(IndexInputError, match="already in the index"):
        update_index_artifact(store, "pixels-flat@2", tmp_path / "additions", add=source)
    # another index of the same catalog may add them: the catalog holds them with the same pixels
    third = update_index_artifact(store, "pixels-hnsw32@1", tmp_path / "additions", add=source)
    assert third.update is not None and third.update.added == 1


@pytest.mark.parametrize("problem", ["corrupt", "unknown-remove", "conflict", "unknown-class", "nothing"])
def test_a_refused_update_writes_nothing(
    store: ArtifactStore, small_catalog: Catalog, tmp_path: Path, problem: str
) -> None:
    source, _ = new_images(tmp_path / "new", small_catalog, n=2)
    remove: list[str] = []
    add: Path | None = source
    expected: type[Exception] = InvalidImageError
    if problem == "corrupt":
        (source / small_catalog.class_names[0] / "broken.png").write_bytes(b"\x89PNG not really")
    elif problem == "unknown-remove":
        remove, expected = ["no-such-image"], UnknownIndexItemError
    elif problem == "conflict":  # an id the catalog holds, with other pixels
        taken = small_catalog.query_ids[0]  # in the catalog, not in the index
        (source / taken).parent.mkdir(parents=True, exist_ok=True)
        (source / taken).write_bytes((source / small_catalog.class_names[0] / "new-0.png").read_bytes())
        expected = ImageConflictError
    elif problem == "unknown-class":
        (tmp_path / "list.txt").write_text(f"new/{small_catalog.class_names[0]}/new-0.png\tNo Such Class\n")
        add, expected = tmp_path / "list.txt", UnknownClassError
    else:
        add, expected = None, IndexUpdateError
    before = artifact_files(store)
    with pytest.raises(expected):
        update_index_artifact(store, "pixels-flat@1", tmp_path / "additions", add=add, remove=remove)
    assert artifact_files(store) == before
    assert CatalogAdditions(additions_dir(tmp_path / "additions", small_catalog.name)).entries() == []


def artifact_files(store: ArtifactStore) -> list[Path]:
    """Every file and folder of the store but the update lock (a lock file, no data)."""
    return sorted(p.relative_to(store.root) for p in store.root.rglob("*") if p.name != LOCK_FILE)


def test_a_list_file_names_images_and_classes(store: ArtifactStore, small_catalog: Catalog, tmp_path: Path) -> None:
    source, pixels = new_images(tmp_path / "new", small_catalog, n=2)
    cls = small_catalog.class_names[3]
    (tmp_path / "list.txt").write_text(f"new/{small_catalog.class_names[0]}/new-0.png\t{cls}\n\n")
    manifest = update_index_artifact(store, "pixels-flat@1", tmp_path / "additions", add=tmp_path / "list.txt")
    index = load_index(store, manifest.ref)
    image_id = f"new/{small_catalog.class_names[0]}/new-0.png"
    assert index.metadata(image_id)["label"] == 3
    np.testing.assert_array_equal(read_image(source / small_catalog.class_names[0] / "new-0.png"), pixels[0])
