"""Sufficient statistics per arm: the sums SQL returns, never rows.

Each class holds exactly what a `GROUP BY variant` over per-user aggregates yields (counts, sums,
sums of squares and cross products), so the data path can build them from SQL and tests can build
them from numpy arrays with `from_values`. Adding two statistics pools them (days, shards).
Variances are per-user sample variances (ddof = 1), the convention of gbstats and of Welch's test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from analysis.errors import StatsInputError
from analysis.stats.delta import ratio_variance


def _check_sums(stats: object) -> None:
    """Refuse negative or non-integer counts and non-finite sums: those are bugs upstream, not data."""
    for field in fields(stats):  # type: ignore[arg-type]
        value = getattr(stats, field.name)
        if field.name == "n":
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise StatsInputError(f"{type(stats).__name__}.n must be an int, got {type(value).__name__}")
            if value < 0:
                raise StatsInputError(f"{type(stats).__name__}.n must be >= 0, got {value}")
        elif field.name.startswith("sum_"):
            if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
                raise StatsInputError(f"{type(stats).__name__}.{field.name} must be a number, got {value!r}")
            if not math.isfinite(value):
                raise StatsInputError(f"{type(stats).__name__}.{field.name} must be finite, got {value}")


def _as_1d(values: np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1:
        raise StatsInputError(f"{name} must be one-dimensional, got shape {array.shape}")
    return array


def covariance(n: int, sum_a: float, sum_b: float, sum_ab: float) -> float:
    """Sample covariance (ddof = 1) from sums; 0 below two users, as gbstats does."""
    if n < 2:
        return 0.0
    return (sum_ab - sum_a * sum_b / n) / (n - 1)


@dataclass(frozen=True)
class MeanStats:
    """Per-user values x_i of one arm: n users, Σx, Σx²."""

    n: int
    sum_x: float
    sum_x2: float

    def __post_init__(self) -> None:
        _check_sums(self)

    @classmethod
    def from_values(cls, x: np.ndarray) -> MeanStats:
        x = _as_1d(x, "x")
        return cls(int(x.size), float(x.sum()), float((x * x).sum()))

    @property
    def mean(self) -> float:
        return self.sum_x / self.n if self.n else 0.0

    @property
    def var(self) -> float:
        """Sample variance (ddof = 1), clipped at 0 against rounding; 0 below two users."""
        return max(covariance(self.n, self.sum_x, self.sum_x, self.sum_x2), 0.0)

    def __add__(self, other: MeanStats) -> MeanStats:
        if not isinstance(other, MeanStats):
            return NotImplemented
        return MeanStats(self.n + other.n, self.sum_x + other.sum_x, self.sum_x2 + other.sum_x2)


@dataclass(frozen=True)
class RatioStats:
    """Per-user numerator x_i and denominator y_i (e.g. clicks and impressions) of one arm.

    `n` counts every user in the arm, including users with y_i = 0: they carry no weight in the ratio
    but they are part of the randomised population, and dropping them would bias the variance.
    """

    n: int
    sum_x: float
    sum_x2: float
    sum_y: float
    sum_y2: float
    sum_xy: float

    def __post_init__(self) -> None:
        _check_sums(self)

    @classmethod
    def from_values(cls, x: np.ndarray, y: np.ndarray) -> RatioStats:
        x, y = _as_1d(x, "x"), _as_1d(y, "y")
        if x.shape != y.shape:
            raise StatsInputError(f"numerator and denominator differ in length: {x.size} != {y.size}")
        return cls(
            int(x.size),
            float(x.sum()),
            float((x * x).sum()),
            float(y.sum()),
            float((y * y).sum()),
            float((x * y).sum()),
        )

    @property
    def numerator(self) -> MeanStats:
        return MeanStats(self.n, self.sum_x, self.sum_x2)

    @property
    def denominator(self) -> MeanStats:
        return MeanStats(self.n, self.sum_y, self.sum_y2)

    @property
    def cov_xy(self) -> float:
        return covariance(self.n, self.sum_x, self.sum_y, self.sum_xy)

    @property
    def mean(self) -> float:
        """The ratio Σx / Σy (0 when Σy = 0; comparisons flag that case before using it)."""
        return self.sum_x / self.sum_y if self.sum_y else 0.0

    @property
    def var(self) -> float:
        """Per-user delta-method variance of the ratio: Var(x - R·y) / ȳ², i.e.

        (v_x - 2·R·c_xy + R²·v_y) / ȳ², the same as gbstats `RatioStatistic.variance`; divide by n for
        the variance of the ratio estimate.
        """
        mean_y = self.denominator.mean
        if mean_y == 0:
            return 0.0
        return ratio_variance(self.numerator.mean, self.numerator.var, mean_y, self.denominator.var, self.cov_xy)

    def __add__(self, other: RatioStats) -> RatioStats:
        if not isinstance(other, RatioStats):
            return NotImplemented
        return RatioStats(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


@dataclass(frozen=True)
class CovariateMeanStats:
    """CUPED input for a mean metric: post-period x_i, pre-period z_i of the same users, and Σ x·z."""

    post: MeanStats
    pre: MeanStats
    sum_xz: float

    def __post_init__(self) -> None:
        if not isinstance(self.post, MeanStats) or not isinstance(self.pre, MeanStats):
            raise StatsInputError("CovariateMeanStats needs MeanStats for post and pre")
        if self.post.n != self.pre.n:
            raise StatsInputError(f"post and pre count different users: {self.post.n} != {self.pre.n}")
        _check_sums(self)

    @classmethod
    def from_values(cls, x: np.ndarray, z: np.ndarray) -> CovariateMeanStats:
        x, z = _as_1d(x, "x"), _as_1d(z, "z")
        if x.shape != z.shape:
            raise StatsInputError(f"post and pre values differ in length: {x.size} != {z.size}")
        return cls(MeanStats.from_values(x), MeanStats.from_values(z), float((x * z).sum()))

    @property
    def n(self) -> int:
        return self.post.n

    @property
    def cov_post_pre(self) -> float:
        return covariance(self.n, self.post.sum_x, self.pre.sum_x, self.sum_xz)

    def __add__(self, other: CovariateMeanStats) -> CovariateMeanStats:
        if not isinstance(other, CovariateMeanStats):
            return NotImplemented
        return CovariateMeanStats(self.post + other.post, self.pre + other.pre, self.sum_xz + other.sum_xz)


@dataclass(frozen=True)
class CovariateRatioStats:
    """CUPED input for a ratio metric: post (x / y) and pre (u / w) ratio sums of the same users plus the
    four cross products between periods: Σx·u, Σx·w, Σy·u, Σy·w.

    Within-period cross products (Σx·y, Σu·w) live in `post.sum_xy` and `pre.sum_xy`.
    """

    post: RatioStats
    pre: RatioStats
    sum_xu: float
    sum_xw: float
    sum_yu: float
    sum_yw: float

    def __post_init__(self) -> None:
        if not isinstance(self.post, RatioStats) or not isinstance(self.pre, RatioStats):
            raise StatsInputError("CovariateRatioStats needs RatioStats for post and pre")
        if self.post.n != self.pre.n:
            raise StatsInputError(f"post and pre count different users: {self.post.n} != {self.pre.n}")
        _check_sums(self)

    @classmethod
    def from_values(cls, x: np.ndarray, y: np.ndarray, u: np.ndarray, w: np.ndarray) -> CovariateRatioStats:
        """x / y: post numerator / denominator per user; u / w: pre-period numerator / denominator."""
        post, pre = RatioStats.from_values(x, y), RatioStats.from_values(u, w)
        if post.n != pre.n:
            raise StatsInputError(f"post and pre values differ in length: {post.n} != {pre.n}")
        x, y, u, w = (np.asarray(a, dtype=float) for a in (x, y, u, w))
        return cls(post, pre, float((x * u).sum()), float((x * w).sum()), float((y * u).sum()), float((y * w).sum()))

    @property
    def n(self) -> int:
        return self.post.n

    def __add__(self, other: CovariateRatioStats) -> CovariateRatioStats:
        if not isinstance(other, CovariateRatioStats):
            return NotImplemented
        return CovariateRatioStats(
            *(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)),
        )


ArmStats = MeanStats | RatioStats
CovariateStats = CovariateMeanStats | CovariateRatioStats
