"""`mmr`: maximal marginal relevance, trading similarity to the query for diversity among results."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from search_core.errors import RerankSpecError
from search_core.hits import Hit
from search_core.rerank.context import RerankContext
from search_core.rerank.step import RerankStep


@dataclass(frozen=True)
class Mmr(RerankStep):
    """Greedy MMR (Carbonell & Goldstein, SIGIR 1998): repeatedly pick the hit maximising

        lambda_ · cos(q, d) − (1 − lambda_) · max_{s ∈ selected} cos(d, s)

    `lambda_=1` keeps the similarity order, `0` maximises diversity. Only the first `context.k` positions
    are chosen this way (all when k is unknown); the rest follow in their previous order. Scores are not
    rewritten: a hit keeps its similarity, so impressions log what the index said. Spec key: `lambda`.
    """

    lambda_: float = 0.7

    def __post_init__(self) -> None:
        if not 0.0 <= self.lambda_ <= 1.0:
            raise RerankSpecError(f"mmr lambda must be in [0, 1], got {self.lambda_}")

    def __call__(self, hits: list[Hit], context: RerankContext) -> list[Hit]:
        n = len(hits)
        if n < 2:
            return hits
        vectors = context.vectors(hits)
        relevance = self.lambda_ * (vectors @ context.query_vector)
        similarity = vectors @ vectors.T
        redundancy = np.zeros(n, dtype=np.float32)  # max similarity to the selected set; 0 while it is empty
        remaining = np.ones(n, dtype=bool)
        picked: list[int] = []
        for _ in range(min(context.k or n, n)):
            scores = np.where(remaining, relevance - (1.0 - self.lambda_) * redundancy, -np.inf)
            best = int(np.argmax(scores))
            picked.append(best)
            remaining[best] = False
            redundancy = similarity[best] if len(picked) == 1 else np.maximum(redundancy, similarity[best])
        return [hits[i] for i in picked] + [hits[i] for i in np.flatnonzero(remaining)]
