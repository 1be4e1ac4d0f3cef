"""The simulated user: who searches when, what they click, how long they stay.

A position-based click model (Craswell et al. 2008): P(click) = P(examine position) × P(attractive).
Examination falls with position, `examine(p) = 1 / p**position_decay`; attractiveness grows with true
relevance (same class as the query) and varies by user (`user_bias`, a normal offset on the logit),
so CTR differs between users and per-user analysis matters. Dwell time is lognormal, longer for
relevant results. `variant_effects` scales attractiveness for the users of one variant on one platform: a
client-side change (a result layout) that works on every platform but one. Users arrive over the simulated
days as a Poisson process and some come back (`return_rate`), so a user has several searches and pre-period
activity exists for CUPED.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ClickModel:
    """Parameters of simulated behaviour (defaults give CTR around 10 % on a decent ranker)."""

    position_decay: float = 0.9
    attract_relevant: float = 0.25
    attract_irrelevant: float = 0.02
    user_bias_sd: float = 0.5
    dwell_log_mean_relevant: float = math.log(12_000)
    dwell_log_mean_irrelevant: float = math.log(2_500)
    dwell_log_sd: float = 0.8
    variant_effects: tuple[tuple[str, str, float], ...] = ()
    """(variant, platform, factor): attractiveness × factor for that variant's users on that platform."""

    def effect(self, variant: str, platform: str) -> float:
        """The attractiveness factor of a variant's users on a platform (1 without an effect)."""
        return next((f for v, p, f in self.variant_effects if (v, p) == (variant, platform)), 1.0)

    def examine(self, positions: np.ndarray) -> np.ndarray:
        return 1.0 / positions.astype(float) ** self.position_decay

    def attractiveness(self, relevant: np.ndarray, user_bias: float) -> np.ndarray:
        base = np.where(relevant, self.attract_relevant, self.attract_irrelevant)
        logit = np.log(base / (1 - base)) + user_bias
        return 1.0 / (1.0 + np.exp(-logit))

    def clicks(
        self, relevant: np.ndarray, user_bias: float, rng: np.random.Generator, effect: float = 1.0
    ) -> np.ndarray:
        """Which of the shown results (in position order, 1-based) are clicked; `effect` scales attractiveness."""
        positions = np.arange(1, len(relevant) + 1)
        p = self.examine(positions) * np.minimum(self.attractiveness(relevant, user_bias) * effect, 1.0)
        return rng.random(len(relevant)) < p

    def dwell_ms(self, relevant: bool, rng: np.random.Generator) -> float:
        mean = self.dwell_log_mean_relevant if relevant else self.dwell_log_mean_irrelevant
        return float(rng.lognormal(mean, self.dwell_log_sd))


@dataclass(frozen=True)
class TrafficPlan:
    """Who comes when: `users` users over `pre_days` + `days` simulated days (UTC), starting at `start`."""

    users: int = 500
    days: int = 7
    pre_days: int = 3
    sessions_per_user_day: float = 0.35
    searches_per_session: float = 1.5
    return_rate: float = 0.6
    seed: int = 0
