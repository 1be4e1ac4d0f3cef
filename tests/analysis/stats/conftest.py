"""Seeded per-user data shared by the stats tests: fixed numbers in the tests are computed from these."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def normal_arms() -> tuple[np.ndarray, np.ndarray]:
    """Control N(10, 2²) × 400 users, treatment N(10.3, 3²) × 300 users (unequal variances and sizes)."""
    rng = np.random.default_rng(20240601)
    return rng.normal(10.0, 2.0, 400), rng.normal(10.3, 3.0, 300)


@pytest.fixture
def click_arms() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """(clicks, impressions) per user for two arms, heterogeneous users, some with zero impressions."""
    rng = np.random.default_rng(7)

    def arm(n: int, lift: float) -> tuple[np.ndarray, np.ndarray]:
        impressions = rng.poisson(3, n)
        propensity = np.clip(rng.beta(1.0, 11.0, n) * lift, 0, 1)
        return rng.binomial(impressions, propensity).astype(float), impressions.astype(float)

    return arm(600, 1.0), arm(550, 1.15)


@pytest.fixture
def cuped_arms() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """(post, pre) per user; post correlates with pre (rho ≈ 0.7); treatment adds +0.12."""
    rng = np.random.default_rng(11)

    def arm(n: int, lift: float) -> tuple[np.ndarray, np.ndarray]:
        pre = rng.normal(5.0, 1.0, n)
        post = 5.0 + 0.7 * (pre - 5.0) + rng.normal(0, 0.714, n) + lift
        return post, pre

    return arm(500, 0.0), arm(480, 0.12)
