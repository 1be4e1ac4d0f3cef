"""Offline IR metrics with trec_eval conventions, vectorised over queries (one metric family per module)."""

from search_core.metrics.ann_recall import ann_recall
from search_core.metrics.average_precision import average_precision
from search_core.metrics.hit_rate import hit_rate
from search_core.metrics.judgements import Judgements, judge, rank_documents
from search_core.metrics.ndcg import ndcg
from search_core.metrics.precision import precision
from search_core.metrics.recall import recall
from search_core.metrics.reciprocal_rank import reciprocal_rank
from search_core.metrics.registry import METRICS, mean_metrics, parse_metric, required_depth

__all__ = [
    "METRICS",
    "Judgements",
    "ann_recall",
    "average_precision",
    "hit_rate",
    "judge",
    "mean_metrics",
    "ndcg",
    "parse_metric",
    "precision",
    "rank_documents",
    "recall",
    "reciprocal_rank",
    "required_depth",
]
