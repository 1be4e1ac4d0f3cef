"""`vsx demo`: the whole loop — train, experiment, analyse, retrain from clicks, experiment again."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from analysis.sensitivity import compared_users
from vsx.pipelines.demo import SIZES, DemoSummary, run_demo, size_note
from vsx.pipelines.online import Backend
from vsx.settings import get_settings


def _fmt(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


NEEDED_CAP = 10_000_000
"""Above this the observed difference is indistinguishable from none: the estimate says "never", not a number."""


def _bounded(users: float | None) -> float | None:
    return users if users is not None and users <= NEEDED_CAP else None


def _users(users: float | None) -> str:
    if users is None:
        return "—"
    return f"{users:,.0f}" if users <= NEEDED_CAP else f"> {NEEDED_CAP:,} (no difference seen)"


def print_summary(summary: DemoSummary) -> None:
    """Offline metrics per encoder, online result per experiment and treatment, users needed, paths."""
    console = Console()
    if not console.is_terminal:  # a log file or pipe: wide enough that the tables do not wrap every cell
        console.width = 180
    offline = Table(
        title="offline (test queries, seeded, against the whole gallery; validation: held-out gallery images "
        "against the training images, exact; relevance = same class)"
    )
    keys = ("precision@10", "mrr@10", "ndcg@10", "ann_recall@10", "validation_precision@10")
    for column in ("encoder", "P@10", "MRR@10", "nDCG@10", "ANN recall@10", "validation P@10"):
        offline.add_column(column, justify="right" if column != "encoder" else "left")
    for ref, m in summary.offline.items():
        offline.add_row(ref, *(_fmt(m.get(k), ".4f") for k in keys))
    console.print(offline)
    online = Table(title="online (simulated users; A/B: CTR, user-level delta method; interleaving: preference Δ)")
    for column in ("experiment", "control", "treatment", "control", "treatment", "lift / Δ", "95% CI", "p", "users"):
        online.add_column(column)
    for exp in summary.experiments:
        control = next(iter(exp.encoders.values()))
        for variant, encoder in list(exp.encoders.items())[1:]:
            row = exp.headline(variant)
            if row is None:
                online.add_row(exp.name, control, encoder, *["—"] * 6)
                continue
            lift, low, high = (row.abs_lift, row.abs_ci_low, row.abs_ci_high) if exp.kind == "interleaving" else (
                row.rel_lift, row.ci_low, row.ci_high)  # fmt: skip
            online.add_row(
                exp.name, control, encoder, _fmt(row.control_mean, ".4f"), _fmt(row.treatment_mean, ".4f"),
                _fmt(lift, "+.2%"), f"[{_fmt(low, '+.2%')}, {_fmt(high, '+.2%')}]", _fmt(row.p_value, ".2g"),
                str(compared_users(row)),
            )  # fmt: skip
    console.print(online)
    needed = Table(
        title="users needed for 80% power at alpha 0.05 on the observed difference "
        "(no ratio where the two designs saw opposite directions: noise at this size)"
    )
    for column in ("control", "treatment", "A/B (CTR)", "interleaving", "ratio"):
        needed.add_column(column)
    for s in summary.sensitivity:
        ab, il = _bounded(s.ab_users), _bounded(s.interleaving_users)
        ratio = ab / il if ab and il and s.same_direction else None
        needed.add_row(s.control, s.treatment, _users(s.ab_users), _users(s.interleaving_users), _fmt(ratio, ".1f"))
    console.print(needed)
    for exp in summary.experiments:
        console.print(f"report: {exp.report}")
    console.print(f"history: {summary.history}")
    for version, pairs in zip(summary.versions[1:], summary.pairs, strict=True):
        console.print(f"{version}: fine-tuned on the click groups of {pairs}")


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo_cmd(
        quick: bool = typer.Option(False, "--quick", help="A small run (≤ 3 minutes) for tests and a first look."),
        large: bool = typer.Option(
            False,
            "--large",
            help="The outcome run (~1.5 h): full CPU training, exact search, 5x A/B and 25x interleaving users.",
        ),
        services: bool = typer.Option(
            False, "--services", help="Use the running Kafka broker and ClickHouse server (`vsx services up`)."
        ),
    ) -> None:
        """Run the loop end to end on Fashion-MNIST; re-running reuses what is still valid."""
        if quick and large:
            raise typer.BadParameter("choose one size", param_hint="--quick / --large")
        settings = get_settings()
        size = SIZES["quick" if quick else "large" if large else "full"]
        Console(stderr=True).print(size_note(size))
        backend = Backend(
            embedded=not services, chdb_path=settings.data_dir / "chdb", kafka=settings.kafka,
            clickhouse=settings.clickhouse, spool_dir=settings.data_dir / "spool",
        )  # fmt: skip
        summary = run_demo(settings, size, backend, source="clickhouse" if services else "embedded")
        print_summary(summary)
