"""A small CNN for CPU training at native resolution (28-64 px)."""

from __future__ import annotations

import torch
from torch import nn

from search_core.encoders.layers import GREY_MEAN, GREY_STD, IMAGENET_MEAN, IMAGENET_STD, Normalize, conv_block
from search_core.encoders.module import TrainableEncoder


class SmallCNN(TrainableEncoder):
    """Three conv stages (width w, 2w, 4w; max-pool between) → adaptive pool to `pool`x`pool` → linear to `dim`.

    Spatial pooling to a grid rather than one global average keeps *where* things are: catalog
    images are centred product shots, and layout (sleeve or not, heel or not) is much of similarity.
    Costs ~`1.1 * w**2` kFLOPs per 28x28 image (training speed: BENCHMARKS.md, "The loop").
    """

    def __init__(self, dim: int = 128, channels: int = 1, input_size: int = 28, width: int = 16, pool: int = 7) -> None:
        super().__init__()
        self.dim, self.channels, self.input_size = dim, channels, input_size
        mean, std = (GREY_MEAN, GREY_STD) if channels == 1 else (IMAGENET_MEAN, IMAGENET_STD)
        self.features = nn.Sequential(
            Normalize(mean, std),
            conv_block(channels, width),
            nn.MaxPool2d(2),
            conv_block(width, 2 * width),
            nn.MaxPool2d(2),
            conv_block(2 * width, 4 * width),
            nn.AdaptiveAvgPool2d(pool),
            nn.Flatten(),
        )
        self.embedding = nn.Linear(4 * width * pool * pool, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """`(N, channels, S, S)` floats in [0, 1] → `(N, dim)` embeddings (not yet L2-normalised)."""
        return self.embedding(self.features(x))
