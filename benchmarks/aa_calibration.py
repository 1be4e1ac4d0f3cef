"""Calibration of the stats engine's CTR test by simulation: false positives, peeking, power.

Users differ in click propensity (Beta) and in activity (impressions per user: Poisson with a Gamma
mean, heavy-tailed), so impressions of one user are correlated and an impression-level test is
over-confident. Per experiment it reports, at alpha = 0.05:

- A/A: rejection rate of the engine's per-user delta-method test (`compare_ratios`) beside a naive
  impression-level two-proportion z-test on the same data;
- A/A with daily peeking (users arrive over `--days` days; a look after each day): the always-valid
  sequential test (`compare_sequential`, tuning = planned total users) beside naive peeking with the
  fixed-horizon test;
- power: a true +5 % CTR lift with users per arm from `experiments.power.sample_size` for 80 % power,
  using the per-user variance measured on a pilot simulation, as one would plan a real experiment.

    .venv/bin/python benchmarks/aa_calibration.py            # 1,000 experiments per scenario
    .venv/bin/python benchmarks/aa_calibration.py --quick    # 200
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from analysis.stats import RatioStats, compare_ratios, compare_sequential
from experiments.power import ctr_variance, power_of, sample_size

ALPHA = 0.05
BASE_CTR = 0.08
BETA_CONCENTRATION = 14.0  # a + b of the propensity Beta: intra-user correlation 1 / (a + b + 1)
MEAN_IMPRESSIONS = 20.0
LIFT = 0.05
SUMS = 6  # n, Σx, Σx², Σy, Σy², Σxy per (experiment, arm, day)


def simulate(rng: np.random.Generator, sims: int, users: int, days: int, lift: float, chunk: int = 50) -> np.ndarray:
    """Per-day sufficient statistics, cumulated over days: array (sims, 2 arms, days, 6 sums)."""
    out = np.zeros((sims, 2, days, SUMS))
    a = BASE_CTR * BETA_CONCENTRATION
    for start in range(0, sims, chunk):
        k = min(chunk, sims - start)
        shape = (k, 2, users)
        impressions = 1 + rng.poisson(rng.gamma(1.0, MEAN_IMPRESSIONS - 1, shape))
        propensity = rng.beta(a, BETA_CONCENTRATION - a, shape)
        propensity[:, 1] *= 1 + lift
        clicks = rng.binomial(impressions, np.minimum(propensity, 1.0)).astype(float)
        impressions = impressions.astype(float)
        day = rng.integers(0, days, shape)
        cell = (np.arange(k)[:, None, None] * 2 + np.arange(2)[None, :, None]) * days + day
        columns = (np.ones_like(clicks), clicks, clicks**2, impressions, impressions**2, clicks * impressions)
        for j, column in enumerate(columns):
            out[start : start + k, :, :, j] = np.bincount(cell.ravel(), column.ravel(), k * 2 * days).reshape(
                k, 2, days
            )
    return np.cumsum(out, axis=2)


def ratio_stats(sums: np.ndarray) -> RatioStats:
    return RatioStats(int(sums[0]), *(float(v) for v in sums[1:]))


def naive_z_rejects(final: np.ndarray) -> np.ndarray:
    """Impression-level pooled two-proportion z-test, vectorised over experiments: the over-confident baseline."""
    clicks, impressions = final[:, :, 1], final[:, :, 3]
    pooled = clicks.sum(axis=1) / impressions.sum(axis=1)
    se = np.sqrt(pooled * (1 - pooled) * (1 / impressions[:, 0] + 1 / impressions[:, 1]))
    z = (clicks[:, 1] / impressions[:, 1] - clicks[:, 0] / impressions[:, 0]) / se
    return np.abs(z) > 1.959963984540054


def rates(cumulative: np.ndarray, tuning: float) -> dict[str, float]:
    """Rejection rates of the four procedures over the simulated experiments."""
    sims, _, days, _ = cumulative.shape
    hits = {"engine": 0, "sequential_any_look": 0, "fixed_any_look": 0, "sequential_final": 0}
    for s in range(sims):
        looks = [(ratio_stats(cumulative[s, 0, d]), ratio_stats(cumulative[s, 1, d])) for d in range(days)]
        fixed = [compare_ratios(c, t, alpha=ALPHA).p_value for c, t in looks]
        sequential = [compare_sequential(c, t, alpha=ALPHA, tuning=tuning).p_value for c, t in looks]
        hits["engine"] += fixed[-1] < ALPHA
        hits["fixed_any_look"] += min(fixed) < ALPHA
        hits["sequential_any_look"] += min(sequential) < ALPHA
        hits["sequential_final"] += sequential[-1] < ALPHA
    result = {name: count / sims for name, count in hits.items()}
    result["naive_z"] = float(naive_z_rejects(cumulative[:, :, -1]).mean())
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="200 experiments per scenario instead of 1,000")
    parser.add_argument("--sims", type=int, default=None)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--seed", type=int, default=20240607)
    args = parser.parse_args()
    sims = args.sims or (200 if args.quick else 1000)
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()

    pilot = simulate(rng, 4, 50_000, 1, 0.0)[:, 0, -1].sum(axis=0)
    sigma2 = ratio_stats(pilot).var
    plan = sample_size(
        BASE_CTR, LIFT, alpha=ALPHA, power=0.8, variance=ctr_variance(BASE_CTR, per_user_variance=sigma2)
    )
    users = plan.users_per_arm
    binomial_per_user = BASE_CTR * (1 - BASE_CTR) / (pilot[3] / pilot[0])
    print(
        f"pilot: CTR {ratio_stats(pilot).mean:.4f}, per-user variance {sigma2:.5f}, design effect "
        f"{sigma2 / binomial_per_user:.2f} vs independent impressions"
    )
    print(
        f"plan: {users:,} users per arm for 80 % power at +{LIFT:.0%} (alpha {ALPHA}); {sims} experiments per "
        f"scenario, {args.days} daily looks\n"
    )

    aa = rates(simulate(rng, sims, users, args.days, 0.0), tuning=2 * users)
    lifted = rates(simulate(rng, sims, users, args.days, LIFT), tuning=2 * users)
    expected_power = power_of(BASE_CTR * LIFT, sigma2, users, alpha=ALPHA)
    se = math.sqrt(ALPHA * (1 - ALPHA) / sims)

    rows = [
        ("A/A false-positive rate", "engine per-user delta test", aa["engine"], f"{ALPHA} ± {1.96 * se:.3f}"),
        ("", "naive impression z-test (baseline)", aa["naive_z"], "over-confident"),
        (f"A/A, {args.days} daily looks", "engine sequential (any look)", aa["sequential_any_look"], f"<= {ALPHA}"),
        ("", "naive peeking, fixed test (baseline)", aa["fixed_any_look"], "inflated"),
        (f"+{LIFT:.0%} lift, power", "engine per-user delta test", lifted["engine"], f"{expected_power:.3f} planned"),
        ("", "engine sequential, final look", lifted["sequential_final"], "lower: price of peeking"),
        ("", "engine sequential, any look", lifted["sequential_any_look"], ""),
    ]
    print(f"{'scenario':<26} {'procedure':<38} {'rate':>6}  expected")
    for scenario, procedure, rate, expected in rows:
        print(f"{scenario:<26} {procedure:<38} {rate:>6.3f}  {expected}")
    print(
        f"\nnaive z / engine false-positive ratio: {aa['naive_z'] / max(aa['engine'], 1e-9):.1f}x; "
        f"naive peeking / sequential: {aa['fixed_any_look'] / max(aa['sequential_any_look'], 1e-9):.1f}x"
    )
    print(f"elapsed {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
