"""`vsx power`: users per arm and days needed to detect a relative CTR lift (or the MDE of a given size)."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from experiments.errors import PowerInputError
from experiments.power import ctr_variance, minimum_detectable_effect, sample_size, test_alpha

POWER_HELP = (
    "Users per arm and days needed to detect a relative CTR lift, or the MDE for a given number of users. Planned as "
    "the analysis tests the primary metric: Holm across the treatment arms (alpha / (arms - 1) each), and with "
    "CUPED's expected variance reduction (--cuped-reduction, e.g. a past experiment's variance_reduction)."
)
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
        cuped_reduction: float = typer.Option(
            0.0, "--cuped-reduction", help="Expected CUPED variance reduction in [0, 1), e.g. 0.3."
        ),
        as_json: bool = typer.Option(False, "--json", help="Print the plan as JSON."),
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
        common: dict[str, Any] = {
            "alpha": alpha,
            "power": power,
            "variance": variance,
            "arms": arms,
            "cuped_reduction": cuped_reduction,
        }
        shown: dict[str, object] = {
            "baseline_ctr": baseline_ctr,
            "alpha": alpha,
            "test_alpha": test_alpha(alpha, arms),
            "power": power,
            "per_user_variance": variance.per_user_variance,
            "design_effect": variance.design_effect,
            "cuped_reduction": cuped_reduction,
            "arms": arms,
        }
        if users_per_arm is not None:
            found = minimum_detectable_effect(baseline_ctr, users_per_arm, **common)
            shown |= {"users_per_arm": users_per_arm, "mde": found}
        elif mde is not None:  # exactly one of the two is given (checked above)
            plan = sample_size(baseline_ctr, mde, daily_users=daily_users, **common)
            shown |= {"mde": plan.mde, "users_per_arm": plan.users_per_arm, "total_users": plan.total_users}
            shown |= {"days": plan.days}
        if as_json:
            typer.echo(json.dumps(shown, indent=2))
            return
        table = Table(title="CTR power (per-user delta method)", show_header=False)
        table.add_row("baseline CTR", f"{baseline_ctr:.4g}")
        table.add_row("alpha / power", f"{alpha:g} / {power:g}")
        if arms > 2:
            table.add_row("test level", f"{shown['test_alpha']:.4g} (Holm across {arms - 1} treatments)")
        table.add_row("per-user variance", f"{variance.per_user_variance:.6g}")
        table.add_row("design effect", f"{variance.design_effect:.3g}")
        if cuped_reduction:
            table.add_row("CUPED variance reduction", f"{cuped_reduction:.0%}")
        table.add_row("MDE (relative)", f"{shown['mde']:+.2%}")
        table.add_row("users per arm", f"{shown['users_per_arm']:,}")
        if "total_users" in shown:
            table.add_row(f"total users ({arms} arms)", f"{shown['total_users']:,}")
        if shown.get("days") is not None:
            table.add_row("days", f"{shown['days']}")
        Console().print(table)
