"""What every registered architecture is, for the type checker and the reader: an `nn.Module` that states
its output size and the input it expects (torch types module attributes as `Tensor | Module`)."""

from __future__ import annotations

from torch import nn


class EncoderModule(nn.Module):
    """Floats in [0, 1] of shape `(N, channels, input_size, input_size)` → `(N, dim)` embeddings."""

    dim: int
    channels: int
    input_size: int


class TrainableEncoder(EncoderModule):
    """`embedding(features(x))`: training shapes `features`, then learns or sets the linear `embedding`."""

    features: nn.Module
    embedding: nn.Linear
