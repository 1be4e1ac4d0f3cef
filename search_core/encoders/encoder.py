"""`Encoder`: a loaded encoder artifact that turns images into L2-normalised embeddings.

The fast path for CPU inference, measured in `benchmarks/embed.py`: `inference_mode` (no autograd
bookkeeping), batches of hundreds (one conv call per batch, not per image), channels-last memory
(oneDNN's preferred layout for convolutions) and one vectorised resize per batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from search_core.artifacts import ArtifactRef, ArtifactStore, Manifest, ManifestError, PairsUsed
from search_core.encoders.module import EncoderModule
from search_core.encoders.preprocess import resize_batch
from search_core.encoders.registry import EncoderSpec

WEIGHTS_FILE = "model.pt"


class Encoder:
    """Images in (uint8, grey or RGB, any size), float32 `(N, dim)` unit-length rows out."""

    def __init__(self, module: EncoderModule, manifest: Manifest) -> None:
        self.module = module.eval().to(memory_format=torch.channels_last)
        self.manifest = manifest
        self.ref = manifest.ref
        self.dim = manifest.dim
        self.input_size: int = module.input_size
        self.channels: int = module.channels

    def __repr__(self) -> str:
        return f"Encoder({self.ref}, dim={self.dim}, input={self.channels}x{self.input_size}px)"

    def embed(self, images: Sequence[np.ndarray] | np.ndarray, batch_size: int = 512) -> np.ndarray:
        """Embed a list of images or a stacked array (`(N, H, W)` grey or `(N, H, W, 3)` RGB).

        A single image is a list of one: a 3-d array is always read as a stack of grey images.
        """
        out = np.empty((len(images), self.dim), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(images), batch_size):
                batch = resize_batch(images[start : start + batch_size], self.input_size, self.channels)
                out[start : start + len(batch)] = embed_batch(self.module, batch).numpy()
        return out


def embed_batch(module: nn.Module, batch: torch.Tensor) -> torch.Tensor:
    """uint8 `(N, C, S, S)` → L2-normalised float32 `(N, dim)`; the caller picks grad or inference mode."""
    x = batch.float().div_(255.0).contiguous(memory_format=torch.channels_last)
    return F.normalize(module(x).float(), dim=1)


def load_encoder(store: ArtifactStore, ref: ArtifactRef | str) -> Encoder:
    """Rebuild an encoder artifact (hashes verified first, so serving never runs a tampered model)."""
    manifest = store.manifest("encoder", ref)
    module = build_from_manifest(manifest)
    state = torch.load(store.path("encoder", manifest.ref) / WEIGHTS_FILE, map_location="cpu", weights_only=True)
    module.load_state_dict(state)
    return Encoder(module, manifest)


def build_from_manifest(manifest: Manifest) -> EncoderModule:
    """The (untrained) module an encoder manifest describes."""
    architecture = manifest.training.get("architecture")
    if not isinstance(architecture, Mapping) or "name" not in architecture:
        raise ManifestError(f"encoder {manifest.ref}: manifest has no training.architecture")
    return EncoderSpec.from_dict(architecture).build()


def save_encoder(
    store: ArtifactStore,
    module: EncoderModule,
    spec: EncoderSpec,
    *,
    name: str,
    catalog: str,
    training: Mapping[str, Any],
    parent_version: int | None = None,
    pairs: PairsUsed | None = None,
    files: Mapping[str, bytes] | None = None,
    metrics: Mapping[str, float] | None = None,
) -> Manifest:
    """Publish `module`'s weights (and `files`, hashed alike) as the next version of encoder `name`."""
    ref = ArtifactRef(name, store.next_version("encoder", name))
    staging = store.staging_dir("encoder", ref)
    torch.save(module.state_dict(), staging / WEIGHTS_FILE)
    for rel, content in (files or {}).items():
        (staging / rel).write_bytes(content)
    manifest = Manifest(
        kind="encoder",
        name=ref.name,
        version=ref.version,
        parent_version=parent_version,
        catalog=catalog,
        dim=module.dim,
        training={"architecture": spec.to_dict(), **training},
        pairs=pairs,
        metrics=dict(metrics or {}),
    )
    store.write(manifest, staging)
    return store.manifest("encoder", ref)
