"""`dedupe`: keep one of each group of near-identical results."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from search_core.errors import RerankSpecError
from search_core.hits import Hit
from search_core.rerank.context import RerankContext
from search_core.rerank.step import RerankStep


@dataclass(frozen=True)
class Dedupe(RerankStep):
    """Walk the hits best first; drop one whose cosine to an already kept hit is above `threshold`.

    Greedy in rank order, so of two near-duplicates the better-ranked one survives. O(n²) in the number
    of candidates, which is fine for the ~100 an engine re-ranks.
    """

    threshold: float = 0.98

    def __post_init__(self) -> None:
        if not -1.0 <= self.threshold <= 1.0:
            raise RerankSpecError(f"dedupe threshold must be a cosine in [-1, 1], got {self.threshold}")

    def __call__(self, hits: list[Hit], context: RerankContext) -> list[Hit]:
        vectors = context.vectors(hits)
        too_close = np.triu(vectors @ vectors.T > self.threshold, k=1)  # [j, i]: j ranks before i
        if not too_close.any():
            return hits
        kept = np.ones(len(hits), dtype=bool)
        for i in range(1, len(hits)):
            kept[i] = not (too_close[:i, i] & kept[:i]).any()
        return [hit for hit, keep in zip(hits, kept.tolist(), strict=True) if keep]
