"""`vsx analyze` and `vsx export-pairs` end to end: files in, results.json / report.html / pairs out."""

from __future__ import annotations

import csv
import gzip
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import orjson
import pytest
from typer.testing import CliRunner

from analysis.holdout import NAME as HOLDOUT_NAME
from analysis.results import Results
from event_logging.factory import open_store
from experiments.validate import RESERVED_NAMES
from search_core.pairs import ClickPair, read_pairs
from tests.analysis.conftest import hand_built_events
from tests.analysis.test_holdout import holdout_events
from vsx.cli import app, main
from vsx.settings import get_settings

runner = CliRunner()


def write_per_user_csv(path: Path, *, users: int = 2000, lift: float = 1.3, seed: int = 5) -> Path:
    """A per-user file with pre-period columns and successful_searches; treatment clicks `lift` times more
    during the experiment (the pre-period is untreated)."""
    rng = np.random.default_rng(seed)
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["user_id", "variant", "searches", "impressions", "clicks", "dwell_ms",
                         "successful_searches", "pre_impressions", "pre_clicks"])  # fmt: skip
        for i in range(users):
            variant = "treatment" if i % 2 else "control"
            base = rng.beta(2, 18)  # the user's own click propensity, before and during the experiment
            propensity = min(base * (lift if variant == "treatment" else 1.0), 1.0)
            searches = int(rng.poisson(3)) + 1
            clicks = int(rng.binomial(searches * 10, propensity))
            successful = min(clicks, searches)
            pre_impressions = int(rng.poisson(20))
            pre_clicks = int(rng.binomial(pre_impressions, base))
            dwell = round(clicks * float(rng.lognormal(8, 0.4)), 1)
            writer.writerow([f"u{i}", variant, searches, searches * 10, clicks, dwell, successful,
                             pre_impressions, pre_clicks])  # fmt: skip
    return path


