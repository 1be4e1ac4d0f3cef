"""Interleaving preference: which of two rankers users prefer when both rankers' results share one list.

Per query (one team-draft interleaved list, `search_core.interleaving`), the team whose results got more
clicks wins; equal non-zero clicks is a tie; a query without clicks says nothing and is not counted
(counting it as a tie would only shrink Δ in proportion to the click-through rate). Per user i the data
path counts wins of A (the control variant's ranker), wins of B (the treatment's) and ties; the reported
preference is

    Δ = (Σ wins_B − Σ wins_A) / Σ (wins_A + wins_B + ties)

i.e. the treatment's per-query win rate minus the control's. Signed like every other `Comparison`
(treatment − control, positive = the variant is better): texts that write (wins_A − wins_B)/(…) call the
treatment A; here A is always control. |Δ| ≤ 1 and it is already a share of queries, so `abs_lift` and
`rel_lift` are both Δ.

Test: a user-level delta-method ratio test (Deng, Knoblich & Lu, KDD '18), not a sign test or bootstrap.
Queries of one user are correlated (same person, same taste, same position bias), so the unit is the user:
Δ = Σd_i / Σq_i with d_i = wins_B − wins_A and q_i = queries with a click of user i is a ratio of per-user
sums, whose variance is `RatioStats.var / n` (including the −2·Δ·cov(d, q) term); the p-value and CI
are Student t with n − 1 degrees of freedom, as gbstats uses for one-sample tests. Unlike a sign test over
users it estimates Δ itself (with an interval) and uses the size of each user's preference; unlike a
bootstrap it needs only seven sums, is deterministic and costs nothing. Its calibration under A/A
interleaving with position-biased clicks is checked by simulation in `benchmarks/interleaving_aa.py`.
With one clicked query per user it is exactly the one-sample t-test of d_i.

What the data path computes, per user (SQL `GROUP BY user`, then sums over users): for each query
clicks_A, clicks_B = clicks on results of team A / B; then wins_a = countIf(clicks_A > clicks_B),
wins_b = countIf(clicks_B > clicks_A), ties = countIf(clicks_A = clicks_B AND clicks_A > 0); over users
n = count(), the three sums, and Σd², Σq², Σd·q. `InterleavingStats.from_values` does this with numpy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Literal

import numpy as np
from scipy import stats as sps

from analysis.errors import StatsInputError
from analysis.stats.comparison import NOT_ENOUGH_DATA, ZERO_VARIANCE, Comparison
from analysis.stats.effect import check_alpha
from analysis.stats.sufficient import RatioStats, _as_1d, _check_sums

QueryOutcome = Literal["A", "B", "tie"]


def query_outcome(teams_of_clicked: Sequence[str]) -> QueryOutcome | None:
    """The winner of one interleaved query from the teams of its clicked results; None without clicks."""
    unknown = set(teams_of_clicked) - {"A", "B"}
    if unknown:
        raise StatsInputError(f"clicked results must be credited to team 'A' or 'B', got {sorted(unknown)}")
    clicks_a = sum(1 for team in teams_of_clicked if team == "A")
    clicks_b = len(teams_of_clicked) - clicks_a
    if clicks_a == clicks_b:
        return "tie" if clicks_a else None
    return "A" if clicks_a > clicks_b else "B"


@dataclass(frozen=True)
class InterleavingStats:
    """Per-user interleaving outcomes summed over users: the sufficient statistics of the preference test.

    `n` counts every user shown an interleaved list, including users who never clicked (q_i = 0), as
    `RatioStats.n` does. d_i = wins_b − wins_a and q_i = wins_a + wins_b + ties per user.
    """

    n: int
    sum_wins_a: float
    sum_wins_b: float
    sum_ties: float
    sum_d2: float
    sum_q2: float
    sum_dq: float

    def __post_init__(self) -> None:
        _check_sums(self)
        for field in fields(self):
            if getattr(self, field.name) < 0 and field.name != "sum_dq":
                raise StatsInputError(f"InterleavingStats.{field.name} must be >= 0, got {getattr(self, field.name)}")

    @classmethod
    def from_values(cls, wins_a: np.ndarray, wins_b: np.ndarray, ties: np.ndarray) -> InterleavingStats:
        """From per-user counts of queries won by A, won by B and tied (same length: one entry per user)."""
        wins_a, wins_b, ties = _as_1d(wins_a, "wins_a"), _as_1d(wins_b, "wins_b"), _as_1d(ties, "ties")
        if not wins_a.shape == wins_b.shape == ties.shape:
            raise StatsInputError(
                f"wins_a, wins_b and ties differ in length: {wins_a.size}, {wins_b.size}, {ties.size}"
            )
        if min(wins_a.min(initial=0), wins_b.min(initial=0), ties.min(initial=0)) < 0:
            raise StatsInputError("wins and ties are counts of queries and cannot be negative")
        d, q = wins_b - wins_a, wins_a + wins_b + ties
        return cls(
            int(wins_a.size),
            float(wins_a.sum()),
            float(wins_b.sum()),
            float(ties.sum()),
            float((d * d).sum()),
            float((q * q).sum()),
            float((d * q).sum()),
        )

    @property
    def queries(self) -> float:
        """Queries with at least one click, over all users."""
        return self.sum_wins_a + self.sum_wins_b + self.sum_ties

    @property
    def preference(self) -> RatioStats:
        """Per-user (d_i, q_i) as a ratio metric: its mean is Δ and its `var` the per-user delta-method variance."""
        return RatioStats(
            self.n, self.sum_wins_b - self.sum_wins_a, self.sum_d2, self.queries, self.sum_q2, self.sum_dq
        )

    def __add__(self, other: InterleavingStats) -> InterleavingStats:
        if not isinstance(other, InterleavingStats):
            return NotImplemented
        return InterleavingStats(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


def compare_interleaving(stats: InterleavingStats, *, alpha: float = 0.05) -> Comparison:
    """Preference Δ for the treatment's ranker (team B) over the control's (team A), CI and two-sided p-value.

    control_mean / treatment_mean are the per-query win rates of A and B; abs_lift = rel_lift = Δ with the
    same interval (a share, so the inference is "absolute" and `p_value` = `p_value_abs`); n_control =
    n_treatment = users (every user saw both rankers). No clicked query or fewer
    than two users → NOT_ENOUGH_DATA; a preference without variance (every query tied, or every user
    with the same d_i / q_i) → ZERO_VARIANCE.
    """
    check_alpha(alpha)
    if not isinstance(stats, InterleavingStats):
        raise StatsInputError(f"compare_interleaving needs InterleavingStats, got {type(stats).__name__}")
    if stats.n < 2 or stats.queries == 0:
        return _degenerate(NOT_ENOUGH_DATA, stats)
    preference = stats.preference
    delta, var = preference.mean, preference.var / stats.n
    if var <= 0:
        return _degenerate(ZERO_VARIANCE, stats)
    se, dof = var**0.5, stats.n - 1
    halfwidth = float(sps.t.ppf(1 - alpha / 2, dof)) * se
    p_value = float(2 * sps.t.sf(abs(delta) / se, dof))
    return Comparison(
        control_mean=stats.sum_wins_a / stats.queries,
        treatment_mean=stats.sum_wins_b / stats.queries,
        abs_lift=delta,
        abs_ci_low=delta - halfwidth,
        abs_ci_high=delta + halfwidth,
        rel_lift=delta,
        ci_low=delta - halfwidth,
        ci_high=delta + halfwidth,
        p_value=min(max(p_value, 0.0), 1.0),
        p_value_abs=min(max(p_value, 0.0), 1.0),
        inference="absolute",
        n_control=stats.n,
        n_treatment=stats.n,
    )


def _degenerate(note: str, stats: InterleavingStats) -> Comparison:
    """No test, but the win rates when any query had a click."""
    rates = {}
    if stats.queries > 0:
        rates = {"control_mean": stats.sum_wins_a / stats.queries, "treatment_mean": stats.sum_wins_b / stats.queries}
    return Comparison.degenerate(note, n_control=stats.n, n_treatment=stats.n, **rates)
