"""Rank agreement between offline score changes and online lifts: Spearman's ρ and Kendall's τ, never NaN.

Rank correlation, not Pearson: an offline Δ of +0.03 nDCG and an online lift of +4 % live on
unrelated scales, and all a team can hope for is that the offline metric orders treatments the way
users do. Kendall's τ is reported beside ρ because it behaves better with few points and ties.

With few points (≤ `EXACT_MAX_POINTS`) Spearman's p-value is exact, from all n! pairings of the ranks:
scipy's t-approximation claims p < 0.0001 for a perfect ρ over three points, where the exact answer is
1/3. Kendall's p from scipy is already exact for small samples.

Below `MIN_POINTS` points, or when every x (or every y) is equal, there is no correlation to report:
the result carries a note instead of a number. scipy would return NaN there (with a warning), which
prints as "nan" and sorts unpredictably.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import permutations

import numpy as np
from scipy.stats import kendalltau, rankdata, spearmanr

MIN_POINTS = 3
"""Fewest points for which a rank correlation means anything (two points always correlate ±1)."""
EXACT_MAX_POINTS = 8
"""Up to this many points (8! = 40,320 pairings) Spearman's p-value is computed exactly."""


@dataclass(frozen=True)
class Agreement:
    """Rank correlation of offline Δ (x) with online lift (y) over `n` points; `note` says why it is missing."""

    n: int
    spearman: float | None = None
    spearman_p: float | None = None
    kendall: float | None = None
    kendall_p: float | None = None
    note: str | None = None

    @property
    def available(self) -> bool:
        return self.spearman is not None


def rank_agreement(pairs: Sequence[tuple[float, float]]) -> Agreement:
    """Spearman's ρ and Kendall's τ (τ-b, which corrects for ties) of (offline Δ, online lift) pairs."""
    n = len(pairs)
    if n < MIN_POINTS:
        return Agreement(n, note=f"not enough experiments (n = {n}; a correlation needs {MIN_POINTS})")
    xs, ys = [x for x, _ in pairs], [y for _, y in pairs]
    if len(set(xs)) == 1:
        return Agreement(n, note="no correlation: the offline Δ is the same for every point")
    if len(set(ys)) == 1:
        return Agreement(n, note="no correlation: the online lift is the same for every point")
    rho, rho_p = spearmanr(xs, ys)
    if n <= EXACT_MAX_POINTS:
        rho_p = exact_spearman_p(xs, ys, float(rho))
    tau, tau_p = kendalltau(xs, ys)
    return Agreement(n, float(rho), float(rho_p), float(tau), float(tau_p))


def exact_spearman_p(xs: Sequence[float], ys: Sequence[float], rho: float) -> float:
    """Two-sided permutation p-value of Spearman's ρ (`rho`, observed): the share of all pairings of the y ranks
    with the x ranks whose |ρ| reaches the observed one (ties keep their average ranks)."""
    rx, ry = rankdata(xs), rankdata(ys)
    pairings = np.array(list(permutations(ry)))
    centred_x = rx - rx.mean()
    centred = pairings - pairings.mean(axis=1, keepdims=True)
    rhos = centred @ centred_x / (np.linalg.norm(centred, axis=1) * np.linalg.norm(centred_x))
    return float(np.mean(np.abs(rhos) >= abs(rho) - 1e-12))
