"""Recall@k."""

from __future__ import annotations

import numpy as np

from search_core.metrics.judgements import Judgements


def recall(judgements: Judgements, k: int | None = None) -> np.ndarray:
    """Per query: relevant documents in the top k over all judged-relevant ones (trec_eval's recall_k).

    Tiny by construction when thousands are relevant per query (same-class relevance: 6000 per class).
    A query without relevant documents scores 0.
    """
    found = judgements.relevant(k).sum(axis=1)
    return np.divide(found, judgements.n_relevant, out=np.zeros(len(found)), where=judgements.n_relevant > 0)
