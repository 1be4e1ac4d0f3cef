"""The interface every re-ranking step implements."""

from __future__ import annotations

from typing import Protocol

from search_core.hits import Hit
from search_core.rerank.context import RerankContext


class RerankStep(Protocol):
    """A frozen dataclass whose fields are its parameters; it may drop or reorder hits, never rewrite scores."""

    def __call__(self, hits: list[Hit], context: RerankContext) -> list[Hit]: ...

    def candidates(self, k: int, pool: int) -> int:
        """ANN candidates this step needs to return k results; by default the engine's whole `pool`.

        A step that drops at most one hit (`drop_query`) needs only k + 1, which keeps HNSW and IVF
        searches at the cost of k instead of the pool (HNSW explores at least as many nodes as it returns).
        """
        return pool