@pytest.fixture
def settings_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every settings folder under tmp_path (data, artifacts, experiments, reports, metrics), embedded mode."""
    for name in ("data", "artifacts", "experiments", "reports", "metrics"):
        (tmp_path / name).mkdir()
        monkeypatch.setenv(f"VSX_{name.upper()}_DIR", str(tmp_path / name))
    monkeypatch.setenv("VSX_EMBEDDED", "true")
    monkeypatch.setenv("VSX_CONFIG_FILE", str(tmp_path / "absent.toml"))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_analyze_per_user_file(settings_env: Path) -> None:
    users = write_per_user_csv(settings_env / "users.csv")
    result = runner.invoke(app, ["analyze", "--per-user", str(users)])
    assert result.exit_code == 0, result.output
    out = settings_env / "reports" / "users"
    results = Results.read(out / "results.json")
    assert (out / "report.html").is_file() and (settings_env / "reports" / "index.html").is_file()
    assert results.experiment == "users" and results.source == str(users) and results.srm.ok
    keys = {(r.metric, r.method) for r in results.results}
    assert {("ctr", "delta"), ("ctr", "cuped"), ("search_success_rate", "delta"), ("dwell_per_user", "delta")} <= keys
    assert ("search_success_rate", "cuped") not in keys  # no pre_successful_searches column
    ctr = next(r for r in results.results if r.metric == "ctr" and r.method == "delta")
    assert ctr.rel_lift > 0 and ctr.significant
    assert "report.html" in result.output


def test_analyze_per_user_with_weights_and_control(settings_env: Path) -> None:
    plain = write_per_user_csv(settings_env / "users.csv")
    users = settings_env / "users.csv.gz"
    users.write_bytes(gzip.compress(plain.read_bytes()))
    out = settings_env / "custom"
    args = ["analyze", "ab-test", "--per-user", str(users), "--weights", "control=0.9,treatment=0.1", "--out", str(out),
            "--correction", "bh", "--sequential"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    results = Results.read(out / "results.json")
    assert (out / "report.html").is_file() and not (settings_env / "index.html").exists()
    assert results.experiment == "ab-test" and results.correction == "bh"
    assert {r.method for r in results.results} == {"delta", "cuped", "sequential"}
    assert not results.srm.ok and not any(r.significant for r in results.results)
    assert results.srm.expected == {"control": 0.9, "treatment": 0.1}


def write_rates_csv(path: Path, *, users: int, ctr: dict[str, float], errors: dict[str, float], seed: int = 9) -> Path:
    """Per-user searches, impressions, clicks and error searches; arms differ by CTR and error rate."""
    rng = np.random.default_rng(seed)
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["user_id", "variant", "searches", "impressions", "clicks", "error_searches"])
        for i in range(users):
            variant = "treatment" if i % 2 else "control"
            searches = int(rng.poisson(4)) + 1
            clicks = int(rng.binomial(searches * 10, ctr[variant]))
            writer.writerow(
                [f"u{i}", variant, searches, searches * 10, clicks, int(rng.binomial(searches, errors[variant]))]
            )
    return path


SAME, BETTER, WORSE = (
    {"control": 0.10, "treatment": 0.10},
    {"control": 0.10, "treatment": 0.11},
    {"control": 0.10, "treatment": 0.09},
)
STEADY = {"control": 0.02, "treatment": 0.02}


@pytest.mark.parametrize(
    ("ctr", "errors", "args", "expected"),
    [
        (BETTER, STEADY, ["--guardrail", "error_rate:0.5"], "ship"),
        (WORSE, STEADY, [], "no_ship"),
        (BETTER, {"control": 0.02, "treatment": 0.04}, ["--guardrail", "error_rate"], "no_ship"),
        (SAME, STEADY, ["--mde", "0.01"], "inconclusive"),
        (SAME, STEADY, ["--weights", "control=0.6,treatment=0.4"], "invalid"),
        (SAME, {"control": 0.04, "treatment": 0.03}, ["--primary", "error_rate"], "ship"),
        (SAME, {"control": 0.03, "treatment": 0.04}, ["--primary", "error_rate"], "no_ship"),
    ],
)
def test_each_decision_outcome_end_to_end(
    settings_env: Path, ctr: dict[str, float], errors: dict[str, float], args: list[str], expected: str
) -> None:
    users = write_rates_csv(settings_env / "rates.csv", users=8000, ctr=ctr, errors=errors)
    result = runner.invoke(app, ["analyze", "--per-user", str(users), "--json", *args])
    assert result.exit_code == 0, result.output
    shown = orjson.loads(result.stdout)
    assert [d["recommendation"] for d in shown["decisions"]] == [expected]
    results = Results.read(Path(shown["results"]))
    assert results.decisions[0].recommendation == expected and results.decisions[0].reasons
    assert expected in Path(shown["report"]).read_text()


def test_fail_on_makes_the_exit_status_usable_in_ci(settings_env: Path) -> None:
    ctr = {"control": 0.10, "treatment": 0.09}
    users = write_rates_csv(
        settings_env / "worse.csv", users=8000, ctr=ctr, errors={"control": 0.02, "treatment": 0.02}
    )
    failed = runner.invoke(app, ["analyze", "--per-user", str(users), "--fail-on", "no_ship,invalid"])
    assert failed.exit_code == 1 and "decision: treatment no_ship (--fail-on invalid,no_ship)" in failed.output
    passed = runner.invoke(app, ["analyze", "--per-user", str(users), "--fail-on", "invalid"])
    assert passed.exit_code == 0, passed.output


def _run_main(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """Through `vsx.cli.main`, so expected errors become `error: ...` and exit code 2 as in a shell."""
    monkeypatch.setattr(sys, "argv", ["vsx", *args])
    with pytest.raises(SystemExit) as exit_info:
        main()
    return int(exit_info.value.code or 0), capsys.readouterr().err


def test_bad_inputs_exit_2_with_a_message(
    settings_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = settings_env / "bad.csv"
    bad.write_text("user_id,variant,clicks,impressions\nu1,control,1,10\nu2,treatment,x,10\n")
    code, err = _run_main(monkeypatch, capsys, "analyze", "--per-user", str(bad))
    assert code == 2 and f"error: {bad}:3: column clicks: 'x' is not a number" in err
    users = write_per_user_csv(settings_env / "users.csv")
    code, err = _run_main(monkeypatch, capsys, "analyze", "--per-user", str(users), "--control", "ctl")
    assert code == 2 and "control variant 'ctl' is not among the variants (control, treatment)" in err
    code, err = _run_main(monkeypatch, capsys, "analyze", "--per-user", str(users), "--weights", "control=half")
    assert code == 2 and "'control=half' is not variant=share" in err
    code, err = _run_main(monkeypatch, capsys, "analyze")
    assert code == 2 and "name an EXPERIMENT or give --per-user FILE" in err
    code, err = _run_main(monkeypatch, capsys, "analyze", "nope")
    assert code == 2 and "unknown experiment 'nope'" in err
    code, err = _run_main(monkeypatch, capsys, "analyze", "--per-user", str(users), "--primary", "latency_p95")
    assert code == 2 and "'latency_p95' is not computable from" in err
    code, err = _run_main(monkeypatch, capsys, "analyze", "--per-user", str(users), "--primary", "searches_per_user")
    assert code == 2 and "primary metric searches_per_user is neutral" in err
    code, err = _run_main(monkeypatch, capsys, "analyze", "--per-user", str(users), "--guardrail", "ctr:-1")
    assert code == 2 and "'ctr:-1': margin must be > 0" in err
    code, err = _run_main(monkeypatch, capsys, "analyze", "--per-user", str(users), "--fail-on", "maybe")
    assert code == 2 and "not a recommendation: maybe" in err
    keys_only = settings_env / "keys.csv"
    keys_only.write_text("user_id,variant\nu1,control\nu2,treatment\n")
    code, err = _run_main(monkeypatch, capsys, "analyze", "--per-user", str(keys_only))
    assert code == 2 and "no metric columns in the header (has: user_id, variant" in err
    assert "Traceback" not in err


EXPERIMENT_YAML = """\
name: exp
owner: search-team
status: running
layer: ranking
start: 2026-01-10T00:00:00Z
control: control
variants:
  - {name: control, weight: 0.5, encoder: pixels@1, index: pixels-flat@1}
  - {name: treatment, weight: 0.5}
