"""Principal components, shared by the pixels baseline and the PCA embedding layer of trained encoders."""

from __future__ import annotations

import numpy as np
import torch

from search_core.errors import EncoderConfigError

EXACT_MAX_DIM = 1024
"""Up to this many dimensions the components are exact; above, randomised (an exact eigensolver is O(D^3))."""


def principal_components(data: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """`data (N, D)` → (mean `(D,)`, top-`k` components `(k, D)`); signs are arbitrary.

    Exact for D ≤ `EXACT_MAX_DIM`: the eigenvectors of the `D x D` scatter matrix (Fashion-MNIST's pixels
    in seconds), or the SVD of the data when there are fewer samples than dimensions. Wider data
    (3 136 small-CNN features) uses randomised PCA (Halko et al. 2011, `torch.pca_lowrank`, 4 power
    iterations, torch's global RNG: seeded runs stay reproducible): several times faster than an exact
    solver there, and the top components of a decaying spectrum are what it recovers well.
    """
    n, d = data.shape
    if not 1 <= k <= d:
        raise EncoderConfigError(f"cannot keep {k} principal components of {d}-dimensional data")
    if n < 2:
        raise EncoderConfigError(f"principal components need at least 2 samples, got {n}")
    mean = data.mean(axis=0, dtype=np.float64)
    if d > EXACT_MAX_DIM and n > k:
        x = torch.from_numpy(np.ascontiguousarray(data, dtype=np.float32))
        _, _, v = torch.pca_lowrank(x, q=k, center=True, niter=4)
        return mean, v.T.double().numpy()
    centred = data.astype(np.float64) - mean
    if n < d:
        components = np.linalg.svd(centred, full_matrices=False)[2][:k]
        padding = np.zeros((k - len(components), d))  # fewer samples than components: zero directions
        return mean, np.vstack([components, padding])
    _, vectors = np.linalg.eigh(centred.T @ centred)  # ascending eigenvalues
    return mean, vectors[:, ::-1][:, :k].T.copy()
