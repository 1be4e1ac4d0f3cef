"""`VisualSearch`: query image → encoder → ANN candidates → re-ranking → top k.

One engine per (encoder, index, re-ranking) combination; it holds no per-request state, so one instance
serves concurrent requests (query parameters such as `efSearch` travel with each call).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from search_core.errors import DimensionMismatchError
from search_core.hits import Hit
from search_core.index import SearchIndex
from search_core.milvus_index import MilvusIndex
from search_core.rerank import RerankPipeline


class ImageEncoder(Protocol):
    """What the engine needs from an encoder (`search_core.encoders.Encoder` is one)."""

    ref: object
    dim: int

    def embed(self, images: Sequence[np.ndarray] | np.ndarray, batch_size: int = 512) -> np.ndarray: ...


class VisualSearch:
    """Search a catalog index with images, then re-rank the ANN candidates.

    Re-ranking may drop hits (near duplicates, filtered classes), so steps may ask for up to
    `k_candidates`; `drop_query` alone needs k + 1, and no steps exactly k (`RerankPipeline.candidates`).
    """

    def __init__(
        self,
        encoder: ImageEncoder,
        index: SearchIndex | MilvusIndex,
        rerank: RerankPipeline | None = None,
        k_candidates: int = 100,
    ) -> None:
        if encoder.dim != index.dim:
            raise DimensionMismatchError(
                f"encoder {encoder.ref} embeds {encoder.dim}-d vectors, the index holds {index.dim}-d"
            )
        self.encoder = encoder
        self.index = index
        self.rerank = rerank or RerankPipeline()
        self.k_candidates = k_candidates

    def search(
        self,
        image: np.ndarray,
        k: int,
        params: Mapping[str, Any] | None = None,
        query_image_id: str | None = None,
    ) -> Sequence[Hit]:
        """The k best catalog images for one uint8 image (grey HxW or RGB HxWx3, any size)."""
        return self.search_batch([image], k, params, [query_image_id])[0]

    def search_batch(
        self,
        images: Sequence[np.ndarray] | np.ndarray,
        k: int,
        params: Mapping[str, Any] | None = None,
        query_image_ids: Sequence[str | None] | None = None,
    ) -> list[Sequence[Hit]]:
        """`search` for many images at once: one encoder batch and one Faiss call."""
        return self.search_vectors(self.encoder.embed(images), k, params, query_image_ids)

    def search_catalog_image(
        self, image_id: str, pixels: Callable[[], np.ndarray], k: int, params: Mapping[str, Any] | None = None
    ) -> Sequence[Hit]:
        """`search` for a catalog image: with the vector the index stores for it when it holds that id.

        An index holds its catalog's images as embedded by the encoder it was built with (serving refuses an
        index built with another encoder), so the stored vector is the query this image would give, computed
        once at build time: the encoder pass, most of a CPU search, is skipped, and so is reading the image
        (`pixels` is called only for an image the index does not hold: a held-out query, a removed item).
        """
        if image_id in self.index:
            return self.search_vectors(self.index.vectors([image_id]), k, params, [image_id])[0]
        return self.search(pixels(), k, params, query_image_id=image_id)

    def search_vectors(
        self,
        vectors: np.ndarray,
        k: int,
        params: Mapping[str, Any] | None = None,
        query_image_ids: Sequence[str | None] | None = None,
    ) -> list[Sequence[Hit]]:
        """Search with embeddings already computed (e.g. a catalog image's stored vector)."""
        candidates = self.index.search(vectors, self.rerank.candidates(k, max(k, self.k_candidates)), params)
        if not self.rerank.steps:
            return list(candidates)
        ids = query_image_ids if query_image_ids is not None else [None] * len(candidates)
        return [
            self.rerank(vector, hits, self.index, query_id, k=k)[:k]
            for vector, hits, query_id in zip(vectors, candidates, ids, strict=True)
        ]
