"""torchvision backbones (ResNet-18/50, ViT-B/16) with their classifier replaced by a linear layer to `dim`.

Weights are random unless `weights` names a local file (a torchvision state dict, e.g. saved from
`resnet18(weights="IMAGENET1K_V1").state_dict()` on a machine with internet); nothing is downloaded.
The file's classifier (`fc.*`, `heads.*`) is ignored since it is replaced; any other key that does not
fit is a `WeightsFileError`. Below 64 px a ResNet gets the CIFAR stem (3x3 stride-1 conv, no max-pool):
the ImageNet stem would shrink a 28 px image to 1x1 before the first residual block.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
import torchvision
from torch import nn

from search_core.encoders.layers import IMAGENET_MEAN, IMAGENET_STD, Normalize
from search_core.encoders.module import TrainableEncoder
from search_core.errors import EncoderConfigError, WeightsFileError

logger = logging.getLogger(__name__)

SMALL_INPUT = 64
"""At or below this size ResNets use the CIFAR stem."""


class TorchvisionEncoder(TrainableEncoder):
    """ImageNet normalisation → torchvision backbone without classifier (`features`) → linear to `dim`."""

    def __init__(self, backbone: nn.Module, feature_dim: int, dim: int, input_size: int) -> None:
        super().__init__()
        self.dim, self.channels, self.input_size = dim, 3, input_size
        self.features = nn.Sequential(Normalize(IMAGENET_MEAN, IMAGENET_STD), backbone)
        self.embedding = nn.Linear(feature_dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """`(N, 3, S, S)` floats in [0, 1] → `(N, dim)` embeddings (not yet L2-normalised)."""
        return self.embedding(self.features(x))


def resnet18(dim: int = 128, input_size: int = 224, weights: str | None = None) -> TorchvisionEncoder:
    return _resnet("resnet18", dim, input_size, weights)


def resnet50(dim: int = 128, input_size: int = 224, weights: str | None = None) -> TorchvisionEncoder:
    return _resnet("resnet50", dim, input_size, weights)


def vit_b_16(dim: int = 128, input_size: int = 224, weights: str | None = None) -> TorchvisionEncoder:
    """ViT-B/16; `input_size` must be a multiple of 16 (pretrained position embeddings fit 224 only)."""
    if input_size % 16:
        raise EncoderConfigError(f"vit_b_16 needs an input size that is a multiple of 16, not {input_size}")
    model = torchvision.models.vit_b_16(weights=None, image_size=input_size)
    if weights:
        load_weights(model, Path(weights), head_prefix="heads.")
    model.heads = nn.Identity()
    return TorchvisionEncoder(model, model.hidden_dim, dim, input_size)


def _resnet(arch: str, dim: int, input_size: int, weights: str | None) -> TorchvisionEncoder:
    model = getattr(torchvision.models, arch)(weights=None)
    if weights:
        load_weights(model, Path(weights), head_prefix="fc.")
    if input_size <= SMALL_INPUT:
        if weights:
            logger.warning("%s at %d px: the pretrained 7x7 stem is replaced by a fresh 3x3 one", arch, input_size)
        model.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
        model.maxpool = nn.Identity()
    feature_dim = model.fc.in_features
    model.fc = nn.Identity()
    return TorchvisionEncoder(model, feature_dim, dim, input_size)


def load_weights(model: nn.Module, path: Path, *, head_prefix: str) -> None:
    """Load a local state dict into `model`, skipping the classifier; one-line errors name file and cause."""
    if not path.is_file():
        raise WeightsFileError(f"weights file {path} not found (nothing is downloaded here; pass a local file)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises pickle, zip and runtime errors alike for a bad file
        raise WeightsFileError(f"weights file {path} is not a readable torch state dict: {exc}") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise WeightsFileError(f"weights file {path} holds a {type(state).__name__}, not a state dict")
    state = {k: v for k, v in state.items() if not k.startswith(head_prefix)}
    expected = {k for k in model.state_dict() if not k.startswith(head_prefix)}
    missing, unexpected = sorted(expected - state.keys()), sorted(state.keys() - expected)
    if missing or unexpected:
        raise WeightsFileError(
            f"weights file {path} does not fit {type(model).__name__}: "
            f"missing {missing[:3]}{'...' if len(missing) > 3 else ''}, "
            f"unexpected {unexpected[:3]}{'...' if len(unexpected) > 3 else ''}"
        )
    try:
        model.load_state_dict(state, strict=False)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[-1].strip()
        raise WeightsFileError(f"weights file {path} does not fit {type(model).__name__}: {first}") from None
