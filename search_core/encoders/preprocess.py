"""Model input: catalog or uploaded images (any size, grey or RGB) as one uint8 batch at the encoder's size."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

# Read-only (memory-mapped) catalog arrays become tensor views: nothing here writes to them (resizing makes new
# tensors), so torch's warning about non-writable arrays is silenced once, at import, rather than a copy made.
# (A per-call `warnings.catch_warnings` would cost every query and is not thread-safe in a threaded server.)
warnings.filterwarnings("ignore", message="The given NumPy array is not writable", category=UserWarning)


def resize_batch(images: Sequence[np.ndarray] | np.ndarray, size: int, channels: int) -> torch.Tensor:
    """Images of any size and colour as one uint8 tensor `(N, channels, size, size)`.

    Images are squashed to a square, not cropped: a product photo keeps all of the product, and
    the encoder sees the same distortion at indexing and query time. Grey images get their channel
    replicated for RGB models; RGB images become luma (ITU-R 601) for grey models. A stacked array of
    equal-sized images is resized in one vectorised call (the common case: a whole catalog).
    """
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, not {channels}")
    if isinstance(images, np.ndarray) and images.dtype == np.uint8 and images.ndim in (3, 4):
        return _resize_stacked(torch.from_numpy(images), size, channels)
    if len(images) == 0:
        return torch.empty((0, channels, size, size), dtype=torch.uint8)
    return torch.cat([_resize_stacked(torch.from_numpy(np.asarray(im))[None], size, channels) for im in images])


def _resize_stacked(batch: torch.Tensor, size: int, channels: int) -> torch.Tensor:
    """`(N, H, W)` or `(N, H, W, 3)` uint8 → `(N, channels, size, size)` uint8."""
    x = batch[:, None] if batch.ndim == 3 else batch.permute(0, 3, 1, 2)
    if x.shape[1] != channels:
        x = _luma(x) if channels == 1 else x.expand(-1, 3, -1, -1)
    if x.shape[-2:] == (size, size):
        return x.contiguous()
    resized = F.interpolate(x.float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return resized.round_().clamp_(0, 255).to(torch.uint8)


def _luma(rgb: torch.Tensor) -> torch.Tensor:
    weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    return (rgb.float() * weights).sum(1, keepdim=True).round_().clamp_(0, 255).to(torch.uint8)
