"""Whitening of an encoder's search layer by its click groups (learned whitening, Radenović et al. 2018).

Directions in which images of one group still differ are directions search should ignore; directions
in which groups differ from each other are what it should keep. Scaling the embedding by the inverse
square root of the within-group covariance does both at once: after it, cosine similarity no longer
rewards agreement along directions that clicks say do not matter. The covariance is shrunk towards a
multiple of the identity (Ledoit-Wolf style, by a fixed `shrinkage`), so directions the groups barely
sample are not blown up. The map is linear, so it folds into the encoder's `embedding` layer: the
artifact and its inference path stay as they are.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn


def within_group_whitening(outputs: np.ndarray, groups: Sequence[np.ndarray], shrinkage: float) -> np.ndarray:
    """`outputs (N, d)` and groups of row numbers into it → the whitening matrix `(d, d)`, symmetric.

    The within-group covariance pools every member's deviation from its group's mean, with each group's
    degrees of freedom (size - 1); `shrinkage` in [0, 1] blends in `trace / d` on the diagonal.
    """
    if not 0.0 <= shrinkage <= 1.0:
        raise ValueError(f"shrinkage must be in [0, 1], got {shrinkage}")
    d = outputs.shape[1]
    scatter = np.zeros((d, d))
    dof = 0
    for rows in groups:
        deviations = outputs[rows].astype(np.float64)
        deviations -= deviations.mean(axis=0)
        scatter += deviations.T @ deviations
        dof += len(rows) - 1
    if dof < 1:
        raise ValueError("within-group whitening needs a group of at least 2 images")
    covariance = scatter / dof
    covariance = (1 - shrinkage) * covariance + shrinkage * np.trace(covariance) / d * np.eye(d)
    values, vectors = np.linalg.eigh(covariance)
    values = np.maximum(values, values.max() * 1e-6)  # a direction no group varies in stays finite
    return (vectors / np.sqrt(values)) @ vectors.T


def fold_into_linear(layer: nn.Linear, whitening: np.ndarray, mean: np.ndarray) -> None:
    """Make `layer(x)` return `whitening @ (layer(x) - mean)`, in place."""
    a = torch.from_numpy(whitening).to(layer.weight.dtype)
    shift = torch.from_numpy(mean).to(layer.weight.dtype)
    with torch.no_grad():
        layer.weight.copy_(a @ layer.weight)
        layer.bias.copy_(a @ (layer.bias - shift))
