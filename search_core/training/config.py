"""Training configurations: `TrainConfig` (self-supervised, four presets) and `FineTuneConfig` (click groups).

- "cpu": the small CNN at 28 px, 6 epochs of SimCLR-style NT-Xent with augmentation and mined-neighbour
  positives, within the 10-minute training goal on two cores; self-supervision alone plateaus for this
  network (more epochs, more neighbour positives or a lower temperature do not move it), so what users
  click is what teaches it more (BENCHMARKS.md, "Search quality").
- "quick": the same recipe for one epoch, for the demo.
- "wide": the "cpu" recipe on the small CNN at twice the width (32): four times the FLOPs, still within the
  10-minute training goal. More capacity is what lets clicks teach it more (`vsx demo --large`'s v1; BENCHMARKS.md,
  "The loop").
- "gpu": ResNet-50 at 224 px with bf16 autocast, `torch.compile` and a larger batch; for a CUDA machine
  (written to run there, not exercised on CI).
A preset is a starting point: `dataclasses.replace(config, epochs=3)` (or `vsx train --epochs 3`). On a
small catalog an epoch is a few batches: give it proportionally more epochs. `FineTuneConfig`'s defaults
were chosen on the validation split (`benchmarks/fine_tune_recipes.py`); measurements of both are in
BENCHMARKS.md, "The loop". The whole config is stored in the encoder manifest, so a version can be
retrained exactly.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from search_core.errors import TrainingError
from search_core.training.augment import AugmentConfig
from search_core.training.click_groups import COMMUNITY_ABOVE


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
    "wide": TrainConfig(encoder_kwargs={"width": 32, "pool": 7}),
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
    initialised from the parent, so nothing it learns is thrown away with a training-only head; the layer is
    then whitened by the groups (`group_whitening`), which is most of the gain when groups are small. The
    learning rates are about three times the usual fine-tuning rates (3e-4 / 1e-3): that scored better on the
    validation split over two seeds (BENCHMARKS.md, "The loop").
    """

    epochs: int = 4
    """Passes over the grouped images (each batch draws groups with probability ∝ their size)."""
    groups_per_batch: int = 96
    per_group: int = 4
    anchors: int = 64
    anchor_weight: float = 0.2
    lr_backbone: float = 1e-3
    lr_head: float = 3e-3
    weight_decay: float = 1e-4
    warmup_fraction: float = 0.05
    temperature: float = 0.1
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    projection: str = "whitened"
    """"whitened": the trained search layer whitened by the groups' within-group spread; "learned": as trained."""
    whitening_shrinkage: float = 0.1
    community_above: int = COMMUNITY_ABOVE
    """Click-graph components larger than this are split into Louvain communities (`click_groups`)."""
    split_communities: bool = True
    """Communities still larger than `community_above` are split again (`click_groups`); chosen on the validation
    split (BENCHMARKS.md, "The loop"). False keeps Louvain's communities whole, however large."""
    seed: int = 0
    threads: int | None = None
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.projection not in PROJECTIONS:
            raise TrainingError(f"unknown projection {self.projection!r}; known: {', '.join(PROJECTIONS)}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-shaped (tuples as lists): equal to what a manifest's `training.config` reads back."""
        return json.loads(json.dumps(asdict(self), default=dict))


PROJECTIONS = ("learned", "whitened")
