"""The loop's versions under the full protocol, several seeds: mean ± spread per version (BENCHMARKS.md).

Takes a finished `vsx demo` (its artifacts folder and the versions it made, e.g. cnn@1 cnn@2 cnn@3) and
re-runs the offline half of the loop with other seeds on the same inputs: v1 trained with the demo's
config, each later version fine-tuned from this seed's previous version on the same click-pairs file the
demo used (both read from the manifests). The demo's own versions are seed 0's. Every version is scored
on the validation split and on the test protocol: all 10,000 test queries against the 60,000-image gallery,
exact cosine search, relevance = same class (what `vsx eval --queries 0` measures with a Flat index).
`--ceiling P` adds each version's share of the supervised ceiling's gain over raw pixels
(`benchmarks/supervised_ceiling.py`).

    .venv/bin/python -P benchmarks/loop_seeds.py ARTIFACTS_DIR cnn@1 cnn@2 cnn@3 --seeds 0 1 [--ceiling 0.9]
"""

from __future__ import annotations

import argparse
import statistics
import time
from functools import partial
from pathlib import Path
from typing import Any

from search_core.artifacts import ArtifactRef, ArtifactStore, Manifest
from search_core.catalog import load_catalog
from search_core.encoders import load_encoder
from search_core.training import AugmentConfig, FineTuneConfig, TrainConfig, fine_tune_encoder, train_encoder
from search_core.validation import embed_ids, exact_metrics, validation_metrics

KEYS = ("precision@10", "mrr@10", "ndcg@10", "validation_precision@10")


def config_of(manifest: Manifest, seed: int) -> TrainConfig | FineTuneConfig:
    """The training config a manifest recorded, with another seed."""
    recorded: dict[str, Any] = dict(manifest.training["config"])
    augment = AugmentConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in recorded.pop("augment").items()})
    kind = FineTuneConfig if manifest.pairs else TrainConfig
    return kind(**{**recorded, "augment": augment, "seed": seed})


def scores(store: ArtifactStore, ref: ArtifactRef) -> dict[str, float]:
    catalog = load_catalog(store.manifest("encoder", ref).catalog)
    embed = partial(embed_ids, load_encoder(store, ref).module, catalog)
    return {**exact_metrics(catalog, embed, catalog.query_ids, catalog.gallery_ids),
            **validation_metrics(catalog, embed)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("artifacts", type=Path)
    parser.add_argument("versions", nargs="+", help="The demo's chain, oldest first (v1 trained, later fine-tuned).")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--pixels", default="pixels@1", help="The raw-pixel baseline's artifact.")
    parser.add_argument("--ceiling", type=float, help="The supervised ceiling's test P@10.")
    args = parser.parse_args()
    store = ArtifactStore(args.artifacts)
    chain = [store.manifest("encoder", v) for v in args.versions]
    catalog = load_catalog(chain[0].catalog)
    table: dict[str, list[dict[str, float]]] = {}
    pixels = scores(store, ArtifactRef.parse(args.pixels))
    for seed in args.seeds:
        parent: ArtifactRef | None = None
        for step, manifest in enumerate(chain):
            config = config_of(manifest, seed)
            started = time.perf_counter()
            if seed == manifest.training["config"]["seed"] and (
                parent is None or parent.version == manifest.parent_version
            ):
                ref = manifest.ref  # the demo's own version
            elif isinstance(config, TrainConfig):
                ref = train_encoder(store, name=f"{manifest.name}-seed{seed}", catalog=catalog, config=config).ref
            else:
                assert manifest.pairs is not None and parent is not None
                made = fine_tune_encoder(store, name=f"{manifest.name}-seed{seed}", catalog=catalog, config=config,
                                         parent=parent, pairs_path=Path(manifest.pairs.path))  # fmt: skip
                ref = made.ref
            result = scores(store, ref)
            table.setdefault(f"v{step + 1}", []).append(result)
            print(f"seed {seed} v{step + 1} = {ref} ({time.perf_counter() - started:.0f} s): "
                  + "  ".join(f"{k} {result[k]:.4f}" for k in KEYS), flush=True)  # fmt: skip
            parent = ref
    share = f" | share of ceiling (P@10 over pixels' {pixels['precision@10']:.4f})" if args.ceiling else ""
    print(f"\n| version | {' | '.join(KEYS)}{share} |\n|---|" + "---|" * (len(KEYS) + bool(args.ceiling)))
    print(f"| raw pixels | {' | '.join(f'{pixels[k]:.4f}' if k in pixels else '—' for k in KEYS)} |")
    for version, runs in table.items():
        cells = []
        for key in KEYS:
            values = [r[key] for r in runs]
            cells.append(f"{statistics.mean(values):.4f} ± {(max(values) - min(values)) / 2:.4f}")
        if args.ceiling:
            gain = statistics.mean(r["precision@10"] for r in runs) - pixels["precision@10"]
            cells.append(f"{gain / (args.ceiling - pixels['precision@10']):.0%}")
        print(f"| {version} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
