"""Re-ranking pipelines: named steps after the ANN search, from specs like `{"name": "dedupe", "threshold": 0.98}`.

A step (`RerankStep`) is a frozen dataclass whose fields are its parameters and whose `__call__(hits, context)`
returns a new list: it may drop or reorder hits, never rewrite their scores. A variant lists steps by name; the
registry is a dict, so the error for an unknown name lists `sorted(RERANK_STEPS)` and cannot go stale.
"""

from __future__ import annotations

import dataclasses
import keyword
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from search_core.errors import RerankSpecError, UnknownRerankStepError
from search_core.hits import Hit
from search_core.rerank.context import Metadata, RerankContext, VectorSource
from search_core.rerank.dedupe import Dedupe
from search_core.rerank.drop_query import DropQuery
from search_core.rerank.metadata_rules import MetadataBoost, MetadataFilter
from search_core.rerank.mmr import Mmr
from search_core.rerank.step import RerankStep

RERANK_STEPS: dict[str, type[RerankStep]] = {
    "drop_query": DropQuery,
    "dedupe": Dedupe,
    "mmr": Mmr,
    "filter": MetadataFilter,
    "boost": MetadataBoost,
}


@dataclass(frozen=True)
class RerankPipeline:
    """Steps applied in order; immutable, so one pipeline serves concurrent requests."""

    steps: tuple[RerankStep, ...] = ()

    def candidates(self, k: int, pool: int) -> int:
        """ANN candidates to fetch for k results: k without steps, else what the hungriest step needs."""
        return max((step.candidates(k, pool) for step in self.steps), default=k)

    def __call__(
        self,
        query_vector: np.ndarray,
        hits: Sequence[Hit],
        index: VectorSource,
        query_image_id: str | None = None,
        *,
        k: int | None = None,
        metadata: Metadata | None = None,
    ) -> list[Hit]:
        """Re-rank one query's candidates; `k` (the final length) lets `mmr` stop early; `metadata`
        overrides the index's own (label and class stored at build time)."""
        result = list(hits)
        if not self.steps:
            return result
        context = RerankContext(query_vector, index, query_image_id, k, metadata)
        for step in self.steps:
            result = step(result, context)
        return result


def build_step(spec: Mapping[str, Any]) -> RerankStep:
    """One step from `{"name": ..., **params}`; a parameter that is a Python keyword maps to `<name>_`."""
    name = spec.get("name")
    step_type = RERANK_STEPS.get(name) if isinstance(name, str) else None
    if step_type is None:
        raise UnknownRerankStepError(f"unknown rerank step {name!r}; known: {', '.join(sorted(RERANK_STEPS))}")
    fields = {f.name for f in dataclasses.fields(cast(Any, step_type))}  # every registered step is a dataclass
    params = {(f"{key}_" if keyword.iskeyword(key) else key): value for key, value in spec.items() if key != "name"}
    unknown = sorted(set(params) - fields)
    if unknown:
        accepted = ", ".join(sorted(f.rstrip("_") for f in fields)) or "none"
        raise RerankSpecError(f"rerank step {name!r} has no parameter {', '.join(unknown)}; it takes: {accepted}")
    try:
        return step_type(**params)
    except TypeError as exc:  # e.g. a string where a number belongs, caught by a comparison in __post_init__
        raise RerankSpecError(f"rerank step {name!r}: {exc}") from None


def build_rerank(specs: Sequence[Mapping[str, Any]]) -> RerankPipeline:
    """A pipeline from a variant's step list, e.g. `[{"name": "drop_query"}, {"name": "mmr", "lambda": 0.7}]`."""
    return RerankPipeline(tuple(build_step(spec) for spec in specs))
