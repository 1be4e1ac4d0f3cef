"""Encoders: image → L2-normalised embedding. A registry of architectures and the loaded-artifact wrapper."""

from search_core.encoders.encoder import Encoder, embed_batch, load_encoder, save_encoder
from search_core.encoders.preprocess import resize_batch
from search_core.encoders.registry import ENCODERS, EncoderSpec

__all__ = ["ENCODERS", "Encoder", "EncoderSpec", "embed_batch", "load_encoder", "resize_batch", "save_encoder"]
