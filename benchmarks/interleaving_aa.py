"""Team-draft interleaving under position-biased clicks: A/A calibration, power, and A/B CTR for comparison.

Synthetic search traffic, no serving stack. A pool of queries, each with candidates graded 0–3; a ranker
is a noisy sort of the grades (score = grade + N(0, noise²)), top K shown. Clicks follow a cascade-free
position-biased model: P(click) = examination(pos) × min(1, attractiveness(grade) × u), examination
= 1/pos^0.9, u a per-user log-normal propensity; users issue 1 + Poisson(Gamma(1, 4)) queries (heavy-
tailed). Every merge is the real `search_core.interleaving.team_draft` with the coin flips enumerated
(≤ ⌈K/2⌉ per list, all patterns precomputed per query; a request draws one uniformly, as its SHA-256
flips do — checked below on real request ids with `team_draft_interleave`); the analysis is the real
`analysis.stats.compare_interleaving` (user-level delta-method test). The A/B CTR test splits the same
kind of users 50/50, each arm seeing one ranker's list, and runs `compare_ratios` on per-user CTR.

Scenarios, at alpha = 0.05:
- A/A: the same ranker on both teams (and two different rankers of equal quality): interleaving
  rejection rate must be alpha; position bias must not favour either team;
- power: ranker B less noisy (more relevant results up top); users needed for 80 % power for
  interleaving and for the A/B CTR test from a large pilot, then checked by simulation.

    .venv/bin/python benchmarks/interleaving_aa.py            # 2,000 A/A experiments per scenario
    .venv/bin/python benchmarks/interleaving_aa.py --quick    # 500
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from analysis.stats import InterleavingStats, RatioStats, compare_interleaving, compare_ratios
from experiments.power import ctr_variance, sample_size
from search_core.interleaving import team_draft, team_draft_interleave

ALPHA = 0.05
K = 10
CANDIDATES = 40
QUERIES = 300
GRADE_P = (0.55, 0.25, 0.13, 0.07)
ATTRACTIVENESS = np.array([0.03, 0.2, 0.45, 0.8, 0.0])  # by grade 0-3; index 4 (= -1) pads empty slots
EXAMINATION = 1.0 / np.arange(1, K + 1) ** 0.9
USER_SIGMA = 0.6
NOISE_A, NOISE_B = 1.0, 0.8
FLIPS = math.ceil(K / 2)


@dataclass(frozen=True)
class Scenario:
    """Precomputed pages per query: grades shown per coin pattern with team B's slots, and each ranker's own page."""

    name: str
    grades: np.ndarray  # (queries, patterns, K) grade shown at each position, -1 if empty
    team_b: np.ndarray  # (queries, patterns, K) True where team B contributed the result
    page_a: np.ndarray  # (queries, K) grades of ranker A's own top K (A/B arm A)
    page_b: np.ndarray  # (queries, K) grades of ranker B's own top K (A/B arm B)


def rank(rng: np.random.Generator, grades: np.ndarray, noise: float) -> np.ndarray:
    """A synthetic ranker: candidate indices of the top K by grade + Gaussian noise, per query."""
    scores = grades + rng.normal(0, noise, grades.shape)
    return np.argsort(-scores, axis=1)[:, :K]


def build(name: str, grades: np.ndarray, top_a: np.ndarray, top_b: np.ndarray) -> Scenario:
    """Interleave both rankers' pages for every query and every coin pattern with the real merge."""
    patterns = 2**FLIPS
    shown = np.full((len(grades), patterns, K), -1)
    team_b = np.zeros((len(grades), patterns, K), dtype=bool)
    for q, (list_a, list_b) in enumerate(zip(top_a, top_b, strict=True)):
        ids_a, ids_b = [str(i) for i in list_a], [str(i) for i in list_b]
        for p in range(patterns):
            coins = [bool(p >> bit & 1) for bit in range(FLIPS)]
            for pos, item in enumerate(team_draft(ids_a, ids_b, K, coins)):
                shown[q, p, pos] = grades[q, int(item.image_id)]
                team_b[q, p, pos] = item.team == "B"
    page = np.take_along_axis
    return Scenario(name, shown, team_b, page(grades, top_a, 1), page(grades, top_b, 1))


