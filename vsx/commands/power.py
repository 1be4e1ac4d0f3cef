"""`vsx power`: users per arm and days needed to detect a relative CTR lift (or the MDE of a given size)."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from experiments.errors import PowerInputError
from experiments.power import ctr_variance, minimum_detectable_effect, sample_size

POWER_HELP = "Users per arm and days needed to detect a relative CTR lift, or the MDE for a given number of users."
VARIANCE_HELP = """
Variance model. The analysis tests CTR per user (delta method), so what matters is the per-user variance
of the linearised CTR. Give one of: --icc (intra-user correlation of clicks), --user-variance (variance of
per-user click propensities; ICC = V / (p(1-p))), or --per-user-variance (sigma^2 measured on earlier
traffic, e.g. RatioStats.var). Otherwise the binomial approximation p(1-p)·DE/m is used with design effect
DE = 1 + (m - 1)·ICC for m = --impressions-per-user (ICC 0 unless given: optimistic when users differ).
"""


def register(app: typer.Typer) -> None:
    @app.command("power", help=POWER_HELP + "\n" + VARIANCE_HELP)
    def power_cmd(
        baseline_ctr: float = typer.Option(..., "--baseline-ctr", help="Control CTR, e.g. 0.08."),
        mde: float | None = typer.Option(None, "--mde", help="Relative lift to detect: 0.03 = +3 %."),
        users_per_arm: int | None = typer.Option(
            None, "--users-per-arm", help="Instead of --mde: report the MDE for this many users per arm."
        ),
        alpha: float = typer.Option(0.05, "--alpha", help="Two-sided significance level."),
        power: float = typer.Option(0.8, "--power", help="Probability of detecting the MDE."),
        impressions_per_user: float = typer.Option(1.0, "--impressions-per-user", help="Mean impressions per user."),
        icc: float | None = typer.Option(None, "--icc", help="Intra-user correlation of clicks."),
        user_variance: float | None = typer.Option(None, "--user-variance", help="Variance of per-user CTR."),
        per_user_variance: float | None = typer.Option(
            None, "--per-user-variance", help="Per-user delta-method variance of CTR (sigma^2)."
        ),
        daily_users: float | None = typer.Option(None, "--daily-users", help="New users per day, all arms."),
        arms: int = typer.Option(2, "--arms", help="Arms including control (users scale with arms)."),
    ) -> None:
        if (mde is None) == (users_per_arm is None):
            raise PowerInputError("give exactly one of --mde and --users-per-arm")
        variance = ctr_variance(
            baseline_ctr,
            impressions_per_user,
            icc=icc,
            user_variance=user_variance,
            per_user_variance=per_user_variance,
        )
        table = Table(title="CTR power (per-user delta method)", show_header=False)
        table.add_row("baseline CTR", f"{baseline_ctr:.4g}")
        table.add_row("alpha / power", f"{alpha:g} / {power:g}")
        table.add_row("per-user variance", f"{variance.per_user_variance:.6g}")
        table.add_row("design effect", f"{variance.design_effect:.3g}")
        if users_per_arm is not None:
            found = minimum_detectable_effect(baseline_ctr, users_per_arm, alpha=alpha, power=power, variance=variance)
            table.add_row("users per arm", f"{users_per_arm:,}")
            table.add_row("MDE (relative)", f"{found:+.2%}")
        else:
            plan = sample_size(
                baseline_ctr, mde, alpha=alpha, power=power, variance=variance, arms=arms, daily_users=daily_users
            )
            table.add_row("MDE (relative)", f"{plan.mde:+.2%}")
            table.add_row("users per arm", f"{plan.users_per_arm:,}")
            table.add_row(f"total users ({plan.arms} arms)", f"{plan.total_users:,}")
            if plan.days is not None:
                table.add_row("days", f"{plan.days}")
        Console().print(table)
