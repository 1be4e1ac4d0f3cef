"""Raw pixels as an embedding (optionally PCA-reduced): the baseline every learned encoder must beat."""

from __future__ import annotations

import torch

from search_core.encoders.module import EncoderModule
from search_core.encoders.pca import principal_components
from search_core.errors import EncoderConfigError


class PixelsEncoder(EncoderModule):
    """Flattened pixels in [0, 1]; with `pca_dim`, centred and projected on the top principal components.

    Raw pixels are not centred: cosine of raw pixels is the textbook baseline (Fashion-MNIST, exact
    search: P@10 0.813); PCA centres because principal components are defined on centred data.
    The PCA buffers are zero until `fit_pca`; they are saved in the state dict like any weight.
    """

    mean: torch.Tensor
    components: torch.Tensor

    def __init__(self, channels: int = 1, input_size: int = 28, pca_dim: int | None = None) -> None:
        super().__init__()
        self.channels, self.input_size, self.pca_dim = channels, input_size, pca_dim
        raw_dim = channels * input_size * input_size
        if pca_dim is not None and not 1 <= pca_dim <= raw_dim:
            raise EncoderConfigError(f"pca_dim must be between 1 and {raw_dim} (pixels), not {pca_dim}")
        self.dim = pca_dim or raw_dim
        if pca_dim:
            self.register_buffer("mean", torch.zeros(raw_dim))
            self.register_buffer("components", torch.zeros(raw_dim, pca_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.flatten(1)
        return (flat - self.mean) @ self.components if self.pca_dim else flat

    def fit_pca(self, x: torch.Tensor) -> None:
        """Set mean and components from images `(N, channels, S, S)` in [0, 1]."""
        if not self.pca_dim:
            raise EncoderConfigError("fit_pca on a pixels encoder without pca_dim")
        mean, components = principal_components(x.flatten(1).numpy(), self.pca_dim)
        self.mean.copy_(torch.from_numpy(mean))
        self.components.copy_(torch.from_numpy(components.T.copy()))
