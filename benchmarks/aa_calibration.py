"""Calibration of the stats engine by simulation: false positives of every method, guardrails, peeking, power.

Users differ in click propensity (Beta, persistent from the pre-period into the experiment) and in activity
(impressions per user: Poisson with a Gamma mean, heavy-tailed), so impressions of one user are correlated and
an impression-level test is over-confident. At alpha = 0.05 it reports the rejection rate over simulated A/A
experiments of:

- each method's p-value as the analysis reports it (the relative lift's test, whose interval is shown):
  ratio CTR (delta method), a per-user mean (clicks per user), CUPED on both, the sequential test at the
  final look, a quantile (p90 of dwell times clustered by user); also at small arms (200 users);
- CUPED when one arm has no pre-period at all (new users in control only): the per-arm check keeps it at α;
- guardrails: the non-inferiority test's false "pass" when the true change sits exactly at the margin (its
  type-I error, α by construction), and its false "fail" in A/A;
- peeking: daily looks with the always-valid sequence against naive peeking with the fixed test;
- power: a true +5 % CTR lift with users per arm from `experiments.power.sample_size` for 80 % power, for a
  two-arm experiment and for three arms (two treatments in the primary's Holm family, planned at alpha / 2);
- capping: a heavy-tailed per-user metric (dwell per user with a Pareto tail) uncapped and capped at the 99th
  and 99.9th percentile of the pooled arms (`analysis.capping`), with the median interval width against uncapped;
- the Bayesian engine: how often an A/A experiment's chance to win reaches 95 % (flat and proper priors);
- segments: how often an A/A experiment split by platform (3 values) and country (5 values) flags a
  differential impact (through `analyze`, Holm across every segment value).

    .venv/bin/python -P benchmarks/aa_calibration.py            # 4,000 experiments per A/A scenario
    .venv/bin/python -P benchmarks/aa_calibration.py --quick    # 1,000
    .venv/bin/python -P benchmarks/aa_calibration.py --only capped,Bayesian,segments   # some rows only
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable

import numpy as np

from analysis import AnalysisPlan, BayesianOptions, ExperimentData, Moments, analyze
from analysis.capping import apply_cap
from analysis.measures import Capping
from analysis.stats import (
    CovariateMeanStats,
    CovariateRatioStats,
    MeanStats,
    QuantileStats,
    RatioStats,
    adjust_p_values,
    compare_bayesian,
    compare_cuped,
    compare_means,
    compare_quantiles,
    compare_ratios,
    compare_sequential,
    non_inferiority,
)
from analysis.stats.bayesian import Prior
from experiments.power import ctr_variance, power_of, sample_size

ALPHA = 0.05
BASE_CTR = 0.08
BETA_CONCENTRATION = 14.0  # a + b of the propensity Beta: intra-user correlation 1 / (a + b + 1)
MEAN_IMPRESSIONS = 20.0
LIFT = 0.05
MARGIN = 0.10


def users_arm(rng: np.random.Generator, n: int, lift: float, *, history: bool = True) -> dict[str, np.ndarray]:
    """Per-user post and pre-period clicks and impressions; the propensity persists, the treatment scales it."""
    a = BASE_CTR * BETA_CONCENTRATION
    propensity = rng.beta(a, BETA_CONCENTRATION - a, n)
    impressions = 1 + rng.poisson(rng.gamma(1.0, MEAN_IMPRESSIONS - 1, n))
    pre_impressions = rng.poisson(rng.gamma(1.0, MEAN_IMPRESSIONS, n)) if history else np.zeros(n, dtype=int)
    return {
        "clicks": rng.binomial(impressions, np.minimum(propensity * (1 + lift), 1.0)).astype(float),
        "impressions": impressions.astype(float),
        "pre_clicks": rng.binomial(pre_impressions, propensity).astype(float),
        "pre_impressions": pre_impressions.astype(float),
    }


def ctr(arm: dict[str, np.ndarray]) -> RatioStats:
    return RatioStats.from_values(arm["clicks"], arm["impressions"])


def cuped_ctr(arm: dict[str, np.ndarray]) -> CovariateRatioStats:
    return CovariateRatioStats.from_values(arm["clicks"], arm["impressions"], arm["pre_clicks"], arm["pre_impressions"])


def clicks(arm: dict[str, np.ndarray]) -> MeanStats:
    return MeanStats.from_values(arm["clicks"])


def cuped_clicks(arm: dict[str, np.ndarray]) -> CovariateMeanStats:
    return CovariateMeanStats.from_values(arm["clicks"], arm["pre_clicks"])


def dwell_p90(rng: np.random.Generator, arm: dict[str, np.ndarray]) -> QuantileStats:
    """Lognormal dwell times, one per click, with a per-user scale (values of one user are correlated)."""
    counts = np.maximum(arm["clicks"].astype(int), 1)
    users = np.repeat(np.arange(counts.size), counts)
    scale = np.repeat(rng.normal(0.0, 0.5, counts.size), counts)
    return QuantileStats.from_values(rng.lognormal(8.0 + scale, 0.6), users, 0.9)


Procedure = Callable[[np.random.Generator, dict, dict], bool]
"""(rng, control arm, treatment arm) → whether the procedure rejects (or, for guardrails, the event counted)."""

PROCEDURES: dict[str, Procedure] = {
    "CTR, delta method": lambda rng, c, t: compare_ratios(ctr(c), ctr(t)).p_value < ALPHA,
    "clicks per user, Welch": lambda rng, c, t: compare_means(clicks(c), clicks(t)).p_value < ALPHA,
    "CTR, CUPED": lambda rng, c, t: compare_cuped(cuped_ctr(c), cuped_ctr(t)).p_value < ALPHA,
    "clicks per user, CUPED": lambda rng, c, t: compare_cuped(cuped_clicks(c), cuped_clicks(t)).p_value < ALPHA,
    "CTR, sequential (one look)": lambda rng, c, t: (
        compare_sequential(ctr(c), ctr(t), tuning=2 * c["clicks"].size).p_value < ALPHA
    ),
    "dwell p90, quantile delta method": lambda rng, c, t: (
        compare_quantiles(dwell_p90(rng, c), dwell_p90(rng, t)).p_value < ALPHA
    ),
    "guardrail CTR, A/A: false fail": lambda rng, c, t: (
        non_inferiority(ctr(c), ctr(t), margin=MARGIN, direction="higher_is_better").status == "fail"
    ),
}


def rate(rng: np.random.Generator, sims: int, users: int, procedure: Procedure, **arms: object) -> float:
    hits = 0
    for _ in range(sims):
        control = users_arm(rng, users, 0.0, history=bool(arms.get("control_history", True)))
        treatment = users_arm(rng, users, float(arms.get("lift", 0.0)))
        hits += procedure(rng, control, treatment)
    return hits / sims


def peeking(rng: np.random.Generator, sims: int, users: int, days: int) -> tuple[float, float]:
    """Any-look rejection over daily looks: (always-valid sequential, naive fixed-horizon)."""
    sequential = naive = 0
    for _ in range(sims):
        arms = [users_arm(rng, users, 0.0) for _ in range(2)]
        day = [rng.integers(0, days, users) for _ in range(2)]
        seq_hit = naive_hit = False
        for d in range(days):
            looks = [
                RatioStats.from_values(a["clicks"][k <= d], a["impressions"][k <= d])
                for a, k in zip(arms, day, strict=True)
            ]
            seq_hit |= compare_sequential(*looks, tuning=2 * users).p_value < ALPHA
            naive_hit |= (compare_ratios(*looks).p_value or 1.0) < ALPHA
        sequential += seq_hit
        naive += naive_hit
    return sequential / sims, naive / sims


def power_runs(rng: np.random.Generator, sims: int, users: int, treatments: int) -> float:
    """Share of experiments where treatment 1 (true +5 %) is significant after the primary family's Holm."""
    hits = 0
    for _ in range(sims):
        control = ctr(users_arm(rng, users, 0.0))
        p_values = [compare_ratios(control, ctr(users_arm(rng, users, LIFT))).p_value for _ in range(treatments)]
        hits += adjust_p_values(p_values, "holm")[0] < ALPHA
    return hits / sims


