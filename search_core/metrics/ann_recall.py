"""ANN recall@k: how much of the exact top k an approximate index returns."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from search_core.hits import Hit


def ann_recall(found: Sequence[Sequence[Hit]], exact: Sequence[Sequence[Hit]], k: int = 10) -> float:
    """Mean over queries of |ANN top k ∩ exact top k| / k (Faiss's "1-recall@k"-style intersection measure).

    Ties at the k-th exact score make the exact set ambiguous, so a perfect index can score a hair under 1.
    """
    if not found:
        return 0.0
    overlaps = [
        len({h.image_id for h in a[:k]} & {h.image_id for h in b[:k]}) / k for a, b in zip(found, exact, strict=True)
    ]
    return float(np.mean(overlaps))
