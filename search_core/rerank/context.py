"""What a re-ranking step sees besides the hits: the query, where vectors and metadata come from, the final k."""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from search_core.hits import Hit

Metadata = Callable[[str], Mapping[str, Any]]
"""image id -> fields a filter or boost can test, e.g. `{"label": 3, "class": "Dress"}`."""


class VectorSource(Protocol):
    """What steps need from an index (`SearchIndex` is one): stored normalised vectors and per-item metadata."""

    def vectors(self, ids: Sequence[str]) -> np.ndarray: ...

    def metadata(self, image_id: str) -> dict[str, Any]: ...


class RerankContext:
    """One query's context; built per call, never shared between threads, so it may cache vectors."""

    def __init__(
        self,
        query_vector: np.ndarray,
        index: VectorSource,
        query_image_id: str | None = None,
        k: int | None = None,
        metadata: Metadata | None = None,
    ) -> None:
        q = np.asarray(query_vector, dtype=np.float32).reshape(-1)
        self.query_vector = q / max(math.sqrt(float(np.vdot(q, q))), 1e-12)
        self.index = index
        self.query_image_id = query_image_id
        self.k = k
        self.metadata: Metadata = metadata or index.metadata
        self._position: dict[str, int] = {}  # image id -> row of self._matrix
        self._matrix = np.zeros((0, len(self.query_vector)), dtype=np.float32)

    def vectors(self, hits: Sequence[Hit]) -> np.ndarray:
        """Stored vectors of `hits` (len(hits), dim); each id is fetched from the index once per query."""
        missing = [h.image_id for h in hits if h.image_id not in self._position]
        if missing:
            start = len(self._matrix)
            self._matrix = np.concatenate([self._matrix, self.index.vectors(missing)])
            self._position.update(zip(missing, range(start, start + len(missing)), strict=True))
        return self._matrix[[self._position[h.image_id] for h in hits]]

    def similarities(self, hits: Sequence[Hit]) -> np.ndarray:
        """Exact cosine of each hit to the query (the hit's own score may be a PQ approximation)."""
        return self.vectors(hits) @ self.query_vector

    def matches(self, hit: Hit, field: str, values: Collection[Any]) -> bool:
        return self.metadata(hit.image_id).get(field) in values
