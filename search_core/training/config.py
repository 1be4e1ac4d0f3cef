"""Training configurations: one frozen dataclass, three presets (`TRAIN_CONFIGS`).

- "cpu": small CNN at 28 px on two cores, within 10 minutes on Fashion-MNIST.
- "quick": the same recipe for a 1-2 minute demo run.
- "gpu": ResNet-50 at 224 px with bf16 autocast and a larger batch; runs where CUDA is (not on CI).
A preset is a starting point: `dataclasses.replace(config, epochs=3)` (or `vsx train --epochs 3`).
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
    epochs: int = 8
    batch_size: int = 512
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup_fraction: float = 0.05
    temperature: float = 0.15
    projection_dim: int | None = 128
    """Output size of the training-only MLP head the loss sees; None puts the loss on the embedding itself."""
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    neighbour_prob: float = 0.5
    """Probability that an anchor's positive is a mined nearest neighbour rather than itself."""
    neighbours: int = 5
    neighbour_refresh: int = 2
    """Re-mine neighbours with the model being trained every this many epochs (0: keep the initial ones)."""
    pair_fraction: float = 0.25
    """Share of each batch given to click pairs when a pairs file is used."""
    pair_weight: float = 1.0
    """Loss weight of a click-pair positive relative to an augmentation or neighbour positive."""
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
    "quick": TrainConfig(epochs=2),
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
