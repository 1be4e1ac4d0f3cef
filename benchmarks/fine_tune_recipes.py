"""Fine-tune recipes compared on the validation split (never the test queries), seeds side by side.

Each variant is the default `FineTuneConfig` with some fields replaced; each is trained from the same
parent on the same click pairs for every seed, and scored on the catalog's validation split (5,000
Fashion-MNIST training images no encoder trains on and no simulated user searches with). Nothing is
published. This is where the recipe's choices in `FineTuneConfig` come from (BENCHMARKS.md, "The loop").

    .venv/bin/python -P benchmarks/fine_tune_recipes.py ARTIFACTS_DIR cnn@1 PAIRS.jsonl \\
        --seeds 0 1 --variant default --variant whitened:projection=whitened --variant e8:epochs=8
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch

from search_core.artifacts import ArtifactStore
from search_core.catalog import Catalog, load_catalog
from search_core.encoders import load_encoder
from search_core.pairs import read_pairs
from search_core.training import ClickGroups, FineTuneConfig, click_groups
from search_core.training.data import training_images
from search_core.training.fine_tune import training_pairs
from search_core.training.group_loop import fit_groups
from search_core.training.train import parent_module, storage_size, torch_threads
from search_core.validation import embed_ids, validation_metrics

KEYS = ("validation_precision@10", "validation_mrr@10", "validation_ndcg@10")


def variant(text: str) -> tuple[str, dict[str, object]]:
    """`name:key=value,key=value` (values parsed as JSON when they parse, else strings)."""
    name, _, spec = text.partition(":")
    changes: dict[str, object] = {}
    for item in filter(None, spec.split(",")):
        key, _, raw = item.partition("=")
        try:
            changes[key] = json.loads(raw)
        except json.JSONDecodeError:
            changes[key] = raw
    return name, changes


def oracle_groups(groups: ClickGroups, catalog: Catalog) -> tuple[tuple[str, ...], ...]:
    """The grouped images regrouped by true class: what perfect grouping of the same clicks would give."""
    images = [i for g in groups.groups for i in g]
    by_class: dict[int, list[str]] = {}
    for image_id, label in zip(images, catalog.labels_for(images).tolist(), strict=True):
        by_class.setdefault(label, []).append(image_id)
    return tuple(tuple(members) for members in by_class.values() if len(members) >= 2)


def describe(groups: ClickGroups, catalog: Catalog) -> str:
    """Groups, images, the largest sizes and the purity (share of each group's images in its majority class,
    image-weighted): a diagnostic that reads the labels, never an input to training."""
    majority = sum(int(np.bincount(catalog.labels_for(list(g))).max()) for g in groups.groups)
    sizes = sorted((len(g) for g in groups.groups), reverse=True)
    return (f"{len(groups)} groups over {groups.images} images (largest {sizes[:5]}), "
            f"purity {majority / max(groups.images, 1):.3f}, {groups.split_components} components split")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("artifacts", type=Path)
    parser.add_argument("parent")
    parser.add_argument("pairs", type=Path)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--variant", action="append", default=[], help="name:key=value,... (default: 'default')")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument(
        "--oracle", action="store_true",
        help="Also train on oracle groups: the same clicked images grouped by their true class (a ceiling).",
    )  # fmt: skip
    args = parser.parse_args()
    store = ArtifactStore(args.artifacts)
    parent = store.manifest("encoder", args.parent)
    catalog = load_catalog(parent.catalog)
    usable, held_out, unknown = training_pairs(read_pairs(args.pairs), catalog)
    print(f"{args.pairs}: {len(usable)} training pairs ({held_out} held out, {unknown} outside the catalog)")
    with torch_threads(args.threads):
        parent_scores = validation_metrics(catalog, partial(embed_ids, load_encoder(store, parent.ref).module, catalog))
        print(f"parent {parent.ref}: " + "  ".join(f"{k} {parent_scores[k]:.4f}" for k in KEYS), flush=True)
        module, _ = parent_module(store, parent)
        images = training_images(catalog, storage_size(catalog, module.input_size), module.channels)
        row = {image_id: i for i, image_id in enumerate(catalog.train_ids)}
        rows: dict[str, list[dict[str, float]]] = {}
        runs = [(name, changes, False) for name, changes in map(variant, args.variant or ["default"])]
        runs += [(f"{name} (oracle groups)", changes, True) for name, changes, _ in runs if args.oracle]
        for name, changes, oracle in runs:
            config = dataclasses.replace(FineTuneConfig(), **changes)  # type: ignore[arg-type]
            groups = click_groups(usable, community_above=config.community_above,
                                  split_communities=config.split_communities, seed=0)  # fmt: skip
            if oracle:
                groups = dataclasses.replace(groups, groups=oracle_groups(groups, catalog))
            group_rows = [torch.tensor([row[i] for i in g]) for g in groups.groups]
            print(f"{name}: {describe(groups, catalog)}", flush=True)
            for seed in args.seeds:
                torch.manual_seed(seed)
                module, _ = parent_module(store, parent)
                started = time.perf_counter()
                fit_groups(module, images, group_rows, dataclasses.replace(config, seed=seed),
                           torch.Generator().manual_seed(seed))  # fmt: skip
                seconds = time.perf_counter() - started
                scores = validation_metrics(catalog, partial(embed_ids, module.cpu(), catalog))
                rows.setdefault(name, []).append(scores)
                print(f"{name} seed {seed}: {len(groups)} groups / {groups.images} images, {seconds:.0f} s, "
                      + "  ".join(f"{k} {scores[k]:.4f}" for k in KEYS), flush=True)  # fmt: skip
    print(f"\n| variant | {' | '.join(k.removeprefix('validation_') for k in KEYS)} |")
    print("|---|" + "---|" * len(KEYS))
    for name, runs in rows.items():
        cells = []
        for key in KEYS:
            values = [r[key] for r in runs]
            spread = (max(values) - min(values)) / 2
            cells.append(f"{statistics.mean(values):.4f} ± {spread:.4f}")
        print(f"| {name} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
