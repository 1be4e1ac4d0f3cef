"""Training configurations: one frozen dataclass, three presets (`TRAIN_CONFIGS`).

Measured on Fashion-MNIST (gallery = 60 000 train images, queries = 10 000 test images, relevant =
same class, exact cosine search), 2 cores, idle machine:

| encoder                                          | P@10   | MRR@10 | nDCG@10 | train wall |
|--------------------------------------------------|--------|--------|---------|------------|
| raw pixels                                       | 0.8126 | 0.8985 | 0.8212  | -          |
| "quick" (1 epoch)                                | 0.8261 | 0.9026 | 0.8325  | 77 s       |
| "cpu" (6 epochs)                                 | 0.8328 | 0.9083 | 0.8394  | 528 s      |
| pure SimCLR, 6 epochs (neighbour_prob=0)         | 0.8270 | 0.9058 | 0.8340  | ~6 min     |
| "cpu" + 2 epochs fine-tuning, no pairs           | 0.8283 | 0.9060 | 0.8350  |            |
| "cpu" + 2 epochs fine-tuning with 20k click pairs| 0.8508 | 0.9185 | 0.8567  |            |
| "cpu" + 2 epochs with 11k pairs (`demo --large`) | 0.8417 | 0.9129 | 0.8478  | 277 s      |
| the same with 37k pairs (+ the interleaving run's)| 0.8415 | 0.9138 | 0.8479  |            |
| 11k pairs, pair_weight 8                         | 0.8435 | 0.9147 | 0.8496  | 504 s      |
| 11k pairs, pair_fraction 0.75, pair_weight 4     | 0.8445 | 0.9152 | 0.8510  | 733 s      |
| 11k pairs, loss on the backbone (no head)        | 0.8031 | 0.8851 | 0.8093  | 451 s      |
| 11k pairs, lr 5e-4                               | 0.8371 | 0.9095 | 0.8434  | 512 s      |
| 11k oracle pairs (random same-class image)       | 0.8517 | 0.9194 | 0.8578  | 342 s      |
| 11k hard pairs (same class, v1's ranks 11-100)   | 0.8371 | 0.9096 | 0.8433  | 325 s      |

- "cpu": small CNN at 28 px, 6 epochs of 60 000 anchors: 528 s of training, 9 min 18 s with data
  preparation and neighbour mining (`vsx train --config cpu`, 2026-12-05; earlier runs measured ~6 min
  and, for 8 epochs, 458 s, no better). More epochs, more neighbour positives or a lower temperature all plateau at
  P@10 ≈ 0.833 for this network; click pairs are what moves it further.
- Fine-tuning with click pairs (the last rows; fifth session, wall times under other load) plateaus near
  P@10 0.84-0.845 whatever the recipe: more pairs, heavier or more frequent pairs move it by less than 0.003,
  a gentler rate loses 0.005. The pairs are 99.6 % same-class but easy: a user can only click what the parent
  already ranked in its top 10, so they mostly confirm what it knows. Two ceilings (seventh session, same
  queries and count as the click pairs): pairs with a *random* image of the query's class — what perfect
  labels would give — reach 0.8517, so two epochs of this network cannot take much more from 11k pairs of
  any kind; pairs with same-class results v1 itself ranked 11-100 — what exploration slots would let users
  click — reach only 0.8371: such far-off same-class images are the atypical ones. Skips above a satisfied
  click are no better as negatives: 90 % of them are same-class results the user simply did not pick
  (`vsx demo --large`'s first experiment).
- "quick": the same recipe for one epoch, a 1-2 minute demo run that still beats raw pixels.
- "gpu": ResNet-50 at 224 px with bf16 autocast, `torch.compile` and a larger batch; for a CUDA
  machine (written to run there, not exercised on CI).
A preset is a starting point: `dataclasses.replace(config, epochs=3)` (or `vsx train --epochs 3`).
On a small catalog an epoch is a few batches: give it proportionally more epochs.
The whole config is stored in the encoder manifest, so a version can be retrained exactly.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from search_core.errors import TrainingError
from search_core.training.augment import AugmentConfig


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run besides data and seed-free hardware."""

    encoder: str = "small_cnn"
    encoder_kwargs: Mapping[str, Any] = field(default_factory=lambda: {"width": 16, "pool": 7})
    """Architecture arguments besides dim, input size and channels (e.g. `weights` for torchvision models)."""
    dim: int = 128
    input_size: int = 28
    epochs: int = 6
    batch_size: int = 512
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup_fraction: float = 0.05
    temperature: float = 0.15
    projection_dim: int | None = 128
    """Output size of the training-only MLP head the loss sees; None puts the loss on the backbone features."""
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    neighbour_prob: float = 0.5
    """Probability that an anchor's positive is a mined nearest neighbour rather than itself."""
    neighbours: int = 5
    neighbour_refresh: int = 2
    """Re-mine neighbours with the model being trained every this many epochs (0: keep the initial ones)."""
    seed: int = 0
    threads: int | None = None
    """torch CPU threads; None = all cores."""
    device: str = "cpu"
    autocast_bf16: bool = False
    compile: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-shaped (tuples as lists): equal to what a manifest's `training.config` reads back."""
        return json.loads(json.dumps(asdict(self), default=dict))


