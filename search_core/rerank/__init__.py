"""Re-ranking after the ANN search: named, composable steps (`drop_query`, `dedupe`, `mmr`, `filter`, `boost`)."""

from search_core.rerank.context import Metadata, RerankContext, VectorSource
from search_core.rerank.pipeline import RERANK_STEPS, RerankPipeline, build_rerank, build_step
from search_core.rerank.step import RerankStep

__all__ = [
    "RERANK_STEPS",
    "Metadata",
    "RerankContext",
    "RerankPipeline",
    "RerankStep",
    "VectorSource",
    "build_rerank",
    "build_step",
]
