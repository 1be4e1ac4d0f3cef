"""Training data: catalog images at the encoder's input size, click pairs resolved to rows, mined neighbours."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import faiss
import numpy as np
import torch
from tqdm import tqdm

from search_core.catalog import Catalog
from search_core.encoders.preprocess import resize_batch
from search_core.errors import TrainingError
from search_core.pairs import ClickPair
from search_core.training.batches import PairTable

logger = logging.getLogger(__name__)

CHUNK = 4096
"""Images decoded and resized at a time (bounds memory for folders of large photos)."""


@dataclass(frozen=True)
class TrainingData:
    """uint8 images `(M, C, S, S)`: rows `0 .. n_anchors - 1` are the gallery, the rest pair-only images."""

    images: torch.Tensor
    n_anchors: int
    pairs: PairTable | None
    pairs_used: int
    pairs_skipped: int


def prepare_data(catalog: Catalog, pairs: Sequence[ClickPair], input_size: int, channels: int) -> TrainingData:
    """Resize the gallery (and any query image a click pair mentions) once, up front.

    Pairs naming an image outside the catalog are skipped with one warning (a pairs file from
    another catalog or an old export); pairs of weight 0 carry nothing and are dropped.
    """
    if not catalog.gallery_ids:
        raise TrainingError(f"catalog {catalog.name!r} has no gallery images to train on")
    gallery = set(catalog.gallery_ids)
    known = [p for p in pairs if p.query_image_id in catalog and p.result_image_id in catalog]
    skipped = len(pairs) - len(known)
    if skipped:
        logger.warning(
            "%d of %d click pairs name images outside catalog %s; skipped", skipped, len(pairs), catalog.name
        )
    extra = sorted({i for p in known for i in (p.query_image_id, p.result_image_id)} - gallery)
    ids = list(catalog.gallery_ids) + extra
    images = torch.empty((len(ids), channels, input_size, input_size), dtype=torch.uint8)
    for start in tqdm(range(0, len(ids), CHUNK), desc="preparing images", unit="chunk", mininterval=1.0, leave=False):
        chunk = ids[start : start + CHUNK]
        images[start : start + len(chunk)] = resize_batch(catalog.images(chunk), input_size, channels)
    table = _pair_table(known, {image_id: row for row, image_id in enumerate(ids)})
    return TrainingData(images, len(catalog.gallery_ids), table, len(known), skipped)


def _pair_table(pairs: Sequence[ClickPair], rows: dict[str, int]) -> PairTable | None:
    """Duplicate pairs add up their weight; sampling probability is proportional to the total."""
    weight: dict[tuple[int, int], float] = defaultdict(float)
    for p in pairs:
        weight[rows[p.query_image_id], rows[p.result_image_id]] += p.weight
    weight = {key: w for key, w in weight.items() if w > 0}
    if not weight:
        return None
    keys = torch.tensor(list(weight), dtype=torch.int64)
    totals = torch.tensor(list(weight.values()), dtype=torch.float64)
    return PairTable(keys[:, 0], keys[:, 1], totals / totals.sum())


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
