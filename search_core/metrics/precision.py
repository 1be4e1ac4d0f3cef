"""Precision@k."""

from __future__ import annotations

import numpy as np

from search_core.metrics.judgements import Judgements


def precision(judgements: Judgements, k: int | None = None) -> np.ndarray:
    """Per query: relevant documents in the top k, divided by k (not by the run's length: trec_eval's P_k)."""
    relevant = judgements.relevant(k)
    return relevant.sum(axis=1) / max(relevant.shape[1], 1)
