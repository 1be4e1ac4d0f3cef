"""Sufficient statistics: sums as SQL returns them, pooled by addition, malformed input refused."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.errors import StatsInputError
from analysis.stats import CovariateMeanStats, CovariateRatioStats, MeanStats, RatioStats


def test_mean_stats_moments_match_numpy():
    x = np.random.default_rng(0).normal(3.0, 2.0, 257)
    stats = MeanStats.from_values(x)
    assert stats.n == 257 and isinstance(stats.n, int)
    assert stats.mean == pytest.approx(x.mean(), rel=1e-12)
    assert stats.var == pytest.approx(x.var(ddof=1), rel=1e-10)


def test_ratio_variance_is_variance_of_linearised_values(click_arms):
    """Delta method with the −2·R·cov term == sample variance of (x − R·y)/ȳ, zero-denominator users included."""
    x, y = click_arms[0]
    stats = RatioStats.from_values(x, y)
    ratio = x.sum() / y.sum()
    assert (y == 0).any() and stats.n == x.size
    assert stats.mean == pytest.approx(ratio, rel=1e-12)
    assert stats.cov_xy == pytest.approx(np.cov(x, y, ddof=1)[0, 1], rel=1e-10)
    assert stats.var == pytest.approx(np.var((x - ratio * y) / y.mean(), ddof=1), rel=1e-10)


def test_addition_pools_shards():
    rng = np.random.default_rng(1)
    x, y, u, w = rng.poisson(2, (4, 100)).astype(float)
    whole = CovariateRatioStats.from_values(x, y, u, w)
    halves = CovariateRatioStats.from_values(x[:40], y[:40], u[:40], w[:40]) + CovariateRatioStats.from_values(
        x[40:], y[40:], u[40:], w[40:]
    )
    assert halves.n == whole.n
    assert halves.post.sum_xy == pytest.approx(whole.post.sum_xy) and halves.sum_yw == pytest.approx(whole.sum_yw)
    means = CovariateMeanStats.from_values(x[:40], u[:40]) + CovariateMeanStats.from_values(x[40:], u[40:])
    assert means.cov_post_pre == pytest.approx(np.cov(x, u, ddof=1)[0, 1])


def test_degenerate_sizes_have_zero_variance_not_nan():
    assert MeanStats(0, 0.0, 0.0).mean == 0.0
    assert MeanStats(1, 2.0, 4.0).var == 0.0
    assert RatioStats(3, 0.0, 0.0, 0.0, 0.0, 0.0).var == 0.0


@pytest.mark.parametrize(
    "build",
    [
        lambda: MeanStats(-2, 0.0, 0.0),
        lambda: MeanStats(True, 0.0, 0.0),
        lambda: MeanStats(2, "1", 1.0),
        lambda: MeanStats(2, float("inf"), 1.0),
        lambda: RatioStats(2, 1.0, 1.0, float("nan"), 1.0, 1.0),
        lambda: RatioStats.from_values(np.ones(3), np.ones(4)),
        lambda: MeanStats.from_values(np.ones((2, 2))),
        lambda: CovariateMeanStats(MeanStats(3, 1.0, 1.0), MeanStats(4, 1.0, 1.0), 1.0),
        lambda: CovariateMeanStats(MeanStats(3, 1.0, 1.0), RatioStats(3, 1, 1, 1, 1, 1), 1.0),
        lambda: CovariateRatioStats.from_values(np.ones(3), np.ones(3), np.ones(2), np.ones(2)),
    ],
)
def test_malformed_statistics_raise(build):
    with pytest.raises(StatsInputError):
        build()


def test_adding_different_kinds_is_a_type_error():
    with pytest.raises(TypeError):
        MeanStats(1, 1.0, 1.0) + RatioStats(1, 1.0, 1.0, 1.0, 1.0, 1.0)  # type: ignore[operator]
