"""Augmented training views of stored images, and the learning-rate schedule both training loops use."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from search_core.training.augment import AugmentConfig, augment


def augmented_views(
    images: torch.Tensor, config: AugmentConfig, generator: torch.Generator, input_size: int, device: torch.device
) -> torch.Tensor:
    """uint8 `(N, C, S, S)` → one random view of each as floats in [0, 1], `(N, C, input_size, input_size)`."""
    x = augment(images.to(device, non_blocking=True).float().div_(255.0), config, generator)
    if x.shape[-1] != input_size:  # stored small (e.g. 28 px), trained large (e.g. 224 px)
        x = F.interpolate(x, size=input_size, mode="bilinear", align_corners=False)
    return x.contiguous(memory_format=torch.channels_last)


def warmup_cosine(total_steps: int, warmup_fraction: float) -> Callable[[int], float]:
    """LambdaLR factor: linear warm-up over `warmup_fraction` of the steps, then cosine decay to 0."""
    warmup = max(int(total_steps * warmup_fraction), 1)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(total_steps - warmup, 1)
        return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))

    return factor