def heavy_dwell(rng: np.random.Generator, n: int) -> np.ndarray:
    """Dwell per user: a Pareto tail of shape 1.5 (finite mean, infinite variance) over a few seconds each."""
    return (1 + rng.pareto(1.5, n)) * 3000.0


def capping_rows(rng: np.random.Generator, sims: int, users: int) -> dict[str, tuple[float, float]]:
    """label → (A/A rejection rate, median interval width ÷ the uncapped one) of dwell per user."""
    levels = {"uncapped": None, "capped at p99": 0.99, "capped at p99.9": 0.999}
    hits = dict.fromkeys(levels, 0)
    widths: dict[str, list[float]] = {label: [] for label in levels}
    for _ in range(sims):
        control, treatment = heavy_dwell(rng, users), heavy_dwell(rng, users)
        for label, level in levels.items():
            values = np.concatenate([control, treatment])
            if level is not None:
                values, _, _ = apply_cap(values, Capping("percentile", level))
            result = compare_means(MeanStats.from_values(values[:users]), MeanStats.from_values(values[users:]))
            hits[label] += result.p_value < ALPHA
            widths[label].append(result.ci_high - result.ci_low)
    raw = float(np.median(widths["uncapped"]))
    return {label: (hits[label] / sims, float(np.median(widths[label])) / raw) for label in levels}


