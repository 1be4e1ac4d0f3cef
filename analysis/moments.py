"""Moments of per-user columns: the sums every mean, ratio and CUPED statistic is built from.

One `Moments` holds, for a group of users (an arm, an arm's users first exposed on one day, an arm's users in
one segment), the user count, Σ of each per-user column and Σ of the pairwise products the statistics read: a
mean needs Σx and Σx², a ratio adds Σy, Σy², Σxy, CUPED adds the pre-period columns and their cross products.
SQL computes them from per-user rows (so Python never receives a row per event, nor even per user) and only for
the pairs some metric reads; a product nobody asked for is NaN and reading it is an error. A per-user file gets
them from a numpy product. Adding two `Moments` pools their users, which is how days add up to cumulative
values and how "the rest" of a segment is the arm minus the segment.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class Moments:
    """n users; `sums[i]` = Σ column i; `products[i, j]` = Σ column i × column j (symmetric; NaN if not computed)."""

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
        """From a users × columns matrix (every product)."""
        values = np.asarray(values, dtype=float).reshape(-1, len(columns))
        return cls(tuple(columns), int(values.shape[0]), values.sum(axis=0), values.T @ values)

    @classmethod
    def from_sums(
        cls,
        columns: Sequence[str],
        n: int,
        sums: Sequence[float],
        pairs: Sequence[tuple[int, int]],
        products: Sequence[float],
    ) -> Moments:
        """From SQL output: column sums, and the product sums of the index `pairs` (the others stay NaN)."""
        k = len(columns)
        matrix = np.full((k, k), math.nan)
        for (i, j), value in zip(pairs, products, strict=True):
            matrix[i, j] = matrix[j, i] = value
        return cls(tuple(columns), int(n), np.asarray(sums, dtype=float), matrix)

    def has(self, *names: str) -> bool:
        return all(name in self.columns for name in names)

    def total(self, name: str) -> float:
        return float(self.sums[self.columns.index(name)])

    def product(self, a: str, b: str) -> float:
        value = float(self.products[self.columns.index(a), self.columns.index(b)])
        if math.isnan(value):
            raise KeyError(f"the product of {a} and {b} was not computed (no metric of the plan reads it)")
        return value

    def __add__(self, other: Moments) -> Moments:
        if not isinstance(other, Moments):
            return NotImplemented
        if other.columns != self.columns:
            raise ValueError(f"cannot pool moments of different columns: {self.columns} != {other.columns}")
        return Moments(self.columns, self.n + other.n, self.sums + other.sums, self.products + other.products)

    def __sub__(self, other: Moments) -> Moments:
        """The users of `self` not in `other` (a subgroup of them): an arm minus one of its segments."""
        if not isinstance(other, Moments):
            return NotImplemented
        if other.columns != self.columns:
            raise ValueError(f"cannot subtract moments of different columns: {self.columns} != {other.columns}")
        return Moments(self.columns, self.n - other.n, self.sums - other.sums, self.products - other.products)
