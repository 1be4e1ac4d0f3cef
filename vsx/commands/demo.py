"""`vsx demo`: the whole loop — train, experiment, analyse, retrain from clicks, experiment again."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from vsx.pipelines.demo import SIZES, DemoSummary, run_demo, size_note
from vsx.pipelines.online import Backend
from vsx.settings import get_settings


def _fmt(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def print_summary(summary: DemoSummary) -> None:
    """Step 9: offline metrics per encoder version, online CTR lift per experiment, report paths."""
    console = Console()
    offline = Table(title="offline (Fashion-MNIST: 60k gallery, seeded test queries, relevance = same class)")
    for column in ("encoder", "P@10", "MRR@10", "nDCG@10", "ANN recall@10"):
        offline.add_column(column, justify="right" if column != "encoder" else "left")
    for ref, m in summary.offline.items():
        offline.add_row(ref, *(_fmt(m.get(k), ".4f") for k in ("precision@10", "mrr@10", "ndcg@10", "ann_recall@10")))
    console.print(offline)
    online = Table(title="online (simulated users, CTR, user-level delta method)")
    for column in ("experiment", "control", "treatment", "CTR control", "CTR treatment", "lift", "95% CI", "p"):
        online.add_column(column)
    for exp in summary.experiments:
        row = next((r for r in exp.results.results if r.metric == "ctr" and r.method == "delta"), None)
        if row is None:
            online.add_row(exp.name, exp.control, exp.treatment, "—", "—", "—", "—", "—")
            continue
        online.add_row(
            exp.name, exp.control, exp.treatment, _fmt(row.control_mean, ".4f"), _fmt(row.treatment_mean, ".4f"),
            _fmt(row.rel_lift, "+.2%"), f"[{_fmt(row.ci_low, '+.2%')}, {_fmt(row.ci_high, '+.2%')}]",
            _fmt(row.p_value, ".2g"),
        )  # fmt: skip
    console.print(online)
    for exp in summary.experiments:
        console.print(f"report: {exp.report}")
    console.print(f"click pairs: {summary.pairs}\nretrained encoder: {summary.v2}")


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo_cmd(
        quick: bool = typer.Option(False, "--quick", help="A small run (≤ 3 minutes) for tests and a first look."),
        services: bool = typer.Option(
            False, "--services", help="Use the running Kafka broker and ClickHouse server (`vsx services up`)."
        ),
    ) -> None:
        """Run the loop end to end on Fashion-MNIST; re-running reuses what is still valid."""
        settings = get_settings()
        size = SIZES["quick" if quick else "full"]
        Console(stderr=True).print(size_note(size))
        backend = Backend(
            embedded=not services, chdb_path=settings.data_dir / "chdb", kafka=settings.kafka,
            clickhouse=settings.clickhouse, spool_dir=settings.data_dir / "spool",
        )  # fmt: skip
        summary = run_demo(settings, size, backend, source="clickhouse" if services else "embedded")
        print_summary(summary)
