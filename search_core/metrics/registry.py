"""Metric names (`"ndcg@10"`, `"map@100"`, `"mrr@10"`, `"precision@10"`) parsed once and evaluated as means."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from search_core.errors import UnknownMetricError
from search_core.metrics.average_precision import average_precision
from search_core.metrics.hit_rate import hit_rate
from search_core.metrics.judgements import Judgements
from search_core.metrics.ndcg import ndcg
from search_core.metrics.precision import precision
from search_core.metrics.recall import recall
from search_core.metrics.reciprocal_rank import reciprocal_rank

PerQueryMetric = Callable[[Judgements, int | None], np.ndarray]

METRICS: dict[str, PerQueryMetric] = {
    "precision": precision,
    "recall": recall,
    "mrr": reciprocal_rank,
    "map": average_precision,
    "ndcg": ndcg,
    "hit": hit_rate,
}
"""`name@k`; without `@k` the whole judged depth counts."""


def parse_metric(name: str) -> tuple[PerQueryMetric, int | None]:
    base, _, cutoff = name.partition("@")
    metric = METRICS.get(base)
    if metric is None:
        raise UnknownMetricError(f"unknown metric {name!r}; known: {', '.join(sorted(METRICS))} (as name@k)")
    if not cutoff:
        return metric, None
    if not cutoff.isdigit() or int(cutoff) < 1:
        raise UnknownMetricError(f"metric {name!r}: the cutoff after @ must be a positive integer")
    return metric, int(cutoff)


def required_depth(names: Sequence[str]) -> int | None:
    """The deepest cutoff among `names`; None if any metric reads the whole ranking."""
    cutoffs = [parse_metric(name)[1] for name in names]
    known = [k for k in cutoffs if k is not None]
    return None if len(known) < len(cutoffs) else max(known, default=1)


def mean_metrics(judgements: Judgements, names: Sequence[str]) -> dict[str, float]:
    """Each metric averaged over every query of the judgements (0.0 for no queries)."""
    results = {}
    for name in names:
        metric, k = parse_metric(name)
        values = metric(judgements, k)
        results[name] = float(values.mean()) if len(values) else 0.0
    return results
