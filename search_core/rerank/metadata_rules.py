"""`filter` and `boost`: rules on item metadata (the catalog's class label, for now)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from search_core.errors import RerankSpecError
from search_core.hits import Hit
from search_core.rerank.context import RerankContext
from search_core.rerank.step import RerankStep


@dataclass(frozen=True)
class _MetadataRule(RerankStep):
    """Hits whose `metadata[field]` is one of `values` match (fields: `label` int, `class` name)."""

    values: Sequence[Any] = ()
    field: str = "label"

    def __post_init__(self) -> None:
        if isinstance(self.values, str | bytes) or not isinstance(self.values, Sequence) or not self.values:
            raise RerankSpecError(f"values must be a non-empty list, got {self.values!r}")
        object.__setattr__(self, "values", frozenset(self.values))


@dataclass(frozen=True)
class MetadataFilter(_MetadataRule):
    """Keep only matching hits (`exclude=True`: drop them), e.g. `{name: filter, field: class, values: [Bag]}`."""

    exclude: bool = False

    def __call__(self, hits: list[Hit], context: RerankContext) -> list[Hit]:
        return [h for h in hits if context.matches(h, self.field, self.values) != self.exclude]


@dataclass(frozen=True)
class MetadataBoost(_MetadataRule):
    """Re-order by `score + weight` for matching hits (negative weight buries them); stable on ties.

    The boost only decides the order; each hit keeps its similarity score.
    """

    weight: float = 0.1

    def __call__(self, hits: list[Hit], context: RerankContext) -> list[Hit]:
        def key(hit: Hit) -> float:
            return hit.score + (self.weight if context.matches(hit, self.field, self.values) else 0.0)

        return sorted(hits, key=key, reverse=True)
