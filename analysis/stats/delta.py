"""Delta-method formulas: the variance of a ratio of means, and of the relative lift.

Both follow gbstats (`utils.variance_of_ratios`, `frequentist/tests.py: TTest.variance`). The relative
interval built from `relative_variance` is the symmetric one, rel ± t·√var, not the absolute CI divided
by the control mean (which ignores the control's own noise) and not a log-ratio interval.
"""

from __future__ import annotations


def ratio_variance(mean_x: float, var_x: float, mean_y: float, var_y: float, cov_xy: float) -> float:
    """Variance of mean_x / mean_y by the delta method: (v_x − 2·R·c_xy + R²·v_y) / ȳ², R = x̄ / ȳ.

    With per-user variances this is the per-user variance of the linearised ratio (x − R·y) / ȳ;
    with variances of the means it is the variance of the ratio estimate. Clipped at 0 against rounding.
    """
    ratio = mean_x / mean_y
    return max(var_x - 2 * ratio * cov_xy + ratio * ratio * var_y, 0.0) / (mean_y * mean_y)


def relative_variance(control_mean: float, control_var: float, treatment_mean: float, treatment_var: float) -> float:
    """Variance of treatment_mean / control_mean − 1 for independent arms.

    `*_var` are variances of the arm *estimates* (per-user variance / n), so this is
    v_t/(m_c²·n_t) + v_c·m_t²/(m_c⁴·n_c) in per-user terms — `ratio_variance` with zero covariance.
    """
    return ratio_variance(treatment_mean, treatment_var, control_mean, control_var, 0.0)
