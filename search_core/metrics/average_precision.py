"""Average precision (MAP@k when averaged)."""

from __future__ import annotations

import numpy as np

from search_core.metrics.judgements import Judgements


def average_precision(judgements: Judgements, k: int | None = None) -> np.ndarray:
    """Per query: sum of precision@i over the relevant ranks i <= k, divided by *all* judged-relevant.

    That denominator is trec_eval's `map_cut_k` (not min(k, R)), so with 6000 relevant per query AP@100
    is at most 100/6000. A query without relevant documents scores 0.
    """
    relevant = judgements.relevant(k)
    ranks = np.arange(1, relevant.shape[1] + 1)
    precision_at = np.cumsum(relevant, axis=1) / ranks
    total = (precision_at * relevant).sum(axis=1)
    return np.divide(total, judgements.n_relevant, out=np.zeros(len(total)), where=judgements.n_relevant > 0)
