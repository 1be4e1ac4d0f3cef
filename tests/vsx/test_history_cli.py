"""`vsx history`: the command registered on a fresh app, over a reports folder of stored results."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from analysis.results import MetricResult, OfflineMetrics, Results, SrmResult
from vsx.commands import history
from vsx.errors import VsxError
from vsx.settings import get_settings


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    history.register(app)
    app.callback()(lambda: None)
    return app


def _row(lift: float) -> MetricResult:
    return MetricResult(
        metric="ctr", variant="treatment", method="delta", control_mean=0.05, treatment_mean=0.05 * (1 + lift),
        abs_lift=0.05 * lift, abs_ci_low=None, abs_ci_high=None, rel_lift=lift, ci_low=lift - 0.02,
        ci_high=lift + 0.02, p_value=0.04, n_control=1000, n_treatment=1000,
    )  # fmt: skip


@pytest.fixture
def reports_dir(tmp_path):
    for i, (ndcg, lift) in enumerate(((0.01, 0.01), (0.02, 0.02), (0.03, 0.04), (0.04, 0.03))):
        Results(
            experiment=f"exp-{i}",
            status="stopped" if i < 3 else "running",
            srm=SrmResult(p_value=0.5, observed={}, expected={}, ok=True),
            results=[_row(lift)],
            offline=[
                OfflineMetrics(variant="control", metrics={"ndcg@10": 0.7}),
                OfflineMetrics(variant="treatment", metrics={"ndcg@10": 0.7 + ndcg}),
            ],
        ).write(tmp_path / f"exp-{i}" / "results.json")
    return tmp_path


def test_history_writes_the_page_and_prints_correlations(app, reports_dir):
    result = CliRunner().invoke(app, ["history", "--reports-dir", str(reports_dir)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(reports_dir / "history.html")
    assert "+1.00" in result.output and "3 points, 1 left out" in result.output
    assert (reports_dir / "index.html").exists()


def test_all_and_out_options(app, reports_dir, tmp_path):
    out = tmp_path / "elsewhere" / "h.html"
    result = CliRunner().invoke(app, ["history", "--reports-dir", str(reports_dir), "--all", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "+0.80" in result.output and "4 points, 0 left out" in result.output
    assert out.exists() and not (reports_dir / "history.html").exists()


def test_default_reports_dir_comes_from_settings(app, reports_dir, monkeypatch):
    monkeypatch.setenv("VSX_REPORTS_DIR", str(reports_dir))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["history", "--metric", "ctr"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert (reports_dir / "history.html").exists()


def test_missing_reports_dir_names_the_folder_and_the_setting(app, tmp_path, monkeypatch):
    result = CliRunner().invoke(app, ["history", "--reports-dir", str(tmp_path / "nope")])
    assert isinstance(result.exception, VsxError) and f"no reports folder {tmp_path / 'nope'}" in str(result.exception)
    monkeypatch.setenv("VSX_REPORTS_DIR", str(tmp_path / "absent"))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["history"])
    finally:
        get_settings.cache_clear()
    assert isinstance(result.exception, VsxError) and "set VSX_REPORTS_DIR" in str(result.exception)


def test_json_has_the_points_and_the_agreements(app, reports_dir):
    result = CliRunner().invoke(app, ["history", "--reports-dir", str(reports_dir), "--json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["page"] == str(reports_dir / "history.html")
    assert len(shown["points"]) == 3 and len(shown["left_out"]) == 1
    ndcg = next(a for a in shown["agreements"] if a["offline_metric"] == "ndcg@10")
    assert ndcg["series"] == "ab" and ndcg["n"] == 3 and ndcg["spearman"] == pytest.approx(1.0)
    assert set(shown["points"][0]) >= {"experiment", "variant", "lift", "offline_delta", "series"}