def scenarios(rng: np.random.Generator) -> dict[str, Scenario]:
    """Same ranker twice; two rankers of equal quality; a better ranker B.

    One fixed pair of noisy rankers differs by chance over a finite query pool, so the equal-quality
    scenario lists every query twice, once with each ranker as team A: no preference exists by
    construction, yet the two lists differ and overlap as real rankers' do.
    """
    grades = rng.choice(len(GRADE_P), size=(QUERIES, CANDIDATES), p=GRADE_P)
    ranker_a, ranker_a2, ranker_b = (rank(rng, grades, noise) for noise in (NOISE_A, NOISE_A, NOISE_B))
    both = np.concatenate
    return {
        "same": build("A/A, same ranker", grades, ranker_a, ranker_a),
        "equal": build(
            "A/A, equal-quality rankers",
            both([grades, grades]),
            both([ranker_a, ranker_a2]),
            both([ranker_a2, ranker_a]),
        ),
        "better": build("B better", grades, ranker_a, ranker_b),
    }


def clicks(rng: np.random.Generator, grades: np.ndarray, propensity: np.ndarray) -> np.ndarray:
    """Position-biased clicks (searches, K) for the grades shown and each search's user propensity."""
    p = EXAMINATION * np.minimum(1.0, ATTRACTIVENESS[grades] * propensity[:, None])
    return rng.random(grades.shape) < p


