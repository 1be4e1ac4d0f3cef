"""`vsx metrics validate|list|show`, and metrics from settings.metrics_dir in experiments and analyses."""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from analysis.results import Results
from event_logging.factory import open_store
from tests.analysis.conftest import hand_built_events
from tests.vsx.test_cli_analyze import EXPERIMENT_YAML, _run_main, settings_env  # noqa: F401  (the fixture)
from vsx.cli import app
from vsx.settings import get_settings

runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "metrics"


def _metrics_dir(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    monkeypatch.setenv("VSX_METRICS_DIR", str(folder))
    get_settings.cache_clear()


def test_validate_the_examples(settings_env: Path) -> None:  # noqa: F811
    result = runner.invoke(app, ["metrics", "validate", str(EXAMPLES)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "ok: 17 metric(s) (6 from 1 file(s))"


def test_validate_reports_every_problem_at_its_line_and_exits_2(settings_env: Path) -> None:  # noqa: F811
    bad = settings_env / "bad.yaml"
    bad.write_text(
        "version: 1\nmetrics:\n"
        "  - {name: a, type: ratio, numerator: {event: click}, direction: higher_is_better}\n"
        "  - {name: b, type: mean, measure: {event: click, column: dwel_ms, aggregate: sum}, direction: neutral}\n"
        "  - {name: c, type: mean, measure: {event: dwell}, capping: {percentile: 2}, direction: neutral}\n"
    )
    result = runner.invoke(app, ["metrics", "validate", str(bad)])
    assert result.exit_code == 2
    assert result.stdout.splitlines() == [
        f"{bad}:3 metrics[0].denominator: a ratio metric needs a denominator",
        f"{bad}:4 metrics[1].measure.column: click events have no column 'dwel_ms' (they have: event_id, "
        "schema_version, request_id, user_id, experiment, variant, query_image_id, result_image_id, position, "
        "attribution)",
        f"{bad}:5 metrics[2].capping.percentile: input should be less than or equal to 1",
    ]


def test_list_and_show(settings_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    _metrics_dir(monkeypatch, EXAMPLES)
    listed = runner.invoke(app, ["metrics", "list"], env={"COLUMNS": "200"})
    assert listed.exit_code == 0 and "top3_ctr" in listed.stdout and "at the 99.9th percentile" in listed.stdout
    shown = runner.invoke(app, ["metrics", "show", "top3_ctr"])
    assert shown.exit_code == 0 and shown.stdout.startswith(f"# {EXAMPLES / 'search_quality.yaml'}\nname: top3_ctr")
    assert "per_user_column: top3_clicks" in shown.stdout
    assert runner.invoke(app, ["metrics", "show", "nope"]).exit_code == 1  # UndefinedMetricError: main() says exit 2


def test_experiments_name_metrics_the_metrics_folder_defines(settings_env: Path, monkeypatch) -> None:  # noqa: F811
    experiment = settings_env / "experiments" / "exp.yaml"
    experiment.write_text(EXPERIMENT_YAML.replace("primary_metric: ctr", "primary_metric: top3_ctr"))
    refused = runner.invoke(app, ["experiments", "validate", "--skip-artifacts", str(experiment)])
    assert refused.exit_code == 2 and "exp.yaml:10 primary_metric: unknown metric 'top3_ctr'" in refused.stdout
    _metrics_dir(monkeypatch, EXAMPLES)
    accepted = runner.invoke(app, ["experiments", "validate", "--skip-artifacts", str(experiment)])
    assert accepted.exit_code == 0, accepted.output


def test_per_user_file_with_a_teams_metric_segments_and_the_bayesian_engine(
    settings_env: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _metrics_dir(monkeypatch, settings_env / "metrics")
    shutil.copy(EXAMPLES / "search_quality.yaml", settings_env / "metrics")
    users = settings_env / "users.csv"
    lines = ["user_id,variant,top3_clicks,top3_impressions,platform,notes"]
    for i in range(2000):
        variant, platform = ("control", "treatment")[i % 2], ("web", "ios", "android")[i % 3]
        clicks = 3 + (i % 4) + (2 if variant == "treatment" and platform == "ios" else 0)
        lines.append(f"u{i},{variant},{clicks},30,{platform},x")
    users.write_text("\n".join(lines) + "\n")
    result = runner.invoke(
        app,
        ["analyze", "--per-user", str(users), "--primary", "top3_ctr", "--segment", "platform", "--engine",
         "bayesian", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    results = Results.read(Path(orjson.loads(result.stdout)["results"]))
    (row,) = [r for r in results.results if r.method == "delta"]
    assert (row.metric, row.engine) == ("top3_ctr", "bayesian") and row.chance_to_win > 0.99
    flagged = {r.segment for r in results.segments if r.differential and r.differential.flagged}
    assert "ios" in flagged
    assert "ignored column(s) of the per-user file: notes" in results.notes
    code, err = _run_main(monkeypatch, capsys, "analyze", "--per-user", str(users), "--primary", "top3_ctr",
                          "--segment", "tier")  # fmt: skip
    assert code == 2 and "Invalid value for --segment: no column 'tier' in" in " ".join(err.replace("│", " ").split())
    code, err = _run_main(monkeypatch, capsys, "analyze", "--per-user", str(users), "--primary", "top3_ctr",
                          "--engine", "bayesian", "--sequential")  # fmt: skip
    assert code == 2 and "sequential testing is frequentist" in " ".join(err.replace("│", " ").split())


@pytest.mark.integration
def test_analyze_an_experiment_with_segments_a_capped_metric_and_the_bayesian_engine(
    settings_env: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _metrics_dir(monkeypatch, EXAMPLES)
    yaml = EXPERIMENT_YAML.replace(
        "secondary_metrics: [search_success_rate, latency_p95]",
        "secondary_metrics: [capped_dwell_per_user, ios_latency_p95]\nsegments: [platform]",
    ).replace("analysis: {correction: bh, min_users_per_arm: 2}", "analysis: {engine: bayesian, min_users_per_arm: 2}")
    (settings_env / "experiments" / "exp.yaml").write_text(yaml)
    with open_store(chdb_path=settings_env / "data" / "chdb") as store:  # closed: chdb allows one session
        store.migrate()
        store.insert_events(hand_built_events())
    result = runner.invoke(app, ["analyze", "exp", "--source", "embedded", "--segment", "country"])
    assert result.exit_code == 0, result.output
    results = Results.read(settings_env / "reports" / "exp" / "results.json")
    assert results.design.engine == "bayesian" and results.design.segments == ["platform", "country"]
    assert {r.metric for r in results.results} == {"ctr", "capped_dwell_per_user", "ios_latency_p95"}
    assert {(r.attribute, r.segment) for r in results.segments} >= {("platform", "ios"), ("country", "de")}
    (cap,) = results.metrics["capped_dwell_per_user"].caps
    assert cap.value == 5000.0 and cap.share_capped == 0.0  # four users: the 99.9th percentile is the largest
    code, err = _run_main(monkeypatch, capsys, "analyze", "exp", "--source", "embedded", "--segment", "tier")
    assert code == 2 and "unknown user attribute(s) tier" in err
