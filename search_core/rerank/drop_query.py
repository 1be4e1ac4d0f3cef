"""`drop_query`: remove the query image itself from its own results."""

from __future__ import annotations

from dataclasses import dataclass

from search_core.errors import RerankSpecError
from search_core.hits import Hit
from search_core.rerank.context import RerankContext
from search_core.rerank.step import RerankStep


@dataclass(frozen=True)
class DropQuery(RerankStep):
    """Drop the hit whose id is the query's (a catalog image finds itself first, with cosine 1).

    `threshold` also drops hits at least that similar to the query vector, for an uploaded copy of a
    catalog image, which has no id to compare.
    """

    threshold: float | None = None

    def __post_init__(self) -> None:
        if self.threshold is not None and not -1.0 <= self.threshold <= 1.0:
            raise RerankSpecError(f"drop_query threshold must be a cosine in [-1, 1], got {self.threshold}")

    def candidates(self, k: int, pool: int) -> int:
        return k + 1 if self.threshold is None else pool

    def __call__(self, hits: list[Hit], context: RerankContext) -> list[Hit]:
        kept = [h for h in hits if h.image_id != context.query_image_id]
        if self.threshold is None or not kept:
            return kept
        similar = context.similarities(kept) >= self.threshold
        return [h for h, drop in zip(kept, similar.tolist(), strict=True) if not drop]