def bayesian_calls(rng: np.random.Generator, sims: int, users: int, prior: Prior) -> tuple[float, float]:
    """A/A CTR: how often the chance to win reaches 95 % (a ship call) and falls to 5 % (a no-ship call): what a
    one-sided test at 5 % in each direction would reject."""
    threshold = BayesianOptions().chance_to_win
    wins = losses = 0
    for _ in range(sims):
        result = compare_bayesian(ctr(users_arm(rng, users, 0.0)), ctr(users_arm(rng, users, 0.0)), prior=prior)
        wins += (result.chance_to_win or 0.5) >= threshold
        losses += (result.chance_to_win or 0.5) <= 1 - threshold
    return wins / sims, losses / sims


SEGMENTS = {"platform": (0.5, 0.3, 0.2), "country": (0.4, 0.2, 0.15, 0.15, 0.1)}


def segment_flags(rng: np.random.Generator, sims: int, users: int) -> float:
    """A/A split by platform and country: the share of experiments with any flagged differential impact."""
    plan = AnalysisPlan("aa", segments=tuple(SEGMENTS))
    flagged = 0
    for _ in range(sims):
        arms, segments = {}, {}
        for arm in ("control", "treatment"):
            values = users_arm(rng, users, 0.0)
            matrix = np.column_stack([values["clicks"], values["impressions"]])
            arms[arm] = Moments.from_values(("clicks", "impressions"), matrix)
            for attribute, shares in SEGMENTS.items():
                labels = rng.choice(len(shares), size=users, p=shares)
                for value in range(len(shares)):
                    segment = Moments.from_values(("clicks", "impressions"), matrix[labels == value])
                    segments.setdefault(attribute, {}).setdefault(f"v{value}", {})[arm] = segment
        results = analyze(ExperimentData("aa", arms, segments=segments), plan)
        flagged += any(r.differential is not None and r.differential.flagged for r in results.segments)
    return flagged / sims


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1,000 experiments per A/A scenario instead of 4,000")
    parser.add_argument("--sims", type=int, default=None)
    parser.add_argument("--users", type=int, default=2000, help="users per arm in the A/A scenarios")
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--seed", type=int, default=20240607)
    parser.add_argument("--only", default="", help="comma-separated words: run only the rows whose name has one")
    args = parser.parse_args()
    only = [w.strip() for w in args.only.split(",") if w.strip()]
    sims = args.sims or (1000 if args.quick else 4000)
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    band = 1.96 * math.sqrt(ALPHA * (1 - ALPHA) / sims)
    print(f"{sims} A/A experiments per row, {args.users:,} users per arm; α = {ALPHA} ± {band:.3f} (95 % band)\n")
    print(f"{'scenario':<44} {'rate':>6}  target")

    def wanted(name: str) -> bool:
        return not only or any(word in name for word in only)

    def row(name: str, value: float, target: str) -> None:
        print(f"{name:<44} {value:>6.3f}  {target}", flush=True)

    if wanted("dwell per user (heavy tail)"):
        for label, (value, width) in capping_rows(rng, sims, args.users).items():
            target = "miscalibrated" if label == "uncapped" else "[0.04, 0.06]"
            row(f"dwell per user (heavy tail), {label}", value, f"{target}; median CI width {width:.2f}x uncapped")
    if wanted("Bayesian"):
        for label, prior in (("flat", Prior()), ("proper N(0, 0.3²)", Prior(proper=True))):
            wins, losses = bayesian_calls(rng, sims, args.users, prior)
            row(f"CTR, Bayesian {label}: chance to win >= 95 %", wins, "~0.05 (one-sided 5 %)")
            row(f"CTR, Bayesian {label}: chance to win <= 5 %", losses, "~0.05 (one-sided 5 %)")
    if wanted("segments"):
        row("segments (3 + 5 values): any differential flag", segment_flags(rng, max(sims // 4, 200), 1000), "<= 0.05")
    if only:
        print(f"\nelapsed {time.perf_counter() - started:.0f} s")
        return

    for name, procedure in PROCEDURES.items():
        # an always-valid test spends its alpha over every look, so one look rejects far less often
        target = "<= 0.05 (always valid)" if "sequential" in name else "[0.04, 0.06]"
        row(name, rate(rng, sims, args.users, procedure), target)
    small = PROCEDURES["CTR, delta method"]
    row("CTR, delta method, 200 users per arm", rate(rng, sims, 200, small), "[0.04, 0.06]")
    row(
        "CTR, CUPED, control without history",
        rate(rng, sims, args.users, PROCEDURES["CTR, CUPED"], control_history=False),
        "[0.04, 0.06]",
    )
    boundary = -MARGIN  # the true change sits exactly at the margin: a false pass is the test's type-I error
    row(
        "guardrail CTR at the margin: false pass",
        rate(
            rng,
            sims,
            args.users,
            lambda r, c, t: (
                non_inferiority(ctr(c), ctr(t), margin=MARGIN, direction="higher_is_better").status == "pass"
            ),
            lift=boundary,
        ),
        "[0.04, 0.06]",
    )
    sequential, naive = peeking(rng, max(sims // 4, 200), 1000, args.days)
    row(f"A/A, {args.days} daily looks: sequential, any look", sequential, "<= 0.05")
    row(f"A/A, {args.days} daily looks: naive fixed test, any look", naive, "inflated")

    pilot = ctr(users_arm(rng, 200_000, 0.0))
    variance = ctr_variance(BASE_CTR, per_user_variance=pilot.var)
    power_sims = max(sims // 4, 200)
    for arms in (2, 3):
        plan = sample_size(BASE_CTR, LIFT, alpha=ALPHA, power=0.8, variance=variance, arms=arms)
        expected = power_of(BASE_CTR * LIFT, pilot.var, plan.users_per_arm, alpha=plan.test_alpha)
        achieved = power_runs(rng, power_sims, plan.users_per_arm, arms - 1)
        row(f"+5 % lift, {arms} arms, {plan.users_per_arm:,}/arm planned (Holm)", achieved, f"{expected:.3f} planned")
    print(f"\nelapsed {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
