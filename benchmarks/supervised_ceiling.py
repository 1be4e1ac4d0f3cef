"""The supervised ceiling: the loop's network trained with SupCon on the true labels, the same CPU budget.

What the small CNN can reach if every training image's class were known: the loop's encoders are reported
as a share of this (BENCHMARKS.md, "The loop"). The network is the `cpu` preset's small CNN at 28 px; it is
trained from random weights for as many augmented views as the preset's self-supervised v1 sees (6 epochs ×
55,000 images × 2 views), in batches of whole classes (`GroupSampler` with the ten classes as groups, 1,020
images a batch), with pytorch-metric-learning's `SupConLoss` on the 128-d search layer and the fine-tune's
two learning rates raised to the from-scratch rate. `--from ENC@V` instead fine-tunes an existing encoder
with the click recipe (`FineTuneConfig`) on all true labels: what v2 could reach with perfect, complete clicks.
Scores: the validation split, and the test protocol (all 10,000 test queries against the 60,000-image
gallery, exact search) — the ceiling is a reported number, so the test queries are looked at once per run.

    .venv/bin/python -P benchmarks/supervised_ceiling.py --seeds 0 1
    .venv/bin/python -P benchmarks/supervised_ceiling.py --artifacts DIR --from cnn@1 --seeds 0 1 [--epochs 12]
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import statistics
import time
from functools import partial
from pathlib import Path

import torch

from search_core.artifacts import ArtifactStore
from search_core.catalog import load_catalog
from search_core.encoders import EncoderSpec
from search_core.training import TRAIN_CONFIGS, FineTuneConfig
from search_core.training.data import training_images
from search_core.training.group_loop import fit_groups
from search_core.training.train import parent_module, torch_threads
from search_core.validation import embed_ids, exact_metrics, validation_metrics

V1_VIEWS = 6 * 55_000 * 2
"""Augmented views the `cpu` preset's v1 trains on: the budget the ceiling gets from scratch."""
FROM_SCRATCH = FineTuneConfig(
    groups_per_batch=10, per_group=102, anchors=0, lr_backbone=2e-3, lr_head=2e-3, temperature=0.1
)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--artifacts", type=Path, help="Artifacts folder holding --from.")
    parser.add_argument("--from", dest="parent", help="Fine-tune this encoder on all labels instead.")
    parser.add_argument("--epochs", type=int, default=FineTuneConfig().epochs, help="Fine-tune epochs (with --from).")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    catalog = load_catalog("fashion-mnist")
    preset = TRAIN_CONFIGS["cpu"]
    labels = catalog.labels_for(catalog.train_ids)
    groups = [torch.from_numpy((labels == k).nonzero()[0]) for k in range(len(catalog.class_names))]
    results = []
    with torch_threads(args.threads):
        images = training_images(catalog, preset.input_size, 1)
        for seed in args.seeds:
            torch.manual_seed(seed)
            if args.parent:
                module, _ = parent_module(ArtifactStore(args.artifacts), ArtifactStore(args.artifacts).manifest(
                    "encoder", args.parent))  # fmt: skip
                config = dataclasses.replace(FineTuneConfig(), epochs=args.epochs, seed=seed)
            else:
                spec = EncoderSpec(preset.encoder, {"dim": preset.dim, "input_size": preset.input_size, "channels": 1,
                                                    **preset.encoder_kwargs})  # fmt: skip
                module = spec.build()
                epochs = round(V1_VIEWS / len(images))  # a GroupSampler epoch draws every image about once
                config = dataclasses.replace(FROM_SCRATCH, epochs=epochs, seed=seed)
            started, cpu = time.perf_counter(), cpu_seconds()
            fit_groups(module, images, groups, config, torch.Generator().manual_seed(seed))
            wall, cpu = time.perf_counter() - started, cpu_seconds() - cpu
            embed = partial(embed_ids, module.cpu(), catalog)
            scores = {
                **validation_metrics(catalog, embed),
                **exact_metrics(catalog, embed, catalog.query_ids, catalog.gallery_ids),
            }
            results.append(scores)
            print(f"seed {seed}: {config.epochs} epochs, {wall:.0f} s wall, {cpu:.0f} s CPU: "
                  + "  ".join(f"{k} {v:.4f}" for k, v in scores.items()), flush=True)  # fmt: skip
    print(f"\nsupervised ceiling ({'from ' + args.parent if args.parent else 'from scratch'}), "
          f"{len(results)} seeds, mean ± half-range:")  # fmt: skip
    for key in results[0]:
        values = [r[key] for r in results]
        print(f"  {key}: {statistics.mean(values):.4f} ± {(max(values) - min(values)) / 2:.4f}")


if __name__ == "__main__":
    main()
