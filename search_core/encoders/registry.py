"""The encoder registry: architecture name → constructor of an `nn.Module`.

Every module takes floats in [0, 1] of shape `(N, channels, input_size, input_size)` and returns
`(N, dim)` embeddings, and exposes `dim`, `channels` and `input_size`; `Encoder` L2-normalises.
Trainable ones are `embedding(features(x))`: contrastive training shapes `features` and then sets
the linear `embedding` to the principal components of the gallery's features (see `training`).
An artifact records the name and constructor arguments (`EncoderSpec`), so loading rebuilds the
module and then loads its state dict.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from search_core.encoders.module import EncoderModule
from search_core.encoders.pixels import PixelsEncoder
from search_core.encoders.small_cnn import SmallCNN
from search_core.encoders.torchvision_models import resnet18, resnet50, vit_b_16
from search_core.errors import EncoderConfigError, UnknownEncoderError

ENCODERS: dict[str, Callable[..., EncoderModule]] = {
    "pixels": PixelsEncoder,
    "resnet18": resnet18,
    "resnet50": resnet50,
    "small_cnn": SmallCNN,
    "vit_b_16": vit_b_16,
}


@dataclass(frozen=True)
class EncoderSpec:
    """An architecture and its constructor arguments, as stored in a manifest (`training.architecture`)."""

    name: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def build(self) -> EncoderModule:
        if self.name not in ENCODERS:
            raise UnknownEncoderError(f"unknown encoder {self.name!r}; known: {', '.join(sorted(ENCODERS))}")
        try:
            return ENCODERS[self.name](**self.kwargs)
        except TypeError as exc:  # an argument this architecture does not take
            raise EncoderConfigError(f"encoder {self.name!r}: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kwargs": dict(self.kwargs)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EncoderSpec:
        return cls(str(data["name"]), dict(data.get("kwargs", {})))
