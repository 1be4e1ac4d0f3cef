"""Moments of per-user columns: the sums every mean, ratio and CUPED statistic is built from.

One `Moments` holds, for a group of users (an arm, or an arm's users first exposed on one day),
the user count, Σ of each per-user column and Σ of each pairwise product. That is enough for every
metric of the catalogue: a mean needs Σx and Σx², a ratio adds Σy, Σy², Σxy, CUPED adds the
pre-period columns and their cross products. SQL computes them from per-user rows (so Python never
receives a row per event, nor even per user), a per-user file gets them from a numpy product; adding
two `Moments` pools their users, which is how days add up to cumulative values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

POST_COLUMNS = (
    "searches",
    "impressions",
    "clicks",
    "dwell_ms",
    "successful_searches",
    "zero_result_searches",
    "error_searches",
)
"""Per-user totals counted after the user's first exposure (successful = searches with >= 1 click)."""

PRE_COLUMNS = ("pre_searches", "pre_impressions", "pre_clicks", "pre_dwell_ms", "pre_successful_searches")
"""The same totals before the experiment start, for CUPED; `pre_x` is the covariate of `x`."""

PER_USER_COLUMNS = POST_COLUMNS + PRE_COLUMNS


def product_pairs(columns: Sequence[str]) -> list[tuple[int, int]]:
    """Index pairs (i <= j) of the upper triangle, the order SQL returns product sums in."""
    return [(i, j) for i in range(len(columns)) for j in range(i, len(columns))]


@dataclass(frozen=True, eq=False)
class Moments:
    """n users; `sums[i]` = Σ column i; `products[i, j]` = Σ column i × column j (symmetric)."""

    columns: tuple[str, ...]
    n: int
    sums: np.ndarray
    products: np.ndarray

    @classmethod
    def empty(cls, columns: Sequence[str]) -> Moments:
        k = len(columns)
        return cls(tuple(columns), 0, np.zeros(k), np.zeros((k, k)))

    @classmethod
    def from_values(cls, columns: Sequence[str], values: np.ndarray) -> Moments:
        """From a users × columns matrix."""
        values = np.asarray(values, dtype=float).reshape(-1, len(columns))
        return cls(tuple(columns), int(values.shape[0]), values.sum(axis=0), values.T @ values)

    @classmethod
    def from_sums(cls, columns: Sequence[str], n: int, sums: Sequence[float], triangle: Sequence[float]) -> Moments:
        """From SQL output: column sums, then product sums in `product_pairs` order."""
        k = len(columns)
        products = np.zeros((k, k))
        for (i, j), value in zip(product_pairs(columns), triangle, strict=True):
            products[i, j] = products[j, i] = value
        return cls(tuple(columns), int(n), np.asarray(sums, dtype=float), products)

    def has(self, *names: str) -> bool:
        return all(name in self.columns for name in names)

    def total(self, name: str) -> float:
        return float(self.sums[self.columns.index(name)])

    def product(self, a: str, b: str) -> float:
        return float(self.products[self.columns.index(a), self.columns.index(b)])

    def __add__(self, other: Moments) -> Moments:
        if not isinstance(other, Moments):
            return NotImplemented
        if other.columns != self.columns:
            raise ValueError(f"cannot pool moments of different columns: {self.columns} != {other.columns}")
        return Moments(self.columns, self.n + other.n, self.sums + other.sums, self.products + other.products)
