"""Normalised discounted cumulative gain."""

from __future__ import annotations

import numpy as np

from search_core.metrics.judgements import Judgements


def ndcg(judgements: Judgements, k: int | None = None) -> np.ndarray:
    """Per query: DCG@k / ideal DCG@k with linear gain = grade and discount log2(rank + 1).

    This is Järvelin & Kekäläinen's gain with the log2(i+1) discount of trec_eval's `ndcg_cut` (not Burges's
    2^grade − 1); the ideal ranking sorts the qrels' grades, so relevant documents the run never retrieved
    still count against it. 0 when the qrels hold no positive grade.
    """
    gains = judgements.gains(k)
    discounts = 1.0 / np.log2(np.arange(2, gains.shape[1] + 2))
    dcg = gains @ discounts
    ideal = judgements.ideal_gains(k) @ discounts
    return np.divide(dcg, ideal, out=np.zeros(len(dcg)), where=ideal > 0)
