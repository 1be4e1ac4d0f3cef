"""Training data: the catalog's training images at the encoder's input size, and mined neighbours."""

from __future__ import annotations

import logging

import faiss
import numpy as np
import torch
from tqdm import tqdm

from search_core.catalog import Catalog
from search_core.encoders.preprocess import resize_batch
from search_core.errors import TrainingError

logger = logging.getLogger(__name__)

CHUNK = 4096
"""Images decoded and resized at a time (bounds memory for folders of large photos)."""


def training_images(catalog: Catalog, input_size: int, channels: int) -> torch.Tensor:
    """uint8 `(N, C, S, S)`: the catalog's `train_ids` (gallery minus validation), resized once, up front."""
    if not catalog.train_ids:
        raise TrainingError(f"catalog {catalog.name!r} has no gallery images to train on")
    ids = catalog.train_ids
    images = torch.empty((len(ids), channels, input_size, input_size), dtype=torch.uint8)
    for start in tqdm(range(0, len(ids), CHUNK), desc="preparing images", unit="chunk", mininterval=1.0, leave=False):
        chunk = ids[start : start + CHUNK]
        images[start : start + len(chunk)] = resize_batch(catalog.images(chunk), input_size, channels)
    return images


def mine_neighbours(vectors: np.ndarray, k: int) -> torch.Tensor:
    """The `k` nearest other rows of each row of L2-normalised `vectors`, `(N, k)`; exact inner-product search.

    Exact is affordable here (60 000 x 60 000 at 64-128 dims: seconds with Faiss' BLAS path) and
    keeps runs reproducible, which an approximate index built with threads would not.
    """
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    _, found = index.search(vectors, k + 1)
    is_self = found == np.arange(len(vectors))[:, None]
    # drop the row itself; if a duplicate image outranked it, drop the last neighbour instead
    drop = np.where(is_self.any(axis=1), is_self.argmax(axis=1), k)
    keep = np.ones_like(found, dtype=bool)
    keep[np.arange(len(found)), drop] = False
    return torch.from_numpy(found[keep].reshape(len(found), k).astype(np.int64))
