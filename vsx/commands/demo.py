"""`vsx demo`: the whole loop — train, experiment, analyse, retrain from clicks, experiment again."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from vsx.commands.output import console
from vsx.settings import get_settings
from vsx.store_owner import check_embedded_store

if TYPE_CHECKING:  # the loop pulls in torch, Faiss and the stats stack: imported when the demo runs, not for --help
    from vsx.pipelines.demo import DemoSummary


NEEDED_CAP = 10_000_000
"""Above this the observed difference is indistinguishable from none: the estimate says "never", not a number."""


def _bounded(users: float | None) -> float | None:
    return users if users is not None and users <= NEEDED_CAP else None


def _users(users: float | None, detected: bool) -> str:
    from dashboards.formatting import MISSING

    if users is None:
        return MISSING
    if users > NEEDED_CAP:
        return f"> {NEEDED_CAP:,} (no difference seen)"
    return f"{users:,.0f}" if detected else f"{users:,.0f} *"


def print_summary(summary: DemoSummary) -> None:
    """Offline metrics per encoder, online result per experiment and treatment, users needed, paths."""
    from rich.table import Table

    from analysis.sensitivity import compared_users
    from dashboards.formatting import MISSING, fixed

    out = console()
    offline = Table(
        title="offline (test queries, seeded, against the whole gallery; validation: held-out gallery images "
        "against the training images, exact; relevance = same class)"
    )
    keys = ("precision@10", "mrr@10", "ndcg@10", "ann_recall@10", "validation_precision@10")
    for column in ("encoder", "P@10", "MRR@10", "nDCG@10", "ANN recall@10", "validation P@10"):
        offline.add_column(column, justify="right" if column != "encoder" else "left")
    for ref, m in summary.offline.items():
        offline.add_row(ref, *(fixed(m.get(k), ".4f") for k in keys))
    out.print(offline)
    online = Table(title="online (simulated users; A/B: CTR as the decision reads it; interleaving: preference Δ)")
    columns = ("experiment", "control", "treatment", "control", "treatment", "lift / Δ", "95% CI", "p", "users")
    for column in (*columns, "decision"):
        online.add_column(column)
    for exp in summary.experiments:
        control = next(iter(exp.encoders.values()))
        for variant, encoder in list(exp.encoders.items())[1:]:
            row = exp.headline(variant)
            decision = exp.results.decision_for(variant)
            recommendation = decision.recommendation if decision else MISSING
            if row is None:
                online.add_row(exp.name, control, encoder, *[MISSING] * 6, recommendation)
                continue
            lift, low, high = (row.abs_lift, row.abs_ci_low, row.abs_ci_high) if exp.kind == "interleaving" else (
                row.rel_lift, row.ci_low, row.ci_high)  # fmt: skip
            online.add_row(
                exp.name, control, encoder, fixed(row.control_mean, ".4f"), fixed(row.treatment_mean, ".4f"),
                fixed(lift, "+.2%"), f"[{fixed(low, '+.2%')}, {fixed(high, '+.2%')}]", fixed(row.p_value, ".2g"),
                str(compared_users(row)), recommendation,
            )  # fmt: skip
    out.print(online)
    for exp in summary.experiments:
        for row in exp.results.segments:
            if row.differential is not None and row.differential.flagged:
                rest = fixed(row.differential.rest_rel_lift, "+.1%")
                out.print(
                    f"{exp.name}: the effect on {row.variant} differs in {row.attribute} = {row.segment}: "
                    f"{row.metric} {fixed(row.rel_lift, '+.1%')} against {rest} "
                    f"in the other users (p = {fixed(row.differential.p_value_adjusted, '.2g')}, Holm-adjusted)"
                )
    needed = Table(
        title="users needed for 80% power at alpha 0.05 on the observed difference "
        "(* the design did not detect it, so the number rests on a noisy estimate; "
        "a ratio only where both designs detected it)"
    )
    for column in ("control", "treatment", "A/B (CTR)", "interleaving", "ratio"):
        needed.add_column(column)
    for s in summary.sensitivity:
        ratio = s.ratio if _bounded(s.ab_users) and _bounded(s.interleaving_users) else None
        needed.add_row(s.control, s.treatment, _users(s.ab_users, s.ab_detected),
                       _users(s.interleaving_users, s.interleaving_detected), fixed(ratio, ".1f"))  # fmt: skip
    out.print(needed)
    for exp in summary.experiments:
        out.print(f"report: {exp.report}")
    out.print(f"history: {summary.history}")
    for version, pairs in zip(summary.versions[1:], summary.pairs, strict=True):
        out.print(f"{version}: fine-tuned on the click groups of {pairs}")


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo_cmd(
        quick: bool = typer.Option(
            False, "--quick", help="A small run on a Fashion-MNIST subset, for tests and a first look."
        ),
        large: bool = typer.Option(
            False,
            "--large",
            help="The outcome run: full CPU training, exact search, 5x A/B and 25x interleaving users "
            "(its duration: BENCHMARKS.md, 'The loop').",
        ),
        services: bool = typer.Option(
            False, "--services", help="Use the running Kafka broker and ClickHouse server (`vsx services up`)."
        ),
    ) -> None:
        """Run the loop end to end on Fashion-MNIST; re-running reuses what is still valid."""
        if quick and large:
            raise typer.BadParameter("choose one size", param_hint="--quick / --large")
        settings = get_settings()
        if not services:  # fail now, not after the training that comes first
            check_embedded_store(settings)
        from vsx.pipelines.demo import SIZES, run_demo, size_note
        from vsx.pipelines.serving import Backend

        size = SIZES["quick" if quick else "large" if large else "full"]
        console(stderr=True).print(size_note(size))
        backend = Backend.from_settings(settings, embedded=not services)
        summary = run_demo(settings, size, backend, source="clickhouse" if services else "embedded")
        print_summary(summary)
