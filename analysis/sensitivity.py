"""Users a comparison would need for a given power on the effect it observed: the A/B vs interleaving yardstick.

A row's standard error shrinks as 1/√n in its users, so a row measured on n users with standard error se needs
n · (se · (z₁₋α/₂ + z_power) / |Δ|)² users for a two-sided test at level α to detect Δ with that power. se is
read back from the row's absolute CI (half-width / z₁₋α/₂; the engine's intervals are Wald-type, and with the
hundreds of users this is used on, its t quantiles equal z's to three digits). n is every user of the
comparison: both arms of an A/B row (the traffic split stays as it was), each user once for an interleaving
row (every user saw both rankers). Running the same method on the two kinds of row gives comparable numbers:
how many users each design needs to see the same ranker difference.

A closed form rather than statsmodels' `NormalIndPower`, which solves for a standardised effect and arm sizes that
a row does not carry, only its standard error; tests/analysis/test_sensitivity.py checks the two agree.
"""

from __future__ import annotations

from scipy import stats as sps

from analysis.results import MetricResult


def compared_users(row: MetricResult) -> int:
    """Users behind a row: both arms of an A/B comparison, every user once for interleaving (each saw both)."""
    return row.n_control if row.method == "interleaving" else row.n_control + row.n_treatment


def users_for_power(row: MetricResult, *, alpha: float = 0.05, power: float = 0.8) -> float | None:
    """Users needed to detect the row's observed absolute effect; None without an effect or an interval."""
    if row.abs_lift is None or row.abs_ci_low is None or row.abs_ci_high is None or row.abs_lift == 0:
        return None
    z_alpha = float(sps.norm.ppf(1 - alpha / 2))
    se = (row.abs_ci_high - row.abs_ci_low) / (2 * z_alpha)
    return compared_users(row) * (se * (z_alpha + float(sps.norm.ppf(power))) / row.abs_lift) ** 2