primary_metric: ctr
secondary_metrics: [search_success_rate, latency_p95]
guardrails:
  - {metric: error_rate, margin: 0.1}
analysis: {correction: bh, min_users_per_arm: 2}
"""


@pytest.fixture
def embedded_experiment(settings_env: Path) -> Path:
    """The hand-built events in the embedded store at data_dir/chdb, and their experiment's YAML."""
    (settings_env / "experiments" / "exp.yaml").write_text(EXPERIMENT_YAML)
    store = open_store(chdb_path=settings_env / "data" / "chdb")
    store.migrate()
    store.insert_events(hand_built_events())
    return settings_env


@pytest.mark.integration
def test_analyze_experiment_from_the_embedded_store(embedded_experiment: Path) -> None:
    result = runner.invoke(app, ["analyze", "exp", "--source", "embedded"])
    assert result.exit_code == 0, result.output
    results = Results.read(embedded_experiment / "reports" / "exp" / "results.json")
    assert results.source == "embedded" and results.correction == "bh" and results.status == "running"
    assert {r.metric for r in results.results} == {"ctr", "search_success_rate", "latency_p95"}
    (guardrail,) = results.guardrails  # control has no 5xx, bob's search failed: tested on the absolute scale
    assert (guardrail.variant, guardrail.scale, guardrail.margin) == ("treatment", "absolute", 0.1)
    assert [d.variant for d in results.decisions] == ["treatment"]
    assert [(o.variant, o.encoder, o.index, o.metrics) for o in results.offline] == [
        ("control", "pixels@1", "pixels-flat@1", {}),
        ("treatment", "pixels@1", "pixels-flat@1", {}),  # platform default; no artifacts in this folder
    ]
    assert results.daily and (embedded_experiment / "reports" / "exp" / "report.html").is_file()


@pytest.mark.integration
def test_export_pairs_from_the_embedded_store(embedded_experiment: Path) -> None:
    out = embedded_experiment / "pairs.jsonl"
    result = runner.invoke(app, ["export-pairs", "exp", "--out", str(out), "--min-dwell-ms", "0", "--ipw"])
    assert result.exit_code == 0, result.output
    rows = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert [(r["query_image_id"], r["result_image_id"], r["clicks"]) for r in rows] == [
        ("q1", "r2", 2),
        ("q1", "r1", 1),
    ]
    assert "2 pairs (3 clicks)" in result.output
    # what the retraining loop reads back (positions 1 and 2 have propensity 1 here: weight = clicks)
    assert read_pairs(out) == [ClickPair("q1", "r2", 2.0, "exp", 2), ClickPair("q1", "r1", 1.0, "exp", 1)]


@pytest.mark.integration
def test_empty_store_and_bad_pairs_path_exit_2(
    settings_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (settings_env / "experiments" / "exp.yaml").write_text(EXPERIMENT_YAML)
    code, err = _run_main(monkeypatch, capsys, "export-pairs", "exp", "--out", str(settings_env / "pairs.csv"))
    assert code == 2 and "pairs file must end in .jsonl or .parquet, got 'pairs.csv'" in err
    code, err = _run_main(monkeypatch, capsys, "export-pairs", "exp", "--out", str(settings_env / "pairs.jsonl"))
    assert code == 2 and "has no table vsx.events: no events logged yet" in err
    code, err = _run_main(monkeypatch, capsys, "analyze", "exp")
    assert code == 2 and "the embedded store has no table vsx.events" in err


@pytest.mark.integration
def test_analyze_holdout_writes_a_platform_effect_report(settings_env: Path) -> None:
    assert HOLDOUT_NAME in RESERVED_NAMES  # no experiment's report can take the holdout's folder
    (settings_env / "experiments" / "platform.yaml").write_text("holdout: {share: 0.05}\n")
    (settings_env / "experiments" / "exp.yaml").write_text(EXPERIMENT_YAML.replace("2026-01-10", "2026-02-01"))
    store = open_store(chdb_path=settings_env / "data" / "chdb")
    store.migrate()
    store.insert_events(holdout_events())
    store.close()
    result = runner.invoke(app, ["analyze", "--holdout", "--json"])
    assert result.exit_code == 0, result.output
    shown = orjson.loads(result.stdout)
    results = Results.read(Path(shown["results"]))
    assert results.kind == "holdout" and shown["decisions"] == [] and results.experiment == "global-holdout"
    page = Path(shown["report"]).read_text()
    assert "Platform effect: users exposed to experiments vs the global holdout" in page