TRAIN_CONFIGS: dict[str, TrainConfig] = {
    "cpu": TrainConfig(),
    "quick": TrainConfig(epochs=1),
    "gpu": TrainConfig(
        encoder="resnet50",
        encoder_kwargs={},
        dim=256,
        input_size=224,
        epochs=50,
        batch_size=1024,
        lr=1e-3,
        temperature=0.1,
        projection_dim=256,
        device="cuda",
        autocast_bf16=True,
        compile=True,
    ),
}


def train_config(name: str) -> TrainConfig:
    """A preset by name; `TrainingError` lists the presets."""
    if name not in TRAIN_CONFIGS:
        raise TrainingError(f"unknown training config {name!r}; known: {', '.join(sorted(TRAIN_CONFIGS))}")
    return TRAIN_CONFIGS[name]


@dataclass(frozen=True)
class FineTuneConfig:
    """A fine-tune of a parent encoder on click groups (`fine_tune_encoder`); chosen on the validation split.

    Batches hold `groups_per_batch` groups × `per_group` images (one view each; a group smaller than that
    is drawn with replacement, so its repeats are augmentation positives) plus `anchors` random training
    images with two views each, whose only positive is their other view; their terms weigh
    `anchor_weight` (they keep the embedding smooth where no one clicked). The supervised-contrastive
    loss (Khosla et al. 2020, pytorch-metric-learning's `SupConLoss`) sees the 128-d search layer itself,
    initialised from the parent, so nothing it learns is thrown away with a training-only head.
    """

    epochs: int = 4
    """Passes over the grouped images (each batch draws groups with probability ∝ their size)."""
    groups_per_batch: int = 96
    per_group: int = 4
    anchors: int = 64
    anchor_weight: float = 0.2
    lr_backbone: float = 3e-4
    lr_head: float = 1e-3
    weight_decay: float = 1e-4
    warmup_fraction: float = 0.05
    temperature: float = 0.1
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    projection: str = "learned"
    """"learned": the search layer as trained; "whitened": then whitened by the groups' within-group spread;
    "discriminant": replaced by the groups' discriminant projection of the backbone features."""
    whitening_shrinkage: float = 0.1
    discriminant_pca: int = 512
    """"discriminant" projection: backbone features are first reduced to this many principal components."""
    community_above: int = 1000
    """Click-graph components larger than this are split into Louvain communities (`click_groups`)."""
    seed: int = 0
    threads: int | None = None
    device: str = "cpu"

    def to_dict(self) -> dict[str, Any]:
        """JSON-shaped (tuples as lists): equal to what a manifest's `training.config` reads back."""
        return json.loads(json.dumps(asdict(self), default=dict))
