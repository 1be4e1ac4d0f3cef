"""Catalog updates of index artifacts: the next version of an index with images added and removed, no rebuild.

An update reads the parent version into memory, adds the new images' vectors (embedded by the index's own
encoder, only those images) into the same Faiss structure — trained quantizers, codebooks and graph stay as
built — tombstones the removed ids, and publishes version V+1 of the same name with `update` lineage in its
manifest (parent, counts) and the id lists as hashed files (`update/added.tsv`: id, sha256 of the image's
PNG, label; `update/removed.txt`). Offline metrics are not carried over: they described the parent.

Versions in a lineage: an experiment pins `name@V` (a build: encoder, factory, parameters); serving serves
the newest update descending from it (`latest_update`), so every variant sees the catalog as updated and a
restart keeps what was added. Updates form a chain: only the newest version of a chain can be updated.

Cost: an update rewrites the index's files (O(catalog) disk writes and hashing, milliseconds per thousand
vectors; BENCHMARKS.md, "Live indexing"); the embedding is the only per-image model work.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from search_core.artifacts import ArtifactRef, ArtifactStore, IndexUpdate, Manifest
from search_core.catalog import Catalog, load_catalog
from search_core.catalog_additions import CatalogAdditions, NewImage, additions_dir, extend_catalog, read_new_images
from search_core.encoders import load_encoder
from search_core.errors import IndexUpdateError, UnknownClassError
from search_core.images import encode_png
from search_core.index import SearchIndex

logger = logging.getLogger(__name__)

ADDED_FILE = "update/added.tsv"
REMOVED_FILE = "update/removed.txt"
LOCK_FILE = ".update.lock"


@dataclass(frozen=True)
class IndexChange:
    """What to do to one index version: add `images` (with their `vectors` from its encoder), remove ids.

    `follow`: apply it to the newest update of `parent` (serving, whose pinned refs stay the same while updates
    pile up) instead of refusing a parent that was already updated (a person naming a version).
    """

    parent: ArtifactRef
    images: Sequence[NewImage]
    vectors: np.ndarray
    remove: Sequence[str] = ()
    follow: bool = False


@dataclass(frozen=True)
class StagedUpdate:
    """A new index version written to a staging folder, not yet published."""

    manifest: Manifest
    staging: Path


def latest_update(store: ArtifactStore, ref: ArtifactRef | str) -> ArtifactRef:
    """The newest version in the update chain that starts at `ref` (`ref` itself when it was never updated)."""
    ref = ArtifactRef.parse(ref) if isinstance(ref, str) else ref
    same_name = [m for m in store.list("index") if m.name == ref.name and m.update is not None]
    children = {ArtifactRef.parse(m.update.parent): m.ref for m in same_name if m.update is not None}
    while ref in children:
        ref = children[ref]
    return ref


def class_label(catalog: Catalog, class_name: str | None) -> int:
    """A class name of the catalog as its label index; None → -1 (unknown)."""
    if class_name is None:
        return -1
    try:
        return list(catalog.class_names).index(class_name)
    except ValueError:
        known = ", ".join(catalog.class_names) or "none"
        raise UnknownClassError(f"unknown class {class_name!r} for catalog {catalog.name!r}; known: {known}") from None


def stage_updates(store: ArtifactStore, changes: Sequence[IndexChange]) -> list[StagedUpdate]:
    """Write the next version of every changed index into staging folders; all or none (nothing published).

    Raises `IndexUpdateError` for an index that is not the newest of its chain or a change with nothing in
    it, `IndexInputError` for ids already in an index, `UnknownIndexItemError` for removals it lacks.
    """
    staged: list[StagedUpdate] = []
    next_version: dict[str, int] = {}
    try:
        for change in changes:
            version = next_version.get(change.parent.name) or store.next_version("index", change.parent.name)
            staged.append(_stage(store, change, ArtifactRef(change.parent.name, version)))
            next_version[change.parent.name] = version + 1
    except BaseException:
        discard(staged)
        raise
    return staged


def _stage(store: ArtifactStore, change: IndexChange, ref: ArtifactRef) -> StagedUpdate:
    newest = latest_update(store, change.parent)
    if change.follow:
        change = IndexChange(newest, change.images, change.vectors, change.remove)
    elif newest != change.parent:
        raise IndexUpdateError(f"index {change.parent} already has the update {newest}: update the newest version")
    parent = store.manifest("index", change.parent)
    if not change.images and not change.remove:
        raise IndexUpdateError("a catalog update needs images to add or ids to remove")
    index = SearchIndex.load(store.path("index", change.parent), mmap=False)
    if change.images:
        index.add([i.image_id for i in change.images], change.vectors, [i.label for i in change.images])
    if change.remove:
        index.remove(list(change.remove))
    staging = store.staging_dir("index", ref)
    index.save(staging)
    (staging / "update").mkdir()
    (staging / ADDED_FILE).write_text(
        "".join(f"{i.image_id}\t{png_sha256(i.pixels)}\t{i.label}\n" for i in change.images), encoding="utf-8"
    )
    (staging / REMOVED_FILE).write_text("".join(f"{i}\n" for i in change.remove), encoding="utf-8")
    manifest = parent.model_copy(
        update={
            "version": ref.version,
            "parent_version": change.parent.version,
            "created_at": datetime.now(UTC),
            "update": IndexUpdate(parent=str(change.parent), added=len(change.images), removed=len(change.remove)),
            "training": {**parent.training, "vectors": len(index)},
            "metrics": {},
            "files": {},
        }
    )
    return StagedUpdate(manifest, staging)


def discard(staged: Sequence[StagedUpdate]) -> None:
    for update in staged:
        shutil.rmtree(update.staging, ignore_errors=True)


def publish(store: ArtifactStore, staged: Sequence[StagedUpdate]) -> list[Manifest]:
    """Publish staged versions; if one fails, the ones already published are deleted again (all or none)."""
    published: list[Manifest] = []
    try:
        for update in staged:
            store.write(update.manifest, update.staging)
            published.append(update.manifest)
    except BaseException:
        for manifest in published:
            store.delete("index", manifest.ref)
        discard(staged[len(published) :])
        raise
    for manifest in published:
        logger.info("index %s: catalog update of %s", manifest.ref, manifest.update.parent if manifest.update else "")
    return [store.manifest("index", m.ref, verify=False) for m in published]


def apply_updates(
    store: ArtifactStore, changes: Sequence[IndexChange], catalog: Catalog, additions: CatalogAdditions
) -> list[Manifest]:
    """Stage every index's next version, store the new images in the catalog's additions, publish.

    The images go into the additions folder before any index names them, so a crash in between leaves the
    catalog knowing images no index holds (harmless; a retry finds them with the same pixels), never the
    reverse. Nothing is published unless every index could be staged.
    """
    with update_lock(store):
        staged = stage_updates(store, changes)
        try:
            images = {i.image_id: i for change in changes for i in change.images}
            additions.add(catalog, list(images.values()))
        except BaseException:
            discard(staged)
            raise
        return publish(store, staged)


@contextmanager
def update_lock(store: ArtifactStore) -> Iterator[None]:
    """One catalog update at a time per artifact store, across processes (server workers, the command line):
    two updates of the same index would otherwise both write version V+1."""
    path = store.root / "index" / LOCK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def update_index_artifact(
    store: ArtifactStore,
    ref: ArtifactRef | str,
    additions_root: Path,
    *,
    add: Path | None = None,
    remove: Sequence[str] = (),
) -> Manifest:
    """The next version of one index: images from `add` (a folder or list file) embedded by its encoder and
    added, `remove` tombstoned; the images are stored in the catalog's additions under `additions_root`."""
    ref = ArtifactRef.parse(ref) if isinstance(ref, str) else ref
    manifest = store.manifest("index", ref)
    if manifest.encoder is None:
        raise IndexUpdateError(f"index {ref} does not record the encoder it was built with; rebuild it")
    additions = CatalogAdditions(additions_dir(additions_root, manifest.catalog))
    catalog = extend_catalog(load_catalog(manifest.catalog), additions)
    images = read_new_images(add, catalog) if add is not None else []
    vectors = np.zeros((0, manifest.dim), dtype=np.float32)
    if images:
        vectors = load_encoder(store, manifest.encoder).embed([i.pixels for i in images])
    return apply_updates(store, [IndexChange(ref, images, vectors, remove)], catalog, additions)[0]


def png_sha256(pixels: np.ndarray) -> str:
    """sha256 of the image as the PNG the catalog stores and serves."""
    return hashlib.sha256(encode_png(pixels)).hexdigest()
