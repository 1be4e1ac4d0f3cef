"""Batched augmentations for contrastive training, as one affine warp per image (no per-image Python).

Suited to small product shots: random resized crop (zoom in, slight aspect change), horizontal flip,
a few degrees of rotation, a little brightness and contrast. No colour jitter, blur or solarisation:
on 28 px greyscale images they destroy the very details (texture, collar, heel) that tell classes apart.
Images are floats in [0, 1], shape `(N, C, S, S)`; the warp samples with border replication, so a
rotated image never gets black corners on a white background.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class AugmentConfig:
    """Ranges of the random transforms (all sampled independently per image)."""

    crop_scale: tuple[float, float] = (0.6, 1.0)
    """Area of the crop relative to the image."""
    crop_ratio: tuple[float, float] = (3 / 4, 4 / 3)
    """Aspect ratio of the crop (log-uniform)."""
    hflip: float = 0.5
    rotate_degrees: float = 10.0
    brightness: float = 0.2
    """Multiply by a factor in [1 - b, 1 + b]."""
    contrast: float = 0.2
    """Scale deviations from the image mean by a factor in [1 - c, 1 + c]."""


def augment(x: torch.Tensor, config: AugmentConfig, generator: torch.Generator) -> torch.Tensor:
    """One random view of every image in `x` (floats in [0, 1], `(N, C, S, S)`); returns the same shape."""
    n = x.shape[0]

    def uniform(low: float, high: float) -> torch.Tensor:  # drawn on the CPU generator: same views on any device
        return (torch.rand(n, generator=generator) * (high - low) + low).to(x.device)

    area = uniform(*config.crop_scale)
    log_ratio = uniform(math.log(config.crop_ratio[0]), math.log(config.crop_ratio[1]))
    scale_x = torch.sqrt(area * torch.exp(log_ratio)).clamp(max=1.0)
    scale_y = torch.sqrt(area / torch.exp(log_ratio)).clamp(max=1.0)
    shift_x = uniform(-1.0, 1.0) * (1.0 - scale_x)  # keep the crop inside the image
    shift_y = uniform(-1.0, 1.0) * (1.0 - scale_y)
    angle = uniform(-config.rotate_degrees, config.rotate_degrees) * (math.pi / 180.0)
    flip = torch.where(uniform(0.0, 1.0) < config.hflip, -1.0, 1.0)
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.stack(
        [
            torch.stack([cos * scale_x * flip, -sin * scale_y, shift_x], dim=1),
            torch.stack([sin * scale_x * flip, cos * scale_y, shift_y], dim=1),
        ],
        dim=1,
    )  # (N, 2, 3): output pixel grid → input coordinates in [-1, 1]
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    brightness = uniform(1 - config.brightness, 1 + config.brightness).view(n, 1, 1, 1)
    contrast = uniform(1 - config.contrast, 1 + config.contrast).view(n, 1, 1, 1)
    mean = out.mean(dim=(1, 2, 3), keepdim=True)
    return ((out - mean) * contrast + mean * brightness).clamp_(0.0, 1.0)
