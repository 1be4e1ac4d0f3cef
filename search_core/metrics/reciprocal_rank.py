"""Reciprocal rank (MRR@k when averaged)."""

from __future__ import annotations

import numpy as np

from search_core.metrics.judgements import Judgements


def reciprocal_rank(judgements: Judgements, k: int | None = None) -> np.ndarray:
    """Per query: 1 / rank of the first relevant document within the top k, 0 if none (trec_eval recip_rank)."""
    relevant = judgements.relevant(k)
    first = relevant.argmax(axis=1)
    return np.where(relevant.any(axis=1), 1.0 / (first + 1), 0.0)
