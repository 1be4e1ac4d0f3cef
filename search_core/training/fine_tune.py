"""From a parent encoder and click pairs to the next encoder version: `fine_tune_encoder`.

Pairs are first held to the training split: a pair touching a query (test) or validation image is
dropped and counted (`pairs_held_out` in the manifest), so no click can carry an evaluation image into
training whatever file it came from. The rest become click groups (`click_groups`), the parent is
fine-tuned on them (`fit_groups`), and the artifact keeps the groups (`click_groups.json`, hashed like the
weights) and their lineage (`training.click_groups`: which experiments, how many pairs and clicks), so
anyone can tell which images an encoder was taught with — online experiments keep those out of traffic.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import torch

from search_core.artifacts import ArtifactRef, ArtifactStore, Manifest, PairsUsed, sha256_file
from search_core.catalog import Catalog
from search_core.encoders.encoder import save_encoder
from search_core.errors import TrainingError
from search_core.pairs import ClickPair, read_pairs
from search_core.training.click_groups import ClickGroups, click_groups
from search_core.training.config import FineTuneConfig
from search_core.training.data import training_images
from search_core.training.group_loop import fit_groups
from search_core.training.train import parent_module, storage_size, torch_threads
from search_core.validation import embed_ids, validation_metrics

logger = logging.getLogger(__name__)

GROUPS_FILE = "click_groups.json"


def fine_tune_encoder(
    store: ArtifactStore,
    *,
    name: str,
    catalog: Catalog,
    config: FineTuneConfig,
    parent: ArtifactRef | str,
    pairs_path: Path,
) -> Manifest:
    """Fine-tune `parent` on the click groups of `pairs_path`; publishes `name@next` (see the module docstring)."""
    parent_manifest = store.manifest("encoder", parent)
    pairs = read_pairs(pairs_path)
    usable, held_out, unknown = training_pairs(pairs, catalog)
    groups = click_groups(
        usable, community_above=config.community_above, split_communities=config.split_communities, seed=config.seed
    )
    if not len(groups):
        raise TrainingError(
            f"pairs file {pairs_path}: no click pairs between training images of catalog {catalog.name!r} "
            f"({len(pairs)} pairs, {held_out} touching query or validation images, {unknown} outside the catalog)"
        )
    with torch_threads(config.threads):
        torch.manual_seed(config.seed)
        generator = torch.Generator().manual_seed(config.seed)
        module, spec = parent_module(store, parent_manifest)
        images = training_images(catalog, storage_size(catalog, module.input_size), module.channels)
        row = {image_id: i for i, image_id in enumerate(catalog.train_ids)}
        rows = [torch.tensor([row[i] for i in group]) for group in groups.groups]
        result = fit_groups(module, images, rows, config, generator)
        validation = validation_metrics(catalog, partial(embed_ids, module.cpu(), catalog))
    logger.info("fine-tuned %s from %s in %.0f s: %s", name, parent_manifest.ref, result.seconds, validation)
    training = {
        "recipe": "supcon on click groups",
        "config": config.to_dict(),
        "parent": str(parent_manifest.ref),
        **result.record(),
        "gallery_images": len(images),
        "pairs_used": len(usable),
        "pairs_held_out": held_out,
        "pairs_skipped": unknown,
        "click_groups": groups.summary(),
    }
    return save_encoder(
        store,
        module,
        spec,
        name=name,
        catalog=catalog.name,
        training=training,
        parent_version=parent_manifest.version,
        pairs=PairsUsed(path=str(pairs_path), sha256=sha256_file(Path(pairs_path)), count=len(pairs)),
        files={GROUPS_FILE: _groups_json(groups)},
        metrics=validation,
    )


def training_pairs(pairs: Sequence[ClickPair], catalog: Catalog) -> tuple[list[ClickPair], int, int]:
    """(pairs between training images, pairs touching a query or validation image, pairs naming unknown images)."""
    train = set(catalog.train_ids)
    usable = [p for p in pairs if p.query_image_id in train and p.result_image_id in train]
    unknown = sum(1 for p in pairs if p.query_image_id not in catalog or p.result_image_id not in catalog)
    held_out = len(pairs) - len(usable) - unknown
    if unknown:
        logger.warning(
            "%d of %d click pairs name images outside catalog %s; skipped", unknown, len(pairs), catalog.name
        )
    if held_out:
        logger.warning("%d of %d click pairs touch query or validation images; held out of training", held_out,
                       len(pairs))  # fmt: skip
    return usable, held_out, unknown


def _groups_json(groups: ClickGroups) -> bytes:
    return json.dumps({"groups": [list(g) for g in groups.groups]}, indent=None).encode()


def trained_images(store: ArtifactStore, ref: ArtifactRef | str) -> set[str]:
    """Every image the clicks of `ref` or of its ancestors grouped: what the encoder was taught with."""
    images: set[str] = set()
    manifest: Manifest | None = store.manifest("encoder", ref)
    while manifest is not None:
        path = store.path("encoder", manifest.ref) / GROUPS_FILE
        if GROUPS_FILE in manifest.files:
            images.update(i for group in json.loads(path.read_bytes())["groups"] for i in group)
        parent = manifest.training.get("parent")
        manifest = store.manifest("encoder", parent) if parent else None
    return images