def simulate(rng: np.random.Generator, sc: Scenario, experiments: int, users: int, ab: bool) -> tuple[list, list]:
    """Comparisons of `experiments` simulated experiments: interleaving, and if `ab` an A/B CTR test on the same
    users (same propensities and queries, split 50/50, each arm shown one ranker's own page, clicks drawn anew)."""
    interleaving, ab_tests = [], []
    chunk = max(1, 2_000_000 // (users * 5 * K))
    for start in range(0, experiments, chunk):
        e = min(chunk, experiments - start)
        cells = e * users
        propensity = rng.lognormal(-(USER_SIGMA**2) / 2, USER_SIGMA, cells)
        per_user = 1 + rng.poisson(rng.gamma(1.0, 4.0, cells))
        user = np.repeat(np.arange(cells), per_user)
        query = rng.integers(0, len(sc.grades), user.size)
        pattern = rng.integers(0, 2**FLIPS, user.size)
        hit = clicks(rng, sc.grades[query, pattern], propensity[user])
        clicks_b = (hit & sc.team_b[query, pattern]).sum(axis=1)
        clicks_a = hit.sum(axis=1) - clicks_b
        outcome = (clicks_a > clicks_b, clicks_b > clicks_a, (clicks_a == clicks_b) & (clicks_a > 0))
        counts = [np.bincount(user, weights=o, minlength=cells).reshape(e, users) for o in outcome]
        interleaving += [compare_interleaving(InterleavingStats.from_values(*(c[i] for c in counts))) for i in range(e)]
        if ab:
            arm_b = rng.random(cells) < 0.5
            page = np.where(arm_b[user][:, None], sc.page_b[query], sc.page_a[query])
            user_clicks = np.bincount(user, weights=clicks(rng, page, propensity[user]).sum(axis=1), minlength=cells)
            views = (K * per_user).astype(float)
            for i in range(e):
                rows = slice(i * users, (i + 1) * users)
                arms = [(user_clicks[rows][m], views[rows][m]) for m in (~arm_b[rows], arm_b[rows])]
                ab_tests.append(compare_ratios(*(RatioStats.from_values(*arm) for arm in arms)))
    return interleaving, ab_tests


def rejection_rate(results: list) -> float:
    return float(np.mean([r.p_value is not None and r.p_value < ALPHA for r in results])) if results else math.nan


def users_for_power(rng: np.random.Generator, sc: Scenario, pilot_users: int) -> tuple[int, int, dict[str, float]]:
    """Users (total) for 80 % power: interleaving one-sample test and A/B CTR test, from one large pilot."""
    (pilot,), (ab,) = simulate(rng, sc, 1, pilot_users, ab=True)
    se = (pilot.abs_ci_high - pilot.abs_ci_low) / (2 * sps.t.ppf(1 - ALPHA / 2, pilot_users - 1))
    per_user_var = se**2 * pilot_users
    z = sps.norm.ppf(1 - ALPHA / 2) + sps.norm.ppf(0.8)
    interleaving_users = math.ceil(z**2 * per_user_var / pilot.abs_lift**2)
    # Var(CTR_B − CTR_A) = σ²/(N/2) + σ²/(N/2) = 4σ²/N for N users split evenly
    ab_var = ((ab.abs_ci_high - ab.abs_ci_low) / (2 * sps.norm.ppf(1 - ALPHA / 2))) ** 2 * pilot_users / 4
    plan = sample_size(
        ab.control_mean, ab.rel_lift, alpha=ALPHA, variance=ctr_variance(ab.control_mean, per_user_variance=ab_var)
    )
    facts = {"delta": pilot.abs_lift, "ctr_a": ab.control_mean, "ctr_lift": ab.rel_lift}
    return interleaving_users, plan.total_users, facts


def coin_balance(requests: int) -> tuple[float, float]:
    """Over real request ids merging identical lists: share of top slots, and of all slots, going to team A."""
    ranking = [f"img-{i}" for i in range(K)]
    merges = [team_draft_interleave(ranking, ranking, K, f"req-{i:06d}") for i in range(requests)]
    top_a = float(np.mean([m[0].team == "A" for m in merges]))
    share_a = float(np.mean([item.team == "A" for m in merges for item in m]))
    return top_a, share_a


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="500 A/A experiments per scenario instead of 2,000")
    parser.add_argument("--sims", type=int, default=None, help="A/A experiments per scenario")
    parser.add_argument("--users", type=int, default=1000, help="users per A/A experiment")
    parser.add_argument("--seed", type=int, default=20240609)
    args = parser.parse_args()
    sims = args.sims or (500 if args.quick else 2000)
    power_sims = sims // 4
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()

    top_a, share_a = coin_balance(4000 if args.quick else 20000)
    print(f"real request ids, A/A lists: top slot to team A {top_a:.3f}, all slots to team A {share_a:.3f} (0.5)")
    built = scenarios(rng)
    n_int, n_ab, facts = users_for_power(rng, built["better"], 100_000 if args.quick else 400_000)
    print(
        f"B better (noise {NOISE_B} vs {NOISE_A}): preference Δ {facts['delta']:+.4f}, CTR {facts['ctr_a']:.4f} "
        f"→ {facts['ctr_lift']:+.2%}; users for 80 % power: interleaving {n_int:,}, A/B CTR {n_ab:,} total "
        f"({n_ab / n_int:.0f}x)\n"
    )
    band = 1.96 * math.sqrt(ALPHA * (1 - ALPHA) / sims)
    runs = [
        ("same", args.users, sims, True, f"{ALPHA} ± {band:.3f}"),
        ("same", 100, sims, False, f"{ALPHA} ± {band:.3f}"),
        ("equal", args.users, sims, True, f"{ALPHA} ± {band:.3f}"),
        ("better", n_int, power_sims, True, "interleaving 0.80"),
        ("better", n_ab, max(power_sims // 5, 20), True, "A/B 0.80"),
    ]
    print(f"{'scenario':<28} {'users':>7} {'runs':>5} {'mean Δ':>8} {'interleaving':>12} {'A/B CTR':>8}  expected")
    for key, users, experiments, ab, expected in runs:
        interleaving, ab_tests = simulate(rng, built[key], experiments, users, ab)
        mean_delta = np.mean([r.abs_lift for r in interleaving if r.abs_lift is not None])
        ab_rate = f"{rejection_rate(ab_tests):>8.3f}" if ab else f"{'-':>8}"
        print(
            f"{built[key].name:<28} {users:>7,} {experiments:>5} {mean_delta:>+8.4f} "
            f"{rejection_rate(interleaving):>12.3f} {ab_rate}  {expected}"
        )
    print(f"\nelapsed {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
