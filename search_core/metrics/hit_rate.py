"""Hit rate@k (success@k)."""

from __future__ import annotations

import numpy as np

from search_core.metrics.judgements import Judgements


def hit_rate(judgements: Judgements, k: int | None = None) -> np.ndarray:
    """Per query: 1 if any of the top k is relevant, else 0 — did the user see at least one good result."""
    return np.asarray(judgements.relevant(k).any(axis=1), dtype=np.float64)
